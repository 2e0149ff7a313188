"""The account page's password change, for a staffer whose email is under attack: guesses from
many addresses reach the email's ceiling at auth, and the change the console sends from its own
address (which no sign-in made known to the email) still goes through."""

from .conftest import PASSWORD, form_fields, register, sign_in

CEILING = ("LOGIN_EMAIL_MAX_FAILURES", "LOGIN_EMAIL_SPACING_SECONDS")


def test_the_owner_changes_the_password_while_others_guess_at_the_email(app, auth, browser):
    kept = {key: auth.config[key] for key in CEILING}
    auth.config.update(LOGIN_EMAIL_MAX_FAILURES=3, LOGIN_EMAIL_SPACING_SECONDS=600)
    try:
        # The owner's browser, at an address of its own (not the console's, as in production).
        browser.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
        register(browser, email="ana@example.com")
        guessed = [
            sign_in(
                app.test_client(),
                "ana@example.com",
                "wrong-one",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(5)
        ]
        assert guessed[-1] == 429
        form = form_fields(browser.get("/console/account").text, "account-form")
        answer = browser.post(
            "/console/account",
            data={**form, "current_password": PASSWORD, "password": "nova-senha-1"},
        )
        assert answer.status_code == 303, answer.text
    finally:
        auth.config.update(kept)

"""Sign in, sign up, sign out, and my account."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from werkzeug.urls import iri_to_uri

from . import api, sessions
from .api import ApiError
from .messages import in_portuguese
from .pages import bp, form_etag, form_values, signed_in


def safe_next(target: str | None) -> str:
    """Back where the user was going, but only to a console page of this host (no open
    redirect, no `..` out of /console), written as a URI: a Location header carries no control
    or non-ASCII character (a `next` with a newline was a 500, as was one whose host part Python
    cannot read)."""
    if target and target.isprintable():
        try:
            parts = urlsplit(target)
        except ValueError:  # "//[x/console": a host part that is no host
            parts = None
        if parts is not None and not (parts.scheme or parts.netloc):
            segments = parts.path.split("/")
            if segments[:2] == ["", "console"] and not {".", ".."} & set(segments):
                return iri_to_uri(target)
    return url_for("console.dashboard")


UNAVAILABLE = "O serviço de autenticação está indisponível. Tente de novo em instantes."


def refused_login(answer) -> tuple[dict, str]:
    if answer is None:
        return {}, UNAVAILABLE
    problem = api.problem_of(answer)
    if answer.status_code == 429:
        wait = answer.headers.get("Retry-After", "alguns")
        return {}, f"Muitas tentativas. Tente de novo em {wait} segundos."
    if answer.status_code == 422:
        return ApiError(422, problem).errors, "Confira os campos destacados."
    return {}, "E-mail ou senha incorretos."


def start_session(tokens: dict) -> None:
    me = api._send("GET", "/auth/me", tokens["access_token"])
    name = me.json().get("name") if me.status_code == 200 else None
    sessions.sign_in(session, tokens, name)


@bp.route("/login", methods=["GET", "POST"])
def login():
    values, errors, message = {"next": request.args.get("next", "")}, {}, None
    if request.args.get("ended") == "form":
        message = (
            "Sua sessão terminou e o formulário não foi enviado. Entre de novo e envie outra vez."
        )
    elif request.args.get("ended"):
        message = "Sua sessão terminou. Entre de novo."
    if request.method == "POST":
        values = form_values()
        answer = api.vouched(
            "login", {"email": values.get("email", ""), "password": values.get("password", "")}
        )
        if answer is not None and answer.status_code == 200:
            start_session(answer.json())
            return redirect(safe_next(values.get("next")), 303)
        errors, message = refused_login(answer)
        values.pop("password", None)
        status = answer.status_code if answer is not None else 503
        return render_template(
            "login.html", values=values, errors=errors, message=message
        ), status if status in (401, 422, 429) else 503
    return render_template("login.html", values=values, errors=errors, message=message)


@bp.route("/register", methods=["GET", "POST"])
def register():
    values, errors, message = {}, {}, None
    if request.method == "POST":
        values = form_values()
        body = {key: values.get(key, "") for key in ("email", "password", "name")}
        answer = api.vouched("register", body)
        if answer is None:
            values.pop("password", None)
            return render_template(
                "register.html", values=values, errors={}, message=UNAVAILABLE
            ), 503
        if answer.status_code == 201:
            signed = api.vouched("login", {"email": body["email"], "password": body["password"]})
            if signed is not None and signed.status_code == 200:
                start_session(signed.json())
                return redirect(url_for("console.dashboard"), 303)
            return redirect(url_for("console.login"), 303)
        refusal = ApiError(answer.status_code, api.problem_of(answer))
        errors = refusal.errors
        if answer.status_code == 409:
            # Auth's "already taken", said the way a sign-up form means it (once).
            errors["email"] = ["Este e-mail já tem conta."]
        message = "Não foi possível criar a conta." + ("" if errors else " " + refusal.detail)
        values.pop("password", None)
        status = answer.status_code if 400 <= answer.status_code < 500 else 503
        return render_template("register.html", values=values, errors=errors, message=message), (
            status
        )
    return render_template("register.html", values=values, errors=errors, message=message)


@bp.post("/logout")
def logout():
    if session.user is not None:
        try:
            token = sessions.access_token(session)
            api._send("POST", "/auth/logout", token)
        except (ApiError, sessions.SignedOut):
            pass  # the console session ends anyway
    sessions.end(session)
    return redirect(url_for("console.login"), 303)


# Sent empty, auth would answer with the current password's length ("1 to 256"): the form says
# it is required, in the words it has for a missing field, before any call.
CURRENT_PASSWORD_MISSING = in_portuguese("Missing data for required field.")
# Auth's 412: the account changed since the form was loaded (its If-Match, the account's ETag
# then), in another tab or session.
ACCOUNT_CHANGED = "Sua conta mudou desde que o formulário foi aberto: confira e salve de novo."


def account_as_it_is(message: str, status: int):
    """The account form filled with the account as it is now, with its ETag (sent back as
    If-Match: a change made since is auth's 412, not overwritten), saying `message`."""
    me, tag = api.get_tagged("/auth/me")
    values = {"name": me.get("name", ""), "etag": tag}
    return render_template("account.html", me=me, values=values, errors={}, refusal=message), status


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    """My name and password: one PATCH /auth/me with the account's ETag as the form was loaded
    (If-Match; a change made since, in another tab or session, is auth's 412: the form comes
    back with the account as it is now, nothing changed)."""
    me, tag = api.get_tagged("/auth/me")
    values, errors, message = {"name": me.get("name", ""), "etag": tag}, {}, None
    if request.method == "POST":
        values = form_values()
        # What the form is shown again with after a refusal: the name as typed, and the tag it
        # was loaded with (not this read's: a change made since must still be refused).
        kept = {"name": values.get("name", ""), "etag": values.get("etag", "")}
        if not values.get("current_password"):
            errors = {"current_password": [CURRENT_PASSWORD_MISSING]}
            return render_template("account.html", me=me, values=kept, errors=errors), 422
        loaded = form_etag(values)
        if loaded is None:
            return account_as_it_is(ACCOUNT_CHANGED, 412)
        body = {"current_password": values["current_password"]}
        # An emptied name is sent too: auth's "Must not be blank." is said under it.
        if "name" in values and values["name"] != me.get("name"):
            body["name"] = values["name"]
        if values.get("password"):
            body["password"] = values["password"]
        try:
            changed = api.send("PATCH", "/auth/me", body, headers={"If-Match": loaded})
        except ApiError as exc:
            if exc.status == 412:
                return account_as_it_is(ACCOUNT_CHANGED, 412)
            if exc.status not in (400, 401, 403, 409, 422):
                raise
            errors = exc.errors or {"current_password": [exc.detail or "Recusado."]}
            refusal = None
            # The body's own error, which no field of the form shows: nothing to change.
            if errors.pop("_body", None):
                refusal = "Nada mudou: altere o nome ou informe uma nova senha."
            return render_template(
                "account.html",
                me=me,
                values=kept,
                errors=errors,
                refusal=refusal,
            ), exc.status
        # A new password ends the user's other sessions at auth; this one is kept, and the page's
        # header shows the new name from now on.
        sessions.rename(session, changed.get("name"))
        return redirect(url_for("console.account", saved=1), 303)
    if request.args.get("saved"):
        message = "Dados salvos."
    return render_template("account.html", me=me, values=values, errors=errors, message=message)

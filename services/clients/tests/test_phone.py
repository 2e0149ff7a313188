"""Clients' phone and WhatsApp opt-in: a Brazilian mobile in any usual writing, stored E.164,
answered whole to admins and masked to others, never in a log line; and the internal contacts
route only the notifications service may call."""

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.clients.models import Client, db
from services.clients.phone import NOT_A_MOBILE, mask, normalise
from services.kit.security import CREDENTIAL_HEADER, sign_credential
from services.kit.testing import access_token, answered_behind, bearer, from_service

PROBLEM = "application/problem+json"
E164 = "+5511912345678"
MASKED = "+55 11 9****-5678"


@pytest.mark.parametrize(
    "raw",
    [
        "(11) 91234-5678",
        "11912345678",
        "+5511912345678",
        "+55 11 91234-5678",
        "11 9 1234 5678",
        " 011 91234-5678 ",
    ],
)
def test_a_brazilian_mobile_in_any_usual_writing_is_stored_e164(raw):
    assert normalise(raw) == E164


@pytest.mark.parametrize(
    "raw",
    [
        "(11) 3123-4567",  # a landline
        "91234-5678",  # no area code
        "+14155552671",  # not Brazilian
        "(11) 81234-5678",  # not a mobile
        "+55119123456789",  # a digit too many
        "1191234567a",  # letters
        "phone",
        "",
        "1" * 40,
    ],
)
def test_a_landline_a_foreign_number_or_garbage_is_refused(raw):
    with pytest.raises(ValueError) as caught:
        normalise(raw)
    # One fixed message, whatever was given: the input is never repeated.
    assert str(caught.value) == NOT_A_MOBILE


def test_the_mask_shows_the_area_code_and_the_last_four_digits():
    assert mask(E164) == MASKED
    assert mask("+5521998765432") == "+55 21 9****-5432"
    assert mask(None) is None


def body(**fields):
    return {"name": "Maria", "email": "maria@example.com", "cpf": "454.090.000-56", **fields}


def test_a_client_is_created_with_a_phone_stored_e164_and_opted_out_by_default(app, client, admin):
    response = client.post("/clients", json=body(phone="(11) 91234-5678"), headers=admin)
    assert response.status_code == 201, response.json
    assert response.json["phone"] == E164
    assert response.json["whatsapp_opt_in"] is False
    with app.app_context():
        stored = db.session.get(Client, response.json["id"])
        assert (stored.phone, stored.whatsapp_opt_in) == (E164, False)


def test_a_client_without_a_phone_has_null_and_opted_out(make_client):
    created = make_client()
    assert created["phone"] is None and created["whatsapp_opt_in"] is False


@pytest.mark.parametrize("phone", ["(11) 3123-4567", "+14155552671", "12345", 11912345678, ""])
def test_a_phone_that_is_not_a_brazilian_mobile_is_a_422_naming_phone(client, user, phone):
    response = client.post("/clients", json=body(phone=phone), headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["phone"]
    if isinstance(phone, str):
        assert response.json["errors"]["phone"] == [NOT_A_MOBILE]


def test_whatsapp_opt_in_must_be_a_boolean(client, user):
    response = client.post("/clients", json=body(whatsapp_opt_in="maybe"), headers=user)
    assert response.status_code == 422 and list(response.json["errors"]) == ["whatsapp_opt_in"]


def test_admins_read_the_phone_whole_and_users_read_it_masked(client, admin, user, make_client):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    assert client.get(path, headers=admin).json["phone"] == E164
    assert client.get(path, headers=user).json["phone"] == MASKED
    assert client.get("/clients", headers=admin).json["items"][0]["phone"] == E164
    assert client.get("/clients", headers=user).json["items"][0]["phone"] == MASKED
    assert client.get(path, headers=user).json["whatsapp_opt_in"] is True


@pytest.mark.parametrize("typed", ["(11) 91234-5678", "11912345678", "+55 11 91234-5678"])
def test_the_admins_phone_filter_finds_the_clients_of_a_mobile_in_any_writing(
    client, admin, make_client, typed
):
    mother = make_client(phone=E164)
    son = make_client(phone=E164)
    make_client(phone="21998765432")
    make_client()
    found = client.get("/clients", query_string={"phone": typed}, headers=admin).json
    assert sorted(c["id"] for c in found["items"]) == sorted([mother["id"], son["id"]])


def test_a_user_may_not_find_clients_by_phone_which_would_unmask_the_hidden_digits(
    client, user, make_client
):
    """A user reads +55 11 9****-5678: ten thousand exact searches would give the rest."""
    make_client(phone=E164)
    response = client.get("/clients", query_string={"phone": E164}, headers=user)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert response.json["detail"] == "Only an admin may find clients by phone"


@pytest.mark.parametrize("phone", ["(11) 3123-4567", "+14155552671", "12345", MASKED])
def test_a_phone_filter_that_is_not_a_brazilian_mobile_is_a_422_naming_phone(client, user, phone):
    response = client.get("/clients", query_string={"phone": phone}, headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["errors"] == {"phone": [NOT_A_MOBILE]}


def test_a_user_who_sets_a_phone_is_answered_it_masked(client, user, make_client):
    created = make_client()
    response = client.patch(
        f"/clients/{created['id']}", json={"phone": "21998765432"}, headers=user
    )
    assert response.status_code == 200
    assert response.json["phone"] == "+55 21 9****-5432"


def test_patch_sets_changes_and_clears_the_phone_and_the_opt_in(app, client, admin, make_client):
    created = make_client()
    path = f"/clients/{created['id']}"
    set_ = client.patch(path, json={"phone": "11912345678", "whatsapp_opt_in": True}, headers=admin)
    assert (set_.json["phone"], set_.json["whatsapp_opt_in"]) == (E164, True)
    changed = client.patch(
        path, json={"phone": "+55 21 99876-5432", "whatsapp_opt_in": True}, headers=admin
    )
    assert (changed.json["phone"], changed.json["whatsapp_opt_in"]) == ("+5521998765432", True)
    cleared = client.patch(path, json={"phone": None, "whatsapp_opt_in": False}, headers=admin)
    assert (cleared.json["phone"], cleared.json["whatsapp_opt_in"]) == (None, False)
    with app.app_context():
        assert db.session.get(Client, created["id"]).phone is None


def test_a_new_number_withdraws_the_whatsapp_consent_unless_the_same_write_gives_it(
    client, admin, make_client
):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    same = client.patch(path, json={"phone": "(11) 91234-5678"}, headers=admin)
    assert (same.json["phone"], same.json["whatsapp_opt_in"]) == (E164, True)
    moved = client.patch(path, json={"phone": "21998765432"}, headers=admin)
    assert (moved.json["phone"], moved.json["whatsapp_opt_in"]) == ("+5521998765432", False)
    given = client.patch(path, json={"whatsapp_opt_in": True}, headers=admin)
    assert given.json["whatsapp_opt_in"] is True
    cleared = client.patch(path, json={"phone": None}, headers=admin)
    assert (cleared.json["phone"], cleared.json["whatsapp_opt_in"]) == (None, False)
    # Given in the same write as the new number, it holds.
    both = client.patch(path, json={"phone": "31998765432", "whatsapp_opt_in": True}, headers=admin)
    assert (both.json["phone"], both.json["whatsapp_opt_in"]) == ("+5531998765432", True)


def test_a_patch_with_a_bad_phone_changes_nothing(client, admin, make_client):
    created = make_client(phone=E164)
    response = client.patch(f"/clients/{created['id']}", json={"phone": "123"}, headers=admin)
    assert response.status_code == 422 and list(response.json["errors"]) == ["phone"]
    assert client.get(f"/clients/{created['id']}", headers=admin).json["phone"] == E164


# --- a phone sent back as it was answered (masked) keeps the stored one ---

ANSWERED = ("id", "created_at", "updated_at")


def as_answered(client, path, headers, **changes):
    """What GET answered the caller, less its read-only fields, with `changes`: a client's form."""
    read = client.get(path, headers=headers).json
    return {key: value for key, value in read.items() if key not in ANSWERED} | changes


def stored_phone(app, client_id):
    with app.app_context():
        stored = db.session.get(Client, client_id)
        return stored.phone, stored.whatsapp_opt_in


def test_a_user_who_puts_back_what_get_answered_keeps_the_phone(app, client, user, make_client):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    sent = as_answered(client, path, user, name="Maria Souza")
    assert sent["phone"] == MASKED
    response = client.put(path, json=sent, headers=user)
    assert response.status_code == 200, response.json
    assert (response.json["name"], response.json["phone"]) == ("Maria Souza", MASKED)
    assert response.json["whatsapp_opt_in"] is True
    assert stored_phone(app, created["id"]) == (E164, True)


def test_a_user_who_puts_back_the_masked_phone_sets_the_opt_in_as_sent(
    app, client, user, make_client
):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    sent = as_answered(client, path, user, whatsapp_opt_in=False)
    assert client.put(path, json=sent, headers=user).status_code == 200
    assert stored_phone(app, created["id"]) == (E164, False)


def test_a_user_who_patches_back_the_masked_phone_keeps_it(app, client, user, make_client):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    for sent in ({"phone": MASKED}, {"phone": MASKED, "name": "Maria Souza"}):
        response = client.patch(path, json=sent, headers=user)
        assert response.status_code == 200, response.json
        assert response.json["phone"] == MASKED
    assert stored_phone(app, created["id"]) == (E164, True)


@pytest.mark.parametrize(
    "masked",
    [
        "+55 11 9****-0000",  # another number's last digits
        "+55 21 9****-5678",  # another area code
        "+55 11 9****-5678 ",  # not exactly as answered
        "+5511912345678*",
        "***",
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_masked_phone_that_is_not_the_stored_ones_mask_is_a_422_naming_phone(
    app, client, user, make_client, method, masked
):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    sent = as_answered(client, path, user, name="Maria Souza", phone=masked)
    response = getattr(client, method)(path, json=sent, headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["phone"]
    assert client.get(path, headers=user).json["name"] == created["name"]
    assert stored_phone(app, created["id"]) == (E164, True)


def test_a_masked_phone_for_a_client_without_one_is_a_422_naming_phone(
    app, client, user, make_client
):
    created = make_client()
    response = client.patch(f"/clients/{created['id']}", json={"phone": MASKED}, headers=user)
    assert response.status_code == 422 and list(response.json["errors"]) == ["phone"]
    assert stored_phone(app, created["id"]) == (None, False)


def test_an_admin_who_is_answered_the_whole_phone_cannot_send_it_masked(
    app, client, admin, make_client
):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    sent = as_answered(client, path, admin, phone=MASKED)
    response = client.put(path, json=sent, headers=admin)
    assert response.status_code == 422 and list(response.json["errors"]) == ["phone"]
    assert stored_phone(app, created["id"]) == (E164, True)


def test_a_new_client_with_a_masked_phone_is_a_422_naming_phone(client, user):
    response = client.post("/clients", json=body(phone=MASKED), headers=user)
    assert response.status_code == 422 and list(response.json["errors"]) == ["phone"]


def test_a_masked_phone_is_compared_with_the_phone_committed_while_the_put_waited(
    app, client, user, make_client
):
    created = make_client(phone=E164, whatsapp_opt_in=True)
    path = f"/clients/{created['id']}"
    sent = as_answered(client, path, user, name="Maria Souza")
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(
            text("UPDATE clients.clients SET phone = '+5521998765432' WHERE id = :id"), created
        )
        response = answered_behind(app, holder, lambda: client.put(path, json=sent, headers=user))
    # The mask sent is of the phone replaced meanwhile: not the stored one's, so nothing changed.
    assert response.status_code == 422 and list(response.json["errors"]) == ["phone"]
    assert stored_phone(app, created["id"]) == ("+5521998765432", True)


def test_two_clients_of_one_family_may_share_a_phone(make_client):
    first, second = make_client(phone=E164), make_client(phone="(11) 91234-5678")
    assert first["id"] != second["id"]


def test_the_database_refuses_a_phone_that_is_not_e164(app, make_client):
    created = make_client()
    with (
        app.app_context(),
        pytest.raises(IntegrityError, match="phone_e164_mobile"),
        db.engine.begin() as connection,
    ):
        connection.execute(
            text("UPDATE clients.clients SET phone = '11912345678' WHERE id = :id"),
            {"id": created["id"]},
        )


def test_a_phone_never_reaches_the_logs(app, client, admin, user, caplog):
    with caplog.at_level(logging.DEBUG):
        created = client.post("/clients", json=body(phone="(11) 91234-5678"), headers=admin)
        client.get(f"/clients/{created.json['id']}", headers=admin)
        client.get("/clients", headers=user)
        client.post(
            "/clients",
            json=body(email="o@example.com", cpf="123.456.789-09", phone="(11) 3123-9999"),
            headers=user,
        )
        client.get(
            f"/clients/contacts/{created.json['id']}",
            headers=from_service("notifications", "clients"),
        )
    assert caplog.records, "the requests were logged"
    for record in caplog.records:
        logged = f"{record.getMessage()} {record.__dict__}"
        for digits in ("912345678", "91234-5678", "3123-9999", "31239999"):
            assert digits not in logged, record.name


# --- the contacts route: notifications alone, by its service credential ---


def test_notifications_reads_a_clients_contact_unmasked_without_a_user_token(client, make_client):
    created = make_client(phone="(11) 91234-5678", whatsapp_opt_in=True)
    response = client.get(
        f"/clients/contacts/{created['id']}", headers=from_service("notifications", "clients")
    )
    assert response.status_code == 200
    assert response.json == {
        "client_id": created["id"],
        "name": created["name"],
        "email": created["email"],
        "phone": E164,
        "whatsapp_opt_in": True,
    }


def test_the_contact_of_an_unknown_client_is_a_404(client):
    response = client.get("/clients/contacts/999", headers=from_service("notifications", "clients"))
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_the_contacts_route_refuses_a_call_without_the_service_credential(
    client, jwt_keys, make_client
):
    created = make_client(phone=E164)
    path = f"/clients/contacts/{created['id']}"
    for headers in ({}, bearer(access_token(jwt_keys, user_id=1, role="admin"))):
        response = client.get(path, headers=headers)
        assert response.status_code == 401 and response.mimetype == PROBLEM
        assert "service credential" in response.json["detail"]
        assert E164 not in response.get_data(as_text=True)


def test_the_contacts_route_refuses_another_service_or_a_forged_credential(client, make_client):
    created = make_client(phone=E164)
    path = f"/clients/contacts/{created['id']}"
    assert client.get(path, headers=from_service("orders", "clients")).status_code == 403
    forged = sign_credential("guessed-key", "notifications", "clients")
    for credential in (forged, from_service("notifications", "auth")[CREDENTIAL_HEADER]):
        response = client.get(path, headers={CREDENTIAL_HEADER: credential})
        assert response.status_code == 401


def test_the_contacts_route_is_not_in_the_public_document(client):
    paths = client.get("/clients/openapi.json").json["paths"]
    assert not [path for path in paths if path.startswith("/clients/contacts")]
    assert "/clients/{client_id}/notifications" in paths

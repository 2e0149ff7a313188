"""clients through HTTP against a real PostgreSQL."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from services.clients import create_app
from services.clients.clients import search
from services.clients.cpf import check_digits, normalise
from services.clients.models import Address, Client, db, outbox
from services.kit.testing import answered_behind, at_once, pool_sized_app

from .conftest import deleted_after_the_first_commit, deletion_held

PROBLEM = "application/problem+json"


# --- CPF ---


@pytest.mark.parametrize("raw", ["454.090.000-56", "45409000056", " 45409000056 "])
def test_cpf_is_accepted_bare_or_formatted_and_stored_formatted(raw):
    assert normalise(raw) == "454.090.000-56"


@pytest.mark.parametrize(
    "raw", ["454.090.000-00", "111.111.111-11", "00000000000", "4540900005", "454.09000056", "abc"]
)
def test_cpf_with_bad_digits_repeated_digits_or_shape_is_refused(raw):
    with pytest.raises(ValueError):
        normalise(raw)


def test_check_digits_match_a_known_valid_cpf():
    assert check_digits("529982247") == "25"


# --- create and read ---


def test_create_returns_201_with_location_and_the_formatted_cpf(app, client, user):
    response = client.post(
        "/clients",
        json={"name": "Maria", "email": "Maria@Example.com", "cpf": "45409000056", "balance": 10.5},
        headers=user,
    )
    assert response.status_code == 201
    body = response.json
    assert body["cpf"] == "454.090.000-56" and body["email"] == "maria@example.com"
    assert body["balance"] == "10.50"
    assert response.headers["Location"] == f"/clients/{body['id']}"
    with app.app_context():
        assert db.session.get(Client, body["id"]).cpf == "454.090.000-56"


def test_balance_defaults_to_zero_and_is_a_decimal_string(make_client):
    assert make_client()["balance"] == "0.00"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cpf", "454.090.000-00"),
        ("cpf", "111.111.111-11"),
        ("email", "not-an-email"),
        ("balance", -1),
        ("balance", "1.234"),
        ("balance", "NaN"),
        ("balance", True),
        ("name", ""),
        ("whatsapp_opt_in", "yes"),
        ("whatsapp_opt_in", 1),
        ("whatsapp_opt_in", "off"),
    ],
)
def test_an_invalid_field_is_a_422_naming_it(client, user, field, value):
    body = {"name": "Maria", "email": "maria@example.com", "cpf": "454.090.000-56", field: value}
    response = client.post("/clients", json=body, headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == [field]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "Must not be blank."),
        ("", "Must not be blank."),
        ("Maria\x07", "Must not contain control characters (tabs and line breaks too)."),
        ("Maria\nda Silva", "Must not contain control characters (tabs and line breaks too)."),
        ("Maria\x9b", "Must not contain control characters (tabs and line breaks too)."),
    ],
)
def test_a_blank_name_or_one_with_a_control_character_is_a_422_naming_it(
    client, user, value, message
):
    body = {"name": value, "email": "maria@example.com", "cpf": "454.090.000-56"}
    response = client.post("/clients", json=body, headers=user)
    assert response.status_code == 422 and response.json["errors"] == {"name": [message]}


def test_a_missing_name_is_a_422_naming_it(client, user):
    response = client.post(
        "/clients", json={"email": "m@example.com", "cpf": "454.090.000-56"}, headers=user
    )
    assert response.status_code == 422 and list(response.json["errors"]) == ["name"]


@pytest.mark.parametrize("field", ["name", "email", "cpf"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\u0000"])
def test_text_postgresql_cannot_store_is_a_422_naming_the_field_and_stores_nothing(
    app, client, user, field, escape
):
    # Sent as raw JSON: a lone surrogate or a NUL escape, which no text column can hold.
    body = {"name": "Maria", "email": "maria@example.com", "cpf": "454.090.000-56"}
    raw = json.dumps(body).replace(f'"{body[field]}"', f'"{body[field]}{escape}"')
    response = client.post("/clients", data=raw, content_type="application/json", headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == [field]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


@pytest.mark.parametrize("blank", ["   ", "\t", "\u00a0"], ids=["spaces", "tab", "nbsp"])
def test_a_name_filter_of_blanks_only_is_a_422_naming_it_not_every_client(
    client, user, make_client, blank
):
    make_client()
    response = client.get("/clients", query_string={"name": blank}, headers=user)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {"name": ["Must hold a word to find."]}


def test_a_name_filter_with_a_nul_is_a_422_naming_it(client, user):
    response = client.get("/clients", query_string={"name": "Ma\x00ria"}, headers=user)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["name"]


def test_duplicate_cpf_is_rejected_with_409(client, user, make_client):
    make_client(cpf="454.090.000-56")
    response = client.post(
        "/clients", json={"name": "X", "email": "x@example.com", "cpf": "45409000056"}, headers=user
    )
    assert response.status_code == 409 and response.json["errors"] == {"cpf": ["already taken"]}


def test_duplicate_email_is_rejected_with_409_regardless_of_case(client, user, make_client):
    make_client(email="ana@example.com")
    response = client.post(
        "/clients",
        json={"name": "X", "email": "ANA@example.com", "cpf": "123.456.789-09"},
        headers=user,
    )
    assert response.status_code == 409 and response.json["errors"] == {"email": ["already taken"]}


def test_ten_concurrent_creates_with_one_cpf_give_one_201_and_nine_409(app, client, user):
    def create(n):
        body = {"name": f"Race {n}", "email": f"race{n}@example.com", "cpf": "529.982.247-25"}
        return app.test_client().post("/clients", json=body, headers=user).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(create, range(10)))
    assert statuses == [201] + [409] * 9
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 1


MARIA = {"name": "Maria", "email": "maria@example.com", "cpf": "454.090.000-56"}


def clients_stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Client))


def test_a_repeated_idempotency_key_registers_one_client_and_answers_it_again(app, client, user):
    key = {**user, "Idempotency-Key": "signup-1"}
    first = client.post("/clients", json=MARIA, headers=key)
    again = client.post("/clients", json=MARIA, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"] == f"/clients/{first.json['id']}"
    assert "Idempotent-Replayed" not in first.headers
    assert clients_stored(app) == 1
    assert [kind for kind, _ in announced(app)] == ["client.created"]


def test_an_idempotency_key_used_with_another_client_is_a_409_naming_the_first(app, client, user):
    key = {**user, "Idempotency-Key": "signup-1"}
    first = client.post("/clients", json=MARIA, headers=key)
    other = client.post("/clients", json={**MARIA, "name": "Maria José"}, headers=key)
    assert other.status_code == 409 and other.mimetype == PROBLEM
    assert other.json["key_reused"] is True and other.json["resource_id"] == first.json["id"]
    assert other.json["detail"] == "This Idempotency-Key was used with another body"
    assert clients_stored(app) == 1


def test_twelve_concurrent_sends_with_one_idempotency_key_register_one_client(
    app, client, database, jwt_keys, user
):
    key = {**user, "Idempotency-Key": "signup-at-once"}
    with pool_sized_app(create_app, "clients", database, jwt_keys, threads=12) as twelve:

        def send():
            response = twelve.test_client().post("/clients", json=MARIA, headers=key)
            return response.status_code, response.json["id"]

        answers = at_once(twelve, send, copies=12)
    assert {status for status, _ in answers} == {201}
    assert len({made for _, made in answers}) == 1
    assert clients_stored(app) == 1


def test_a_repeated_client_without_an_idempotency_key_is_still_a_409_for_its_cpf(app, client, user):
    assert client.post("/clients", json=MARIA, headers=user).status_code == 201
    again = client.post("/clients", json={**MARIA, "email": "m2@example.com"}, headers=user)
    assert again.status_code == 409 and again.json["errors"] == {"cpf": ["already taken"]}
    assert "key_reused" not in again.json
    assert clients_stored(app) == 1


def test_get_returns_the_client_and_an_unknown_id_is_404(client, user, make_client):
    made = make_client()
    assert client.get(f"/clients/{made['id']}", headers=user).json == made
    response = client.get("/clients/999999", headers=user)
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_head_answers_whether_the_client_exists(client, user, make_client):
    made = make_client()
    yes = client.head(f"/clients/{made['id']}", headers=user)
    assert yes.status_code == 200 and yes.get_data() == b""
    assert client.head("/clients/999999", headers=user).status_code == 404


def test_every_route_needs_a_token(client, make_client):
    made = make_client()
    for method, path in [
        ("get", "/clients"),
        ("get", f"/clients/{made['id']}"),
        ("post", "/clients"),
        ("head", f"/clients/{made['id']}"),
    ]:
        assert getattr(client, method)(path).status_code == 401


# --- list ---


def test_the_name_filter_matches_any_part_ignoring_case(client, user, make_client):
    make_client(name="Maria da Silva")
    make_client(name="José Mariano")
    make_client(name="Pedro")
    names = [c["name"] for c in client.get("/clients?name=MARI", headers=user).json["items"]]
    assert names == ["José Mariano", "Maria da Silva"]


def test_a_name_typed_with_a_combining_accent_is_stored_and_found_as_one_letter(
    client, user, make_client
):
    decomposed = make_client(name="Jose\u0301 Nfd")  # e + COMBINING ACUTE ACCENT
    make_client(name="Maria Nfc")
    assert decomposed["name"] == "Jos\u00e9 Nfd"
    for typed in ("Jos\u00e9 N", "Jose\u0301 N"):
        found = client.get("/clients", query_string={"name": typed}, headers=user).json
        assert [c["id"] for c in found["items"]] == [decomposed["id"]]


@pytest.mark.parametrize(
    "typed", ["conceicao", "Maria Conceição", "Araujo", "ARAÚJO maria", "da conceiç"]
)
def test_the_name_filter_finds_every_word_in_any_order_ignoring_accents_and_case(
    client, user, make_client, typed
):
    maria = make_client(name="Maria da Conceição Araújo")
    make_client(name="Maria da Silva")
    make_client(name="João Arruda")
    found = client.get("/clients", query_string={"name": typed}, headers=user).json
    assert [c["id"] for c in found["items"]] == [maria["id"]]


def test_the_name_search_is_served_by_its_trigram_index(app):
    with app.app_context():
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        query = search({"name": "Conceição Araujo"}).compile(
            db.engine, compile_kwargs={"literal_binds": True}
        )
        plan = db.session.execute(text(f"EXPLAIN {query}")).scalars().all()
        db.session.rollback()
    assert any("ix_clients_name_unaccent_trgm" in line for line in plan), plan


def test_the_name_filter_treats_wildcards_literally(client, user, make_client):
    make_client(name="100% Algodão")
    make_client(name="Pedro")
    assert client.get("/clients?name=%25", headers=user).json["total"] == 1
    assert client.get("/clients?name=_", headers=user).json["total"] == 0


def test_email_and_cpf_filters_are_exact_and_accept_either_form(client, user, make_client):
    made = make_client(email="x@example.com", cpf="123.456.789-09")
    make_client(cpf="529.982.247-25")
    by_email = client.get("/clients?email=X@example.com", headers=user).json["items"]
    by_cpf = client.get("/clients?cpf=12345678909", headers=user).json["items"]
    assert [c["id"] for c in by_email] == [c["id"] for c in by_cpf] == [made["id"]]


def test_the_ids_filter_reads_a_batch_of_clients(client, user, make_client):
    ana, _, bia = make_client(name="Ana"), make_client(name="Bruno"), make_client(name="Bia")
    listed = client.get(f"/clients?ids={bia['id']},{ana['id']},{ana['id']}", headers=user).json
    assert sorted(c["id"] for c in listed["items"]) == sorted([ana["id"], bia["id"]])


@pytest.mark.parametrize("ids", ["1,x", "0", ",".join(map(str, range(1, 102)))])
def test_an_ids_filter_that_is_not_a_short_list_of_ids_is_a_422_naming_it(client, user, ids):
    response = client.get("/clients", query_string={"ids": ids}, headers=user)
    assert response.status_code == 422 and "ids" in response.json["errors"]


def test_an_invalid_cpf_filter_is_422(client, user):
    assert client.get("/clients?cpf=123", headers=user).status_code == 422


def test_list_is_paginated_and_sorted(client, user, make_client):
    for name in ["Carla", "Ana", "Bruno"]:
        make_client(name=name)
    first = client.get("/clients?per_page=2&sort=name", headers=user).json
    assert [c["name"] for c in first["items"]] == ["Ana", "Bruno"]
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    second = client.get("/clients?per_page=2&page=2&sort=name", headers=user).json
    assert [c["name"] for c in second["items"]] == ["Carla"]
    newest = client.get("/clients?sort=-created_at", headers=user).json["items"]
    assert [c["name"] for c in newest] == ["Bruno", "Ana", "Carla"]


@pytest.mark.parametrize("query", ["sort=cpf", "colour=red", "per_page=500", "page=0"])
def test_unknown_parameters_and_sort_fields_are_422(client, user, query):
    assert client.get(f"/clients?{query}", headers=user).status_code == 422


def test_every_list_filter_and_sort_has_an_index(app):
    with app.app_context():
        indexes = dict(
            db.session.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'clients'")
            ).all()
        )
    assert "unaccent_lower((name)::text) gin_trgm_ops" in indexes["ix_clients_name_unaccent_trgm"]
    assert "(name, id)" in indexes["ix_clients_name_id"]
    assert "(created_at, id)" in indexes["ix_clients_created_at_id"]
    assert "(phone)" in indexes["ix_clients_phone"]
    assert "(email)" in indexes["uq_clients_email"] and "(cpf)" in indexes["uq_clients_cpf"]


# --- update ---


def test_put_replaces_the_client(client, user, make_client):
    made = make_client()
    body = {"name": "Novo", "email": "novo@example.com", "cpf": "111.444.777-35", "balance": "5"}
    response = client.put(f"/clients/{made['id']}", json=body, headers=user)
    assert response.status_code == 200
    assert response.json["name"] == "Novo" and response.json["balance"] == "5.00"


def test_put_without_a_required_field_is_422(client, user, make_client):
    made = make_client()
    response = client.put(f"/clients/{made['id']}", json={"name": "Só nome"}, headers=user)
    assert response.status_code == 422 and {"email", "cpf"} <= set(response.json["errors"])


def test_patch_changes_only_the_given_fields(client, user, make_client):
    made = make_client()
    response = client.patch(f"/clients/{made['id']}", json={"balance": "99.90"}, headers=user)
    assert response.status_code == 200
    assert response.json["balance"] == "99.90" and response.json["name"] == made["name"]


def test_an_empty_patch_is_422(client, user, make_client):
    made = make_client()
    assert client.patch(f"/clients/{made['id']}", json={}, headers=user).status_code == 422


def test_updating_to_a_taken_email_or_cpf_is_409(client, user, make_client):
    first = make_client(email="a@example.com", cpf="454.090.000-56")
    second = make_client(email="b@example.com", cpf="123.456.789-09")
    by_email = client.patch(
        f"/clients/{second['id']}", json={"email": "A@example.com"}, headers=user
    )
    by_cpf = client.put(
        f"/clients/{second['id']}",
        json={"name": "B", "email": "b@example.com", "cpf": first["cpf"]},
        headers=user,
    )
    assert by_email.status_code == by_cpf.status_code == 409


def test_updating_an_unknown_client_is_404(client, user):
    assert client.patch("/clients/424242", json={"name": "X"}, headers=user).status_code == 404


# --- delete ---


def test_a_user_cannot_delete_a_client(client, user, make_client):
    made = make_client()
    response = client.delete(f"/clients/{made['id']}", headers=user)
    assert response.status_code == 403 and response.mimetype == PROBLEM


def test_admin_deletes_a_client_with_its_addresses_and_announces_it(
    app, client, admin, make_client, user
):
    made = make_client()
    client.post(f"/clients/{made['id']}/addresses", json=ADDRESS, headers=user)
    assert client.delete(f"/clients/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"/clients/{made['id']}", headers=admin).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Address)) == 0
        event = db.session.scalar(select(outbox.Event).where(outbox.Event.type == "client.deleted"))
        assert event.payload["data"] == {"client_id": made["id"]}


def test_deleting_an_unknown_client_is_404(client, admin):
    assert client.delete("/clients/424242", headers=admin).status_code == 404


def test_two_deletions_of_a_client_at_once_delete_and_announce_it_once(
    app, client, admin, make_client
):
    made = make_client()
    with deletion_held(app, made["id"]) as holder:
        second = answered_behind(
            app, holder, lambda: client.delete(f"/clients/{made['id']}", headers=admin)
        )
    assert second.status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(outbox.Event)
                .where(outbox.Event.type == "client.deleted")
            )
            == 0
        )  # the first deletion here was the test's own, not the API's


# --- addresses ---

ADDRESS = {
    "state": "SP",
    "city": "São Paulo",
    "street": "Av. Paulista",
    "number": "s/n",
    "cep": "01310100",
}


def test_an_address_is_created_with_the_cep_formatted_and_free_text_number(
    client, user, make_client
):
    made = make_client()
    response = client.post(f"/clients/{made['id']}/addresses", json=ADDRESS, headers=user)
    assert response.status_code == 201
    body = response.json
    assert body["cep"] == "01310-100" and body["number"] == "s/n"
    assert body["client_id"] == made["id"] and body["complement"] is None
    location = f"/clients/{made['id']}/addresses/{body['id']}"
    assert response.headers["Location"] == location
    assert client.get(location, headers=user).json == body


@pytest.mark.parametrize(
    ("complement", "status", "stored"),
    [
        ("Bloco\tB", 422, None),
        ("Apto 1\n2", 422, None),
        ("Sala te\u0301rrea", 201, "Sala t\u00e9rrea"),
        ("", 201, ""),
    ],
)
def test_an_address_complement_is_one_line_composed_and_may_be_empty(
    client, user, make_client, complement, status, stored
):
    made = make_client()
    body = {**ADDRESS, "complement": complement}
    response = client.post(f"/clients/{made['id']}/addresses", json=body, headers=user)
    assert response.status_code == status, response.json
    if status == 422:
        assert list(response.json["errors"]) == ["complement"]
    else:
        assert response.json["complement"] == stored


def test_an_address_added_while_its_client_is_being_deleted_is_404_and_not_kept(
    app, client, user, make_client
):
    made = make_client()
    path = f"/clients/{made['id']}/addresses"
    with deletion_held(app, made["id"]) as holder:
        response = answered_behind(
            app, holder, lambda: client.post(path, json=ADDRESS, headers=user)
        )
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert response.json["detail"] == f"Client {made['id']} does not exist"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Address)) == 0


def test_an_address_whose_client_is_deleted_right_after_it_is_stored_is_answered_201(
    app, client, user, make_client
):
    made = make_client()
    with deleted_after_the_first_commit(app, made["id"]):
        response = client.post(f"/clients/{made['id']}/addresses", json=ADDRESS, headers=user)
    assert response.status_code == 201
    assert response.json["client_id"] == made["id"] and response.json["cep"] == "01310-100"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Address)) == 0


def test_a_repeated_idempotency_key_adds_one_address_and_answers_it_again(
    app, client, user, make_client
):
    made = make_client()
    path, key = f"/clients/{made['id']}/addresses", {**user, "Idempotency-Key": "form-1"}
    first = client.post(path, json=ADDRESS, headers=key)
    again = client.post(path, json=ADDRESS, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"] == f"{path}/{first.json['id']}"
    assert client.get(path, headers=user).json["total"] == 1
    assert [kind for kind, _ in announced(app)].count("address.created") == 1


def test_an_idempotency_key_used_with_another_address_or_client_is_a_409(
    app, client, user, make_client
):
    mine, other = make_client(), make_client()
    key = {**user, "Idempotency-Key": "form-1"}
    assert (
        client.post(f"/clients/{mine['id']}/addresses", json=ADDRESS, headers=key).status_code
        == 201
    )
    moved = {**ADDRESS, "number": "100"}
    assert (
        client.post(f"/clients/{mine['id']}/addresses", json=moved, headers=key).status_code == 409
    )
    elsewhere = client.post(f"/clients/{other['id']}/addresses", json=ADDRESS, headers=key)
    assert elsewhere.status_code == 409 and elsewhere.mimetype == PROBLEM
    assert elsewhere.json["key_reused"] is True  # what tells a form its key is spent
    assert elsewhere.json["detail"] == "This Idempotency-Key was used with another body or path"
    assert client.get(f"/clients/{other['id']}/addresses", headers=user).json["total"] == 0


def announced(app) -> list[tuple[str, dict]]:
    with app.app_context():
        events = db.session.scalars(select(outbox.Event).order_by(outbox.Event.id)).all()
        return [(event.type, event.payload["data"]) for event in events]


def test_a_new_client_and_each_change_of_its_address_are_announced_with_a_growing_version(
    app, client, user, make_client
):
    made = make_client()
    address = client.post(f"/clients/{made['id']}/addresses", json=ADDRESS, headers=user).json
    where = f"/clients/{made['id']}/addresses/{address['id']}"
    assert client.patch(where, json={"state": "RJ"}, headers=user).status_code == 200
    assert client.delete(where, headers=user).status_code == 204
    events = announced(app)
    assert events[0] == ("client.created", {"client_id": made["id"]})
    assert [
        (kind, data["address_id"], data["client_id"], data["state"]) for kind, data in events[1:]
    ] == [
        ("address.created", address["id"], made["id"], "SP"),
        ("address.updated", address["id"], made["id"], "RJ"),
        ("address.deleted", address["id"], made["id"], "RJ"),
    ]
    versions = [datetime.fromisoformat(data["version"]) for _, data in events[1:]]
    assert versions == sorted(set(versions))


@pytest.mark.parametrize("street", ["Rua Augusta", ADDRESS["street"]], ids=["changed", "as_was"])
def test_a_change_of_an_address_behind_another_announces_the_state_that_one_committed(
    app, client, user, make_client, street
):
    made = make_client()
    address = client.post(f"/clients/{made['id']}/addresses", json=ADDRESS, headers=user).json
    where = f"/clients/{made['id']}/addresses/{address['id']}"
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(text("UPDATE clients.addresses SET state = 'RJ' WHERE id = :id"), address)
        response = answered_behind(
            app, holder, lambda: client.patch(where, json={"street": street}, headers=user)
        )
    assert response.status_code == 200 and response.json["state"] == "RJ"
    kind, data = announced(app)[-1]
    assert (kind, data["state"]) == ("address.updated", "RJ")


def test_an_address_deleted_while_another_deletion_of_it_waits_is_404_and_announced_once(
    app, client, user, make_client
):
    made = make_client()
    address = client.post(f"/clients/{made['id']}/addresses", json=ADDRESS, headers=user).json
    where = f"/clients/{made['id']}/addresses/{address['id']}"
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(text("DELETE FROM clients.addresses WHERE id = :id"), address)
        response = answered_behind(app, holder, lambda: client.delete(where, headers=user))
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert "address.deleted" not in [kind for kind, _ in announced(app)]  # the test's own


def test_a_state_in_any_case_is_stored_upper_case(app, client, user, make_client):
    made = make_client()
    added = client.post(
        f"/clients/{made['id']}/addresses", json={**ADDRESS, "state": "rj"}, headers=user
    )
    assert added.status_code == 201 and added.json["state"] == "RJ"
    where = f"/clients/{made['id']}/addresses/{added.json['id']}"
    patched = client.patch(where, json={"state": "Mg"}, headers=user)
    assert patched.status_code == 200 and patched.json["state"] == "MG"
    with app.app_context():
        assert db.session.get(Address, added.json["id"]).state == "MG"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state", "XX"),
        ("state", "xx"),
        ("state", "\u017fp"),  # a long s, which str.upper() makes an S
        ("cep", "1234-567"),
        ("cep", "\uff10\uff11\uff13\uff11\uff10\uff11\uff10\uff10"),
        ("cep", "abcdefgh"),
        ("number", ""),
        ("city", ""),
    ],
)
def test_an_invalid_address_field_is_422_naming_it(client, user, make_client, field, value):
    made = make_client()
    response = client.post(
        f"/clients/{made['id']}/addresses", json={**ADDRESS, field: value}, headers=user
    )
    assert response.status_code == 422 and list(response.json["errors"]) == [field]


def test_addresses_of_an_unknown_client_are_404(client, user):
    assert client.get("/clients/424242/addresses", headers=user).status_code == 404
    assert client.post("/clients/424242/addresses", json=ADDRESS, headers=user).status_code == 404


def test_an_address_reached_through_the_wrong_client_is_404(client, user, make_client):
    owner, other = make_client(), make_client()
    address = client.post(f"/clients/{owner['id']}/addresses", json=ADDRESS, headers=user).json
    wrong = f"/clients/{other['id']}/addresses/{address['id']}"
    assert client.get(wrong, headers=user).status_code == 404
    assert client.patch(wrong, json={"city": "Rio"}, headers=user).status_code == 404
    assert client.put(wrong, json=ADDRESS, headers=user).status_code == 404
    assert client.delete(wrong, headers=user).status_code == 404


def test_addresses_are_listed_put_patched_and_deleted(client, user, make_client):
    made = make_client()
    base = f"/clients/{made['id']}/addresses"
    first = client.post(base, json=ADDRESS, headers=user).json
    client.post(base, json={**ADDRESS, "number": "10"}, headers=user)
    listing = client.get(base, headers=user).json
    assert listing["total"] == 2 and listing["items"][0]["id"] == first["id"]
    put = client.put(
        f"{base}/{first['id']}", json={**ADDRESS, "state": "RJ", "cep": "20040-020"}, headers=user
    )
    assert put.status_code == 200 and put.json["state"] == "RJ"
    patched = client.patch(f"{base}/{first['id']}", json={"complement": "Bloco B"}, headers=user)
    assert patched.json["complement"] == "Bloco B" and patched.json["state"] == "RJ"
    assert client.delete(f"{base}/{first['id']}", headers=user).status_code == 204
    assert client.get(f"{base}/{first['id']}", headers=user).status_code == 404

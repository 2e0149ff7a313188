"""The stand-in driven over real HTTP as notifications drives Meta's Cloud API, its status
webhooks received by a real local endpoint that checks `X-Hub-Signature-256` itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from standins.whatsapp.testing import running_whatsapp_standin

TOKEN = "EAAstandin-tests-token"
APP_SECRET = "standin-tests-app-secret"
PHONE = "5511912345678"
REJECTED = "5511900000000"


class Endpoint:
    """A webhook endpoint as Feira's would be: it checks each delivery's signature (401 if it
    fails), answers 500 to the first `fail_next` valid ones, and keeps the statuses it accepted."""

    def __init__(self) -> None:
        self.statuses: list[dict] = []
        self.bodies: list[dict] = []
        self.answers: list[int] = []
        self.fail_next = 0
        self.changed = threading.Condition()
        app = Flask("endpoint")
        app.add_url_rule("/hook", "hook", self.receive, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def receive(self):
        raw = request.get_data()
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(given, expected):
            status = 401
        else:
            status = 500 if self.fail_next else 200
            self.fail_next = max(0, self.fail_next - 1)
        with self.changed:
            self.answers.append(status)
            if status == 200:
                body = json.loads(raw)
                self.bodies.append(body)
                for entry in body["entry"]:
                    for change in entry["changes"]:
                        self.statuses += change["value"]["statuses"]
            self.changed.notify_all()
        return "", status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.statuses) >= count, timeout):
                raise AssertionError(f"{len(self.statuses)} statuses arrived, not {count}")
            return list(self.statuses)


@pytest.fixture
def endpoint():
    hook = Endpoint()
    thread = threading.Thread(target=hook.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def standin(endpoint):
    with running_whatsapp_standin(
        access_token=TOKEN, app_secret=APP_SECRET, webhook_url=endpoint.url, status_delay_s=0.05
    ) as running:
        yield running


def template(to=PHONE, name="order_paid", parameters=("Ana", "42", "R$ 49,90", "-")):
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "pt_BR"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": text} for text in parameters],
                }
            ],
        },
    }


def send(standin, body, token=TOKEN, phone_number_id=None):
    return requests.post(
        f"{standin.url}/v21.0/{phone_number_id or standin.phone_number_id}/messages",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("never happened")
        time.sleep(0.02)


def test_a_template_send_is_accepted_with_a_wamid_and_recorded(standin):
    answer = send(standin, template(to="+55 11 91234-5678"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+55 11 91234-5678", "wa_id": PHONE}]
    [message] = body["messages"]
    assert message["id"].startswith("wamid.")
    listed = requests.get(f"{standin.url}/_standin/messages", params={"to": PHONE}, timeout=5)
    [item] = listed.json()["items"]
    assert item["id"] == message["id"]
    assert (item["to"], item["template"], item["language"]) == (PHONE, "order_paid", "pt_BR")
    assert item["parameters"] == ["Ana", "42", "R$ 49,90", "-"]
    assert standin.messages(to="+" + PHONE)[0]["id"] == message["id"]
    assert requests.get(
        f"{standin.url}/_standin/messages", params={"to": "5511000000000"}, timeout=5
    ).json() == {"items": []}


def test_messages_are_listed_newest_first(standin):
    first = send(standin, template()).json()["messages"][0]["id"]
    second = send(standin, template(name="order_shipped")).json()["messages"][0]["id"]
    assert [item["id"] for item in standin.messages()] == [second, first]


def test_a_send_is_followed_by_signed_sent_delivered_and_read_webhooks(standin, endpoint):
    wamid = send(standin, template()).json()["messages"][0]["id"]
    statuses = endpoint.wait_for(3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["id"] == wamid and s["recipient_id"] == PHONE for s in statuses)
    assert all(s["timestamp"].isdigit() for s in statuses)
    body = endpoint.bodies[0]
    assert body["object"] == "whatsapp_business_account"
    change = body["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    assert change["value"]["metadata"]["phone_number_id"] == standin.phone_number_id
    wait_until(lambda: standin.messages()[0]["statuses_sent"] == ["sent", "delivered", "read"])
    assert all(hook["delivered"] for hook in standin.messages()[0]["webhooks"])


def test_a_send_to_a_reject_number_is_accepted_then_fails_as_undeliverable(standin, endpoint):
    answer = send(standin, template(to=REJECTED))
    assert answer.status_code == 200
    [status] = endpoint.wait_for(1)
    assert status["status"] == "failed"
    assert status["id"] == answer.json()["messages"][0]["id"]
    assert status["errors"][0]["code"] == 131026
    assert status["errors"][0]["title"] == "Message undeliverable"
    time.sleep(0.3)
    assert len(endpoint.statuses) == 1


def test_a_webhook_the_endpoint_refuses_is_tried_again(standin, endpoint):
    endpoint.fail_next = 2
    send(standin, template())
    statuses = endpoint.wait_for(3)
    assert sorted(s["status"] for s in statuses) == ["delivered", "read", "sent"]
    assert endpoint.answers.count(500) == 2
    wait_until(lambda: sum(h["attempts"] for h in standin.messages()[0]["webhooks"]) == 5)


def test_a_wrong_or_missing_token_is_a_401_graph_error_code_190(standin):
    wrong = send(standin, template(), token="EAAwrong")
    assert wrong.status_code == 401
    error = wrong.json()["error"]
    assert (error["type"], error["code"]) == ("OAuthException", 190)
    assert error["fbtrace_id"]
    missing = requests.post(
        f"{standin.url}/v21.0/{standin.phone_number_id}/messages", json=template(), timeout=5
    )
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == 190
    assert standin.messages() == []


def test_another_phone_number_id_is_refused(standin):
    answer = send(standin, template(), phone_number_id="999")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("messaging_product"), "messaging_product"),
        (lambda b: b.update(to="not a phone"), "to"),
        (lambda b: b.pop("to"), "to"),
        (lambda b: b.update(type="sticker"), "type"),
        (lambda b: b["template"].pop("language"), "template.language"),
        (lambda b: b["template"].update(name="Order Paid"), "template.name"),
        (lambda b: b["template"].update(components="body"), "template.components"),
    ],
)
def test_a_bad_field_is_a_400_code_100_naming_it(standin, change, field):
    body = template()
    change(body)
    answer = send(standin, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 100
    assert field in error["error_data"]["details"]
    assert standin.messages() == []


def test_a_body_that_is_not_a_json_object_is_a_400(standin):
    answer = requests.post(
        f"{standin.url}/v21.0/{standin.phone_number_id}/messages",
        data="[]",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


def test_template_parameters_meta_refuses_are_refused(standin):
    empty = send(standin, template(parameters=("Ana", "42", "R$ 1,00", "")))
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == 131008
    for text in ("line\nbreak", "tab\there", "five     spaces"):
        answer = send(standin, template(parameters=("Ana", "42", "R$ 1,00", text)))
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == 132018
    assert standin.messages() == []


def test_fail_next_makes_the_next_sends_answer_rate_limit_then_recovers(standin):
    switched = requests.post(
        f"{standin.url}/_standin/fail_next", json={"status": 429, "count": 2}, timeout=5
    )
    assert switched.status_code == 200
    for _ in range(2):
        answer = send(standin, template())
        assert answer.status_code == 429
        assert answer.json()["error"]["code"] == 130429
    assert send(standin, template()).status_code == 200
    assert len(standin.messages()) == 1


def test_a_failure_for_one_number_leaves_sends_to_other_numbers_alone(standin):
    other = "+55 11 98888-7777"
    switched = requests.post(
        f"{standin.url}/_standin/fail_next",
        json={"status": 429, "count": 1, "to": "+55 (11) 91234-5678"},
        timeout=5,
    )
    assert switched.status_code == 200
    assert switched.json()["to"] == PHONE
    assert send(standin, template(to=other)).status_code == 200
    assert send(standin, template(to=PHONE)).status_code == 429
    assert send(standin, template(to=PHONE)).status_code == 200
    assert [m["to"] for m in standin.messages()] == [PHONE, "5511988887777"]


def test_a_failure_for_one_number_is_used_before_one_for_any(standin):
    for body in ({"status": 503, "count": 1}, {"status": 429, "count": 1, "to": PHONE}):
        requests.post(f"{standin.url}/_standin/fail_next", json=body, timeout=5)
    assert send(standin, template(to=PHONE)).status_code == 429
    assert send(standin, template(to=PHONE)).status_code == 503
    assert send(standin, template(to=PHONE)).status_code == 200


@pytest.mark.parametrize("to", ["", "12", 5511912345678, "not a phone"])
def test_fail_next_refuses_a_number_that_is_not_one(standin, to):
    answer = requests.post(
        f"{standin.url}/_standin/fail_next", json={"status": 429, "to": to}, timeout=5
    )
    assert answer.status_code == 400
    assert "to" in answer.json()["error"]["error_data"]["details"]
    assert send(standin, template()).status_code == 200


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next_can_make_a_send_a_server_error(standin, status):
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": status}, timeout=5)
    answer = send(standin, template())
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == 131000


def test_fail_next_can_make_a_send_a_rate_limit_answered_400_with_its_code(standin):
    switched = requests.post(
        f"{standin.url}/_standin/fail_next", json={"status": 400, "code": 131056}, timeout=5
    )
    assert switched.status_code == 200
    answer = send(standin, template())
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 131056
    assert send(standin, template()).status_code == 200


def test_fail_next_refuses_a_400_without_a_rate_limits_code(standin):
    answer = requests.post(
        f"{standin.url}/_standin/fail_next", json={"status": 400, "code": 100}, timeout=5
    )
    assert answer.status_code == 400
    assert "code" in answer.json()["error"]["error_data"]["details"]


def test_fail_next_refuses_another_status(standin):
    answer = requests.post(
        f"{standin.url}/_standin/fail_next", json={"status": 404, "count": 1}, timeout=5
    )
    assert answer.status_code == 400
    assert "status" in answer.json()["error"]["error_data"]["details"]


def test_dropped_webhooks_are_recorded_but_never_posted(standin, endpoint):
    requests.post(f"{standin.url}/_standin/webhooks/drop", json={"count": 1}, timeout=5)
    send(standin, template())
    statuses = endpoint.wait_for(2)
    time.sleep(0.2)
    assert [s["status"] for s in statuses] == ["delivered", "read"]
    hooks = standin.messages()[0]["webhooks"]
    assert hooks[0]["status"] == "sent" and hooks[0]["dropped"] and hooks[0]["attempts"] == 0
    assert standin.messages()[0]["statuses_sent"] == ["delivered", "read"]


def test_a_status_can_be_sent_again_now_and_backdated(standin, endpoint):
    wamid = send(standin, template()).json()["messages"][0]["id"]
    endpoint.wait_for(3)
    answer = requests.post(
        f"{standin.url}/_standin/messages/{wamid}/status",
        json={"status": "delivered", "age_s": 3600},
        timeout=5,
    )
    assert answer.json() == {"status": 200}
    [*_, again] = endpoint.wait_for(4)
    assert again["status"] == "delivered"
    assert abs(int(again["timestamp"]) - (time.time() - 3600)) < 5
    unknown = requests.post(
        f"{standin.url}/_standin/messages/wamid.nope/status", json={"status": "read"}, timeout=5
    )
    assert unknown.status_code == 404
    bad = requests.post(
        f"{standin.url}/_standin/messages/{wamid}/status", json={"status": "lost"}, timeout=5
    )
    assert bad.status_code == 400


def test_a_webhook_signed_with_another_secret_is_refused_by_the_endpoint(endpoint):
    with running_whatsapp_standin(
        access_token=TOKEN, app_secret="another", webhook_url=endpoint.url, status_delay_s=0.01
    ) as other:
        send(other, template())
        wait_until(lambda: len(endpoint.answers) >= 3)
    assert endpoint.statuses == []
    assert set(endpoint.answers) == {401}


def test_forgetting_clears_messages_and_switches(standin):
    send(standin, template())
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 429}, timeout=5)
    assert requests.delete(f"{standin.url}/_standin/messages", timeout=5).status_code == 204
    assert standin.messages() == []
    assert send(standin, template()).status_code == 200


def test_health_answers_and_unknown_routes_are_graph_errors(standin):
    assert requests.get(f"{standin.url}/_standin/health", timeout=5).status_code == 200
    unknown = requests.get(f"{standin.url}/nothing/here", timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == 2500


def test_the_app_needs_a_token_and_an_app_secret():
    from standins.whatsapp import create_app

    with pytest.raises(RuntimeError):
        create_app({"WHATSAPP_ACCESS_TOKEN": "", "WHATSAPP_APP_SECRET": ""})

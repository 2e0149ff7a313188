"""The stand-in driven by the official `stripe` SDK over real HTTP, its webhooks received by a
real local endpoint that checks them with `stripe.Webhook.construct_event`."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import stripe
from flask import Flask, request
from werkzeug.serving import make_server

from standins.stripe.brcode import PIX_GUI, crc_is_valid, parse
from standins.stripe.testing import running_stripe_standin

SECRET_KEY = "sk_test_standin_tests"
WEBHOOK_SECRET = "whsec_standin_tests"


class Endpoint:
    """A webhook endpoint as Feira's would be: it verifies each delivery's signature (400 if it
    fails), answers 500 to the first `fail_next` valid ones, and keeps the events it accepted."""

    def __init__(self) -> None:
        self.events: list[stripe.Event] = []
        self.statuses: list[int] = []
        self.fail_next = 0
        self.changed = threading.Condition()
        app = Flask("endpoint")
        app.add_url_rule("/hook", "hook", self.receive, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def receive(self):
        try:
            event = stripe.Webhook.construct_event(
                request.get_data(), request.headers.get("Stripe-Signature"), WEBHOOK_SECRET
            )
        except (stripe.SignatureVerificationError, ValueError):
            status = 400
        else:
            status = 500 if self.fail_next else 200
            self.fail_next = max(0, self.fail_next - 1)
        with self.changed:
            self.statuses.append(status)
            if status == 200:
                self.events.append(event)
            self.changed.notify_all()
        return "", status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[stripe.Event]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.events) >= count, timeout):
                raise AssertionError(f"{len(self.events)} events arrived, not {count}")
            return list(self.events)


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
    with running_stripe_standin(
        secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET, webhook_url=endpoint.url
    ) as running:
        yield running


@pytest.fixture
def client(standin) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": standin.url})


def card_payment(client, method="pm_card_visa", amount=4990, **options):
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "brl",
            "payment_method_types": ["card"],
            "payment_method": method,
            "confirm": True,
            "metadata": {"order_id": "41", "payment_id": "7"},
        },
        options=options,
    )


def pix_payment(client, amount=1234, expires=900, confirm=True):
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "brl",
            "payment_method_types": ["pix"],
            "payment_method_data": {"type": "pix"},
            "confirm": confirm,
            "payment_method_options": {"pix": {"expires_after_seconds": expires}},
            "metadata": {"order_id": "42", "payment_id": "8"},
        }
    )


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=5, **kwargs)


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=5, **kwargs)


def standin_events(standin, intent_id: str) -> list[dict]:
    answer = get(f"{standin}/_standin/events", params={"payment_intent": intent_id})
    return answer.json()["data"]


def settled_events(standin, intent_id: str, timeout: float = 10.0) -> list[dict]:
    """The events of an intent once each is recorded as delivered (the endpoint may have an
    event a moment before the stand-in records its answer)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = standin_events(standin, intent_id)
        if listed and all(e["delivered"] for e in listed):
            return listed
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries still pending: {listed}")
        time.sleep(0.05)


# --- the API, through the SDK ---


def test_a_visa_card_payment_succeeds_at_once_with_its_charge(client):
    intent = card_payment(client)
    assert intent.status == "succeeded"
    assert intent.amount_received == 4990
    assert intent.latest_charge.startswith("ch_")
    assert intent.metadata["order_id"] == "41"
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount, charge.payment_intent, charge.refunded) == (4990, intent.id, False)


def test_a_declined_card_raises_card_error_and_leaves_the_intent_requiring_a_payment_method(
    client, endpoint
):
    with pytest.raises(stripe.CardError) as raised:
        card_payment(client, "pm_card_chargeDeclined")
    error = raised.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.error.decline_code == "generic_decline"
    assert error.user_message == "Your card was declined."
    intent = error.error.payment_intent
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "generic_decline"
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    [event] = endpoint.wait_for(1)
    assert event.type == "payment_intent.payment_failed"
    assert event.data.object.id == intent.id


def test_a_card_that_asks_for_authentication_leaves_the_intent_requiring_action(client, endpoint):
    intent = card_payment(client, "pm_card_authenticationRequired")
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"
    assert intent.last_payment_error is None and intent.latest_charge is None
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"
    [event] = endpoint.wait_for(1)
    assert (event.type, event.data.object.id) == ("payment_intent.requires_action", intent.id)


def test_with_error_on_requires_action_a_card_that_asks_for_authentication_is_declined(
    client, endpoint
):
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(
            params={
                "amount": 4990,
                "currency": "brl",
                "payment_method_types": ["card"],
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
                "error_on_requires_action": True,
            }
        )
    error = raised.value
    assert (error.http_status, error.code) == (402, "authentication_required")
    assert error.error.decline_code == "authentication_required"
    intent = error.error.payment_intent
    assert intent.status == "requires_payment_method" and intent.next_action is None
    assert intent.last_payment_error.code == "authentication_required"
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    [event] = endpoint.wait_for(1)
    assert event.type == "payment_intent.payment_failed"


def test_error_on_requires_action_is_refused_without_confirm_and_a_visa_still_succeeds(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(
            params={
                "amount": 4990,
                "currency": "brl",
                "payment_method": "pm_card_visa",
                "error_on_requires_action": True,
            }
        )
    assert raised.value.param == "error_on_requires_action"
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4990,
            "currency": "brl",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "error_on_requires_action": True,
        }
    )
    assert intent.status == "succeeded"


def test_a_pix_payment_requires_action_with_a_valid_br_code_for_its_amount(client):
    before = int(time.time())
    intent = pix_payment(client, amount=1234, expires=600)
    assert intent.status == "requires_action"
    assert intent.next_action.type == "pix_display_qr_code"
    qr = intent.next_action.pix_display_qr_code
    assert before + 600 <= qr.expires_at <= int(time.time()) + 600
    code = qr.data
    assert code.startswith("000201")
    assert crc_is_valid(code)
    fields = parse(code)
    assert parse(fields["26"]) == {"00": PIX_GUI, "01": "pix@feira.local"}
    assert fields["54"] == "12.34"
    assert (fields["53"], fields["58"]) == ("986", "BR")
    assert get(qr.hosted_instructions_url).text.strip() == code
    assert get(qr.image_url_png).status_code == 501  # no QR images: `data` is the code


def test_an_unconfirmed_pix_payment_waits_for_its_confirmation_with_no_code(client):
    intent = pix_payment(client, confirm=False)
    assert (intent.status, intent.next_action) == ("requires_confirmation", None)
    assert intent.payment_method.startswith("pm_")
    assert client.v1.payment_intents.cancel(intent.id).status == "canceled"


def test_a_pix_code_can_expire_within_seconds_as_on_the_test_stack(client):
    intent = pix_payment(client, expires=6)
    assert intent.next_action.pix_display_qr_code.expires_at <= int(time.time()) + 6
    with pytest.raises(stripe.InvalidRequestError) as raised:
        pix_payment(client, expires=0)
    assert raised.value.param == "payment_method_options[pix][expires_after_seconds]"


def test_the_pix_payer_paying_makes_the_intent_succeed_with_the_amount_the_bank_reports(
    client, standin, endpoint
):
    intent = pix_payment(client, amount=1234)
    paid = post(
        f"{standin}/_standin/payment_intents/{intent.id}/pay", json={"amount_received": 1200}
    )
    assert paid.status_code == 200
    after = client.v1.payment_intents.retrieve(intent.id)
    assert (after.status, after.amount, after.amount_received) == ("succeeded", 1234, 1200)
    [event] = endpoint.wait_for(1)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.amount_received == 1200
    again = post(f"{standin}/_standin/payment_intents/{intent.id}/pay", json={})
    assert again.status_code == 400


def test_an_expired_pix_code_cannot_be_paid(client, standin):
    intent = pix_payment(client)
    stored = standin.app.extensions["stripe_store"].payment_intents[intent.id]
    stored["next_action"]["pix_display_qr_code"]["expires_at"] = int(time.time()) - 1
    paid = post(f"{standin}/_standin/payment_intents/{intent.id}/pay", json={})
    assert paid.status_code == 400
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


def test_an_unpaid_pix_intent_is_canceled_and_a_succeeded_one_cannot_be(client, endpoint):
    intent = pix_payment(client)
    canceled = client.v1.payment_intents.cancel(intent.id)
    assert (canceled.status, canceled.next_action) == ("canceled", None)
    [event] = endpoint.wait_for(1)
    assert event.type == "payment_intent.canceled"
    succeeded = card_payment(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.cancel(succeeded.id)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_refunds_partial_then_the_rest_report_charge_refunded_with_the_amount_refunded(
    client, endpoint
):
    intent = card_payment(client, amount=5000)
    endpoint.wait_for(1)
    partial = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1500})
    assert (partial.status, partial.amount, partial.payment_intent) == (
        "succeeded",
        1500,
        intent.id,
    )
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 3501})
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 3500
    assert client.v1.refunds.retrieve(rest.id).amount == 3500
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"
    events = endpoint.wait_for(3)[1:]
    assert [e.type for e in events] == ["charge.refunded", "charge.refunded"]
    assert [(e.data.object.amount_refunded, e.data.object.refunded) for e in events] == [
        (1500, False),
        (5000, True),
    ]
    assert {e.data.object.payment_intent for e in events} == {intent.id}


def test_a_refund_fail_cards_refund_is_made_pending_then_fails_with_its_three_events(
    client, endpoint, standin
):
    intent = card_payment(client, "pm_card_refundFail", amount=5000)
    assert intent.status == "succeeded"
    endpoint.wait_for(1)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert (refund.status, refund.amount) == ("pending", 5000)
    assert client.v1.charges.retrieve(intent.latest_charge).amount_refunded == 5000
    failed = post(f"{standin}/_standin/refunds/{refund.id}/fail")
    assert failed.status_code == 200, failed.text
    assert (failed.json()["status"], failed.json()["failure_reason"]) == (
        "failed",
        "expired_or_canceled_card",
    )
    assert client.v1.refunds.retrieve(refund.id).status == "failed"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    events = endpoint.wait_for(5)[1:]
    assert [e.type for e in events] == [
        "charge.refunded",
        "charge.refund.updated",
        "refund.updated",
        "refund.failed",
    ]
    # Each carries the Refund as it now is (Stripe's `refund.*` events cover every refund).
    assert {
        (e.data.object.id, e.data.object.status, e.data.object.payment_intent) for e in events[1:]
    } == {(refund.id, "failed", intent.id)}
    again = post(f"{standin}/_standin/refunds/{refund.id}/fail")
    assert again.status_code == 400 and again.json()["error"]["code"] == "refund_unexpected_state"


def test_a_visa_cards_refund_succeeds_and_cannot_be_made_to_fail(client, endpoint, standin):
    intent = card_payment(client)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert refund.status == "succeeded"
    refused = post(f"{standin}/_standin/refunds/{refund.id}/fail")
    assert refused.status_code == 400
    assert client.v1.charges.retrieve(intent.latest_charge).amount_refunded == 4990
    assert post(f"{standin}/_standin/refunds/re_nope/fail").status_code == 404


def test_fail_next_makes_the_next_refund_answer_failed_at_once_with_its_three_events(
    client, endpoint, standin
):
    intent = card_payment(client, amount=5000)
    endpoint.wait_for(1)
    armed = post(f"{standin}/_standin/refunds/fail_next", json={"count": 1})
    assert armed.json() == {"fail_next": 1}
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2000})
    assert (refund.status, refund.failure_reason, refund.amount) == (
        "failed",
        "expired_or_canceled_card",
        2000,
    )
    assert client.v1.refunds.retrieve(refund.id).status == "failed"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    failed = endpoint.wait_for(4)[1:]
    assert [e.type for e in failed] == ["charge.refund.updated", "refund.updated", "refund.failed"]
    assert {(e.data.object.id, e.data.object.status) for e in failed} == {(refund.id, "failed")}
    # Only the next one: the one after is made, and can refund all of the charge.
    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert (rest.status, rest.amount) == ("succeeded", 5000)
    assert [e.type for e in endpoint.wait_for(5)[4:]] == ["charge.refunded"]
    bad = post(f"{standin}/_standin/refunds/fail_next", json={"count": -1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "count"


def test_a_refund_of_an_intent_that_did_not_succeed_is_refused(client):
    intent = pix_payment(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert raised.value.code == "charge_not_refundable"


def test_the_same_idempotency_key_and_parameters_replay_the_first_answer_and_charge_once(
    client, standin
):
    first = card_payment(client, idempotency_key="order-41-attempt-1")
    replay = card_payment(client, idempotency_key="order-41-attempt-1")
    assert replay.id == first.id
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(standin_events(standin, first.id)) == 1
    refund = client.v1.refunds.create(
        params={"payment_intent": first.id}, options={"idempotency_key": "refund-7"}
    )
    again = client.v1.refunds.create(
        params={"payment_intent": first.id}, options={"idempotency_key": "refund-7"}
    )
    assert again.id == refund.id


def test_a_declined_card_is_replayed_as_the_same_card_error(client):
    with pytest.raises(stripe.CardError) as first:
        card_payment(client, "pm_card_chargeDeclined", idempotency_key="declined-1")
    with pytest.raises(stripe.CardError) as replay:
        card_payment(client, "pm_card_chargeDeclined", idempotency_key="declined-1")
    assert replay.value.error.payment_intent.id == first.value.error.payment_intent.id
    assert replay.value.headers["Idempotent-Replayed"] == "true"


def test_concurrent_requests_with_one_idempotency_key_make_one_payment(client, standin):
    with ThreadPoolExecutor(8) as pool:
        intents = list(
            pool.map(lambda _: card_payment(client, idempotency_key="order-44"), range(16))
        )
    assert len({intent.id for intent in intents}) == 1
    assert len(standin.app.extensions["stripe_store"].payment_intents) == 1
    assert len(settled_events(standin, intents[0].id)) == 1


def test_the_same_idempotency_key_with_other_parameters_is_an_idempotency_error(client):
    card_payment(client, amount=4990, idempotency_key="order-43")
    with pytest.raises(stripe.IdempotencyError) as raised:
        card_payment(client, amount=5000, idempotency_key="order-43")
    assert raised.value.http_status == 400


def test_a_wrong_api_key_is_refused_with_401(standin):
    other = stripe.StripeClient("sk_test_someone_else", base_addresses={"api": standin.url})
    with pytest.raises(stripe.AuthenticationError) as raised:
        card_payment(other)
    assert raised.value.http_status == 401
    assert "someone_else" not in str(raised.value)
    missing = post(f"{standin}/v1/payment_intents", data={"amount": "100"})
    assert missing.status_code == 401


def test_bad_parameters_are_400_naming_the_parameter(client, standin):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        card_payment(client, "pm_card_nonsense")
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "payment_method")
    with pytest.raises(stripe.InvalidRequestError) as not_pix:
        client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "brl",
                "payment_method_types": ["pix"],
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
    assert not_pix.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError) as no_amount:
        client.v1.payment_intents.create(params={"currency": "brl"})
    assert (no_amount.value.code, no_amount.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as small:
        card_payment(client, amount=10)
    assert small.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.payment_intents.retrieve("pi_unknown")
    assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")


def test_the_form_encoding_with_empty_brackets_is_understood(standin):
    answer = post(
        f"{standin}/v1/payment_intents",
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        data={
            "amount": "2500",
            "currency": "brl",
            "payment_method_types[]": "pix",
            "confirm": "true",
            "metadata[order_id]": "9",
            "payment_method_options[pix][expires_after_seconds]": "60",
        },
    )
    assert answer.status_code == 200
    intent = answer.json()
    assert (intent["status"], intent["metadata"]) == ("requires_action", {"order_id": "9"})
    assert intent["payment_method_options"]["pix"]["expires_after_seconds"] == 60


# --- webhooks ---


def test_events_are_signed_so_construct_event_accepts_them(client, endpoint, standin):
    intent = card_payment(client)
    [event] = endpoint.wait_for(1)
    assert (event.type, event.object, event.livemode) == (
        "payment_intent.succeeded",
        "event",
        False,
    )
    assert event.data.object.id == intent.id
    assert event.data.object.metadata["payment_id"] == "7"
    [listed] = settled_events(standin, intent.id)
    assert (listed["id"], listed["delivered"], listed["attempts"]) == (event.id, True, 1)
    assert listed["last_status"] == 200


def test_a_delivery_that_fails_is_retried_until_the_endpoint_takes_it(client, endpoint, standin):
    endpoint.fail_next = 2
    intent = card_payment(client)
    [event] = endpoint.wait_for(1)
    assert endpoint.statuses == [500, 500, 200]
    [listed] = settled_events(standin, intent.id)
    assert (listed["id"], listed["attempts"], listed["delivered"]) == (event.id, 3, True)


def test_quiet_leaves_no_webhook_queued_or_on_its_way(client, endpoint, standin):
    """What a suite calls between two tests: the event's delivery (refused, so a retry is due in
    0.5 s) is over when `quiet` returns, and nothing of it arrives after."""
    endpoint.fail_next = 1
    card_payment(client)
    standin.quiet()
    seen = list(endpoint.statuses)
    time.sleep(1.5)
    assert endpoint.statuses == seen
    assert 200 not in seen and endpoint.events == []


def test_a_dropped_event_is_recorded_undelivered_and_a_resend_delivers_it(
    client, endpoint, standin
):
    dropped = post(f"{standin}/_standin/webhooks/drop", json={"count": 1})
    assert dropped.status_code == 200
    intent = card_payment(client)
    time.sleep(0.3)
    assert endpoint.events == []
    [listed] = standin_events(standin, intent.id)
    assert (listed["delivered"], listed["attempts"]) == (False, 0)
    resent = post(f"{standin}/_standin/events/{listed['id']}/resend", json={})
    assert resent.json() == {"status": 200}
    [event] = endpoint.wait_for(1)
    assert event.id == listed["id"]
    # Only the next one was dropped.
    card_payment(client)
    endpoint.wait_for(2)


def test_a_resend_signed_long_ago_is_refused_by_the_endpoint_as_stale(client, endpoint, standin):
    intent = card_payment(client)
    endpoint.wait_for(1)
    [listed] = settled_events(standin, intent.id)
    stale = post(f"{standin}/_standin/events/{listed['id']}/resend", json={"age_s": 600})
    assert stale.json() == {"status": 400}
    assert endpoint.statuses[-1] == 400


def test_an_out_of_order_event_carries_the_status_its_type_implies(client, endpoint, standin):
    intent = card_payment(client)
    endpoint.wait_for(1)
    late = post(
        f"{standin}/_standin/events",
        json={"type": "payment_intent.processing", "payment_intent": intent.id},
    ).json()
    assert late["status"] == 200
    assert late["event"]["data"]["object"]["status"] == "processing"
    events = endpoint.wait_for(2)
    assert (events[1].type, events[1].data.object.status) == (
        "payment_intent.processing",
        "processing",
    )
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert [e["type"] for e in standin_events(standin, intent.id)] == [
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]


def test_the_webhook_url_can_be_changed_while_running(client, standin, endpoint):
    standin.webhook_url = None
    intent = card_payment(client)
    [listed] = standin_events(standin, intent.id)
    assert listed["attempts"] == 0
    standin.webhook_url = endpoint.url
    card_payment(client)
    endpoint.wait_for(1)


def test_the_standin_answers_its_health_route(standin):
    assert get(f"{standin}/_standin/health").status_code == 200

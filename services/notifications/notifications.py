"""What notifications does: order events queue one message each, the sender sends them, WhatsApp's
status webhooks move them forward, an admin queues a failed one again.

- An event inserts a `queued` notification in the inbox's transaction, `ON CONFLICT DO NOTHING`
  on (order_id, template): a redelivered event, or the same event twice, is still one message.
  It keeps the note only when the client is meant to read it (NOTE_TOLD, a failed payment's).
- A message is old news once its order has gone a step past it (SUPERSEDED_BY: a failed
  payment's once the order was paid, cancelled, shipped or delivered; a paid one's once it was
  shipped, delivered or cancelled; a shipped one's once it was delivered): the relays retry
  apart, and a later event can overtake an earlier one of the same relay, so `order.shipped`
  may come after `order.delivered`. One whose order already has a later step's message is
  `failed` ("superseded: the order was …") when queued, and when sent if such a message came
  before it or is no longer queued (two receivers queuing at once, or an admin's retry); its
  retry is a 409.
- The sender takes due queued rows one at a time with `FOR UPDATE SKIP LOCKED` and holds the row's
  lock while it sends and records the outcome: two senders never take the same row, so never
  send it twice; nor one while an older one of its order is still queued, so the client hears of
  an order's steps in the order they came. The client's contact is read from clients at send
  time (a phone added after the order counts): WhatsApp when it has a phone and opted in, else
  e-mail when it has one, else the notification fails with "no channel".
- The provider's 429/5xx (or no answer, or an SMTP server that cannot take it now) retry after
  NOTIFY_RETRY_BASE_S · 2^(attempts-1), up to NOTIFY_MAX_ATTEMPTS, then `failed`; a 4xx (an
  invalid number) is `failed` at once with the Graph error's message and code.
- Statuses are ranked sent < delivered < read and never move back; `failed` comes only from
  queued or sent. Each (message id, status) pair applies once.
- A status may come before the sender has recorded the message id the provider answered (Meta
  can report `sent` at once): it is kept in early_statuses, and the sender applies it, by the
  same rules, when it records the id. Kept ones of ids that never become ours are forgotten after
  EARLY_STATUSES_KEPT, applied ones after STATUSES_SEEN_KEPT (the sender's chores).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from services.kit import Conflict, NotFound, Unavailable, service, utcnow
from services.kit.backlog import Lag
from services.kit.mail import MailError, send_mail

from . import whatsapp
from .models import TEMPLATES, EarlyStatus, Notification, StatusSeen, db

log = logging.getLogger("feira.notifications")

RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
WHATSAPP_STATUSES = ("sent", "delivered", "read", "failed")
# How long a status for a message id no notification has is kept for the sender to claim.
EARLY_STATUSES_KEPT = timedelta(days=7)
# How long an applied (message id, status) is remembered so a redelivery of it changes nothing:
# four times the week Meta goes on retrying a webhook. One that comes later still cannot move a
# notification back (statuses only go forward, `failed` only from queued or sent).
STATUSES_SEEN_KEPT = 4 * EARLY_STATUSES_KEPT

SUBJECTS = {
    "order_paid": "Pedido {order_id} pago",
    "order_shipped": "Pedido {order_id} enviado",
    "order_delivered": "Pedido {order_id} entregue",
    "order_cancelled": "Pedido {order_id} cancelado",
    "payment_failed": "Pagamento do pedido {order_id} recusado",
}
BODIES = {
    "order_paid": "Olá, {name}! Recebemos o pagamento do seu pedido {order_id} ({total}). {note}",
    "order_shipped": "Olá, {name}! Seu pedido {order_id} ({total}) foi enviado. {note}",
    "order_delivered": "Olá, {name}! Seu pedido {order_id} ({total}) foi entregue. {note}",
    "order_cancelled": "Olá, {name}. Seu pedido {order_id} ({total}) foi cancelado. {note}",
    "payment_failed": "Olá, {name}. O pagamento do seu pedido {order_id} ({total}) não foi "
    "aprovado. {note}",
}
# Why a payment failed, told to the client from the provider's code (`payment.failed`'s `code`:
# Stripe's decline_code, else its code), never in its own words: English, and meant for the
# shop. A lost, stolen or fraud-flagged card reads as a plain refusal, as Stripe advises.
REFUSED = "O banco recusou o cartão."
WHY_PAYMENT_FAILED = {
    "generic_decline": REFUSED,
    "card_declined": REFUSED,
    "do_not_honor": REFUSED,
    "lost_card": REFUSED,
    "stolen_card": REFUSED,
    "fraudulent": REFUSED,
    "pickup_card": REFUSED,
    "insufficient_funds": "O cartão não tem saldo ou limite suficiente.",
    "expired_card": "O cartão está vencido.",
    "incorrect_cvc": "O código de segurança do cartão está incorreto.",
    "invalid_cvc": "O código de segurança do cartão está incorreto.",
    "incorrect_number": "O número do cartão está incorreto.",
    "invalid_number": "O número do cartão está incorreto.",
    "processing_error": "Houve um erro ao processar o cartão.",
    "card_velocity_exceeded": "O cartão atingiu o limite de uso.",
    "authentication_required": "O banco pediu a confirmação da compra.",
}
# The order events whose note is told to the client: a shipped or delivered order's is what the
# admin gives for it (a tracking code). Any other order event's note is the shop's own record of
# the step (orders' "payment 7", "PIX expired", "client deleted", "deleted", or an admin's words
# on a cancel or a payment by hand): it never leaves; the message has no note.
NOTE_TOLD = {"order.shipped", "order.delivered"}
# The messages after which a template's message is old news, and what the order became: the
# steps of orders' machine (pending → paid → shipped → delivered, pending|paid → cancelled)
# past it. A delivered or cancelled order's message is the last word.
SUPERSEDED_BY = {
    "payment_failed": {
        "order_paid": "paid",
        "order_cancelled": "cancelled",
        "order_shipped": "shipped",
        "order_delivered": "delivered",
    },
    "order_paid": {
        "order_shipped": "shipped",
        "order_delivered": "delivered",
        "order_cancelled": "cancelled",
    },
    "order_shipped": {"order_delivered": "delivered"},
}
# What to do, by the payment's method, after every reason (and alone when the code says nothing
# the client can use); an event without a method (sent before payments named it) gets the last.
TRY_AGAIN = {
    "card": "Tente novamente com outro cartão ou com outra forma de pagamento.",
    "pix": "Gere um novo PIX ou escolha outra forma de pagamento.",
    None: "Tente novamente ou escolha outra forma de pagamento.",
}


# --- masking (every answer shows `to` this way) ---


def mask(to: str | None) -> str | None:
    """`+5511912345678` → `+55 11 9****-5678`; `ana@example.com` → `a***@example.com`."""
    if not to:
        return to
    if "@" in to:
        local, _, domain = to.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = to.lstrip("+")
    if digits.startswith("55") and len(digits) in (12, 13):
        return f"+55 {digits[2:4]} {digits[4]}****-{digits[-4:]}"
    return f"+{digits[:2]} ****-{digits[-4:]}" if len(digits) > 6 else "****"


# --- events ---


def _total(value) -> str:
    if value is None:
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc
    if not amount.is_finite():
        raise ValueError("not an amount")
    return str(amount.quantize(Decimal("0.01")))


def _queue(event_type: str, data: dict) -> None:
    order_id, client_id = int(data["order_id"]), int(data["client_id"])
    if not (0 < order_id < 2**31 and 0 < client_id < 2**31):
        raise ValueError("an id out of range")
    if event_type == "payment.failed":
        note = payment_failed_note(data.get("code"), data.get("method"))
    else:
        note = data.get("note") if event_type in NOTE_TOLD else None
    parameters = {
        "total": _total(data.get("total", data.get("amount"))),
        "status": str(data.get("status") or "")[:20],
        "note": str(note or "")[:300],
    }
    template = TEMPLATES[event_type]
    superseded = _superseded(template, order_id)
    db.session.execute(
        insert(Notification)
        .values(
            template=template,
            order_id=order_id,
            client_id=client_id,
            parameters=parameters,
            **({"status": "failed", "error": superseded} if superseded else {}),
        )
        .on_conflict_do_nothing(index_elements=["order_id", "template"])
    )


def _superseded(template: str, order_id: int, notification_id: int | None = None) -> str | None:
    """Why a `template` message of the order must not go, None when it may."""
    what = _superseded_as(template, order_id, notification_id)
    return f"superseded: the order was {what}" if what else None


def _superseded_as(template: str, order_id: int, notification_id: int | None = None) -> str | None:
    """What the order became ("paid", "shipped", …) that supersedes a `template` message of it,
    None when nothing does: a later step's message (when queuing it), or one that came before it
    or is no longer queued (when sending it, `notification_id`: a newer one still queued is the
    next step, told after it)."""
    later = SUPERSEDED_BY.get(template)
    if not later:
        return None
    found = select(Notification.template).where(
        Notification.order_id == order_id, Notification.template.in_(later)
    )
    if notification_id is not None:
        found = found.where(or_(Notification.id < notification_id, Notification.status != "queued"))
    step = db.session.scalar(found.order_by(Notification.id).limit(1))
    return later[step] if step else None


def on_order_paid(data: dict) -> None:
    _queue("order.paid", data)


def on_order_shipped(data: dict) -> None:
    _queue("order.shipped", data)


def on_order_delivered(data: dict) -> None:
    _queue("order.delivered", data)


def on_order_cancelled(data: dict) -> None:
    _queue("order.cancelled", data)


def payment_failed_note(code, method=None) -> str:
    """The note of a failed payment's message: why, in Portuguese, from the provider's code, then
    what to do with that payment method; only what to do when the code is unknown or missing."""
    why = WHY_PAYMENT_FAILED.get(code) if isinstance(code, str) else None
    advice = TRY_AGAIN.get(method if isinstance(method, str) else None, TRY_AGAIN[None])
    return f"{why} {advice}" if why else advice


def on_payment_failed(data: dict) -> None:
    """{payment_id, order_id, client_id, total, reason, code, method}: the note says why from the
    code and what to do from the method (`payment_failed_note`); the reason, the provider's
    English words, is never sent."""
    _queue("payment.failed", data)


# --- reading ---


def search(args: dict):
    stmt = select(Notification)
    for name in ("client_id", "order_id", "channel", "status", "template"):
        if name in args:
            stmt = stmt.where(getattr(Notification, name) == args[name])
    return stmt


def get_notification(notification_id: int) -> Notification:
    found = db.session.get(Notification, notification_id)
    if found is None:
        raise NotFound(f"Notification {notification_id} does not exist")
    return found


def retry(notification_id: int) -> Notification:
    """A failed notification queued again, due now, with its attempts counted afresh; its channel
    is chosen again when it is sent. One a later step of its order has since superseded
    (SUPERSEDED_BY) is refused (409): the sender would only fail it again."""
    found = get_notification(notification_id)
    if found.status == "failed":
        what = _superseded_as(found.template, found.order_id, found.id)
        if what:
            raise Conflict(f"Notification {notification_id} will not be sent: the order was {what}")
    retried = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "failed")
        .values(
            status="queued",
            error=None,
            attempts=0,
            channel=None,
            to=None,
            provider_ref=None,
            next_attempt_at=utcnow(),
            updated_at=utcnow(),
        )
        .returning(Notification.id)
    ).first()
    if retried is None:
        found = get_notification(notification_id)
        raise Conflict(
            f"Notification {notification_id} is {found.status}: only a failed one is sent again"
        )
    db.session.commit()
    return get_notification(notification_id)


# --- sending ---


def _money(total: str) -> str:
    if not total:
        return "-"
    units, _, cents = total.partition(".")
    grouped = f"{int(units):,}".replace(",", ".")
    return f"R$ {grouped},{(cents or '00')[:2]}"


def _contact(client_id: int) -> dict | None:
    """The client's name, e-mail, phone and opt-in (unmasked), from clients' internal route;
    None when clients says it does not exist."""
    clients = service("clients")
    response = clients.get(f"/clients/contacts/{client_id}", forward_auth=False)
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        log.warning("clients answered %s for a contact", response.status_code)
        raise Unavailable("The clients service could not give the contact")
    return clients.read(
        response,
        lambda body: {
            "name": str(body.get("name") or ""),
            "email": body.get("email") or None,
            "phone": body.get("phone") or None,
            "whatsapp_opt_in": bool(body.get("whatsapp_opt_in")),
        },
    )


def _later(notification: Notification, reason: str) -> None:
    config = current_app.config
    if notification.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        _fail(notification, f"Gave up after {notification.attempts} attempts: {reason}")
        return
    delay = config["NOTIFY_RETRY_BASE_S"] * 2 ** max(notification.attempts - 1, 0)
    notification.next_attempt_at = utcnow() + timedelta(seconds=delay)
    notification.error = reason[:500]
    notification.updated_at = utcnow()


def _fail(notification: Notification, reason: str) -> None:
    notification.status = "failed"
    notification.error = reason[:500]
    notification.updated_at = utcnow()


def _send(notification: Notification) -> None:
    """Send the locked notification once and record the outcome (the caller commits)."""
    superseded = _superseded(notification.template, notification.order_id, notification.id)
    if superseded:
        _fail(notification, superseded)
        return
    try:
        contact = _contact(notification.client_id)
    except Unavailable:
        # Not an attempt at the provider: only later.
        notification.next_attempt_at = utcnow() + timedelta(
            seconds=current_app.config["NOTIFY_RETRY_BASE_S"]
        )
        return
    if contact is None:
        _fail(notification, f"Client {notification.client_id} does not exist")
        return
    note = str(notification.parameters.get("note") or "")
    values = {
        "name": contact["name"] or "cliente",
        "order_id": str(notification.order_id),
        "total": _money(notification.parameters.get("total", "")),
        "note": note,
    }
    if contact["phone"] and contact["whatsapp_opt_in"]:
        notification.channel, notification.to = "whatsapp", contact["phone"]
    elif contact["email"]:
        notification.channel, notification.to = "email", contact["email"]
    else:
        notification.channel, notification.to = None, None
        _fail(notification, "no channel")
        return
    notification.attempts += 1
    notification.updated_at = utcnow()
    if notification.channel == "whatsapp":
        try:
            wamid = whatsapp.send_template(
                notification.to,
                notification.template,
                # Its place for the note is never empty (Meta refuses that): "-" when none.
                [values["name"], values["order_id"], values["total"], note.strip() or "-"],
            )
        except whatsapp.Retry as later:
            _later(notification, str(later))
            return
        except whatsapp.Refused as refused:
            _fail(notification, str(refused))
            return
        notification.provider_ref = wamid
    else:
        subject = SUBJECTS[notification.template].format(**values)
        text = BODIES[notification.template].format(**values).strip()
        try:
            # One Message-ID per notification: sent again after a crash, it is the same message.
            send_mail(
                [notification.to], subject, text, message_id=f"feira-notification-{notification.id}"
            )
        except ValueError:
            _fail(notification, "Not an e-mail address the SMTP client can send to")
            return
        except MailError as refused:
            # Its text names the reply code and the server, never the address.
            if refused.permanent:
                _fail(notification, str(refused))
            else:
                _later(notification, str(refused))
            return
    notification.status = "sent"
    notification.error = None
    if notification.channel == "whatsapp":
        _apply_early_statuses(notification)


def _sendable():
    """A queued notification the sender would take now: due, and not held back."""
    older = aliased(Notification)
    return (
        Notification.status == "queued",
        Notification.next_attempt_at <= utcnow(),
        # The client hears of an order's steps in the order they came: not while an older
        # message of the order is queued (being sent by another sender, or to be tried again
        # after a 429). A failed one holds nothing back, and a queued one is failed after
        # NOTIFY_MAX_ATTEMPTS, so nothing waits for ever.
        ~exists().where(
            older.order_id == Notification.order_id,
            older.id < Notification.id,
            older.status == "queued",
        ),
    )


def queue_lag() -> dict[str, Lag]:
    """The queue as `/health/queue` reads it: how many are queued (due or waiting a retry), and
    how long ago the oldest the sender would take now fell due; long ago, it is not sending."""
    queued = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.status == "queued")
    )
    oldest = db.session.scalar(
        select(
            func.extract("epoch", func.clock_timestamp() - func.min(Notification.next_attempt_at))
        ).where(*_sendable())
    )
    return {"queued": Lag(queued, max(0.0, float(oldest or 0)))}


def send_one() -> bool:
    """Take one due queued notification (skipping those another sender holds, and those an older
    one of their order holds back), send it, commit; False when none is due."""
    notification = db.session.scalar(
        select(Notification)
        .where(*_sendable())
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if notification is None:
        db.session.rollback()
        return False
    try:
        _send(notification)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return True


def send_due(limit: int = 100) -> int:
    """Send what is due now, up to `limit`; how many were taken."""
    taken = 0
    while taken < limit and send_one():
        taken += 1
    return taken


# --- WhatsApp's status webhooks ---


def _statuses(event: dict):
    """The status objects of a webhook body; any part of another shape is skipped."""
    for entry in _objects(event.get("entry")):
        for change in _objects(entry.get("changes")):
            value = change.get("value")
            if isinstance(value, dict):
                yield from _objects(value.get("statuses"))


def _objects(items) -> list[dict]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _error_text(status: dict) -> str:
    errors = _objects(status.get("errors"))
    first = errors[0] if errors else {}
    title = str(first.get("title") or first.get("message") or "Message failed")[:300]
    code = first.get("code")
    return f"{title} (code {code})" if code is not None else title


MESSAGE_TURN = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def message_turn_name(message_id: str) -> str:
    """The name whose hash is the message id's advisory lock (`_message_turn`)."""
    return f"feira:notifications:message:{message_id}"


def _message_turn(message_id: str) -> None:
    """Wait for, then hold until the transaction ends, the message id's turn: the status webhook
    takes it before it looks the notification up, the sender after it wrote provider_ref and
    before it reads the kept statuses. Under READ COMMITTED each statement sees what was committed
    when it began, so whichever side comes second sees the first's work: a webhook that comes
    second finds provider_ref committed and applies the status itself; a sender that comes second
    finds the status the webhook kept and applies it. Without the turn, a webhook could look
    before the sender commits and keep the status after the sender had looked: lost. Two ids whose
    names hash alike merely take turns too."""
    db.session.execute(MESSAGE_TURN, {"name": message_turn_name(message_id)})


def _apply(notification: Notification, message_id: str, value: str, error: str | None) -> bool:
    """One status of `message_id` applied to its (locked) notification: once per (message id,
    status), forward only, `failed` only from queued or sent; True if it changed something."""
    first = db.session.execute(
        insert(StatusSeen)
        .values(message_id=message_id, status=value)
        .on_conflict_do_nothing()
        .returning(StatusSeen.message_id)
    ).first()
    if first is None:
        return False
    if value == "failed":
        if notification.status in ("queued", "sent"):
            _fail(notification, error or "Message failed")
            return True
        return False
    if notification.status != "failed" and RANK[value] > RANK[notification.status]:
        notification.status = value
        notification.updated_at = utcnow()
        return True
    return False


def _apply_early_statuses(notification: Notification) -> None:
    """The statuses of the message id the sender has just recorded that came before it, applied
    in the order they came and forgotten (in the sender's transaction; the caller commits)."""
    message_id = notification.provider_ref
    db.session.flush()
    _message_turn(message_id)
    kept = db.session.execute(
        delete(EarlyStatus)
        .where(EarlyStatus.message_id == message_id)
        .returning(EarlyStatus.status, EarlyStatus.error, EarlyStatus.received_at)
        .execution_options(synchronize_session=False)
    ).all()
    for value, error, _ in sorted(kept, key=lambda row: (row[2], WHATSAPP_STATUSES.index(row[0]))):
        _apply(notification, message_id, value, error)


def forget_early_statuses(kept: timedelta = EARLY_STATUSES_KEPT) -> int:
    """Forget statuses kept longer than `kept` for ids no notification took (the sender's
    chore); how many."""
    return _forget_received(EarlyStatus, kept)


def forget_statuses_seen(kept: timedelta = STATUSES_SEEN_KEPT) -> int:
    """Forget the statuses applied longer than `kept` ago (the sender's chore); how many."""
    return _forget_received(StatusSeen, kept)


def _forget_received(model, kept: timedelta) -> int:
    forgotten = db.session.execute(
        delete(model)
        .where(model.received_at < utcnow() - kept)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return forgotten


def apply_statuses(event: dict) -> int:
    """Each status of a verified webhook applied once and forward only; how many changed
    something. A status for a message id no notification has (yet) is kept for the sender
    (`_apply_early_statuses`)."""
    statuses = []
    for status in _statuses(event):
        message_id, value = status.get("id"), status.get("status")
        if not isinstance(message_id, str) or value not in WHATSAPP_STATUSES:
            continue
        error = _error_text(status)[:500] if value == "failed" else None
        statuses.append((message_id[:255], value, error))
    # By message id (each id's statuses in the body's order): two webhooks naming the same ids
    # take their turns in one order, never each waiting for the other.
    statuses.sort(key=lambda each: each[0])
    applied = 0
    for message_id, value, error in statuses:
        _message_turn(message_id)
        notification = db.session.scalar(
            select(Notification)
            .where(Notification.provider_ref == message_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if notification is None:
            # The send may not be recorded yet. clock_timestamp: the order they came in, within
            # one body too. The same status again is kept once.
            db.session.execute(
                insert(EarlyStatus)
                .values(
                    message_id=message_id,
                    status=value,
                    error=error,
                    received_at=func.clock_timestamp(),
                )
                .on_conflict_do_nothing()
            )
            continue
        if _apply(notification, message_id, value, error):
            applied += 1
    db.session.commit()
    return applied

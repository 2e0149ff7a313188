"""What every page shares: the blueprint, who may see it, the API's refusals as pages or as
messages next to the fields they name, pt-BR formatting, and the security headers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from services.kit.errors import Problem, http_problem, unexpected_problem
from services.kit.pagination import MAX_PAGE
from services.kit.web import MAX_JSON_DEPTH, json_depth

from . import api
from .api import ApiError
from .messages import (
    DECLINED_WORDS,
    DECLINES,
    LABELS,
    NOTIFICATION_STATUSES,
    NOTIFICATION_TEMPLATES,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    RUN_STATUSES,
    brl,
    in_portuguese,
    note_in_portuguese,
    number,
    offered,
)
from .sessions import SignedOut

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")


def labels(words: dict[str, str]) -> dict[str, str]:
    """A status's word as a cell or a filter's option shows it: capitalised."""
    return {key: word[:1].upper() + word[1:] for key, word in words.items()}


# An order, a catalogue collection's run and a notification, by their status (the API's words
# are English): the words messages.py says them by in a sentence.
STATUS_LABELS = labels(ORDER_STATUSES)
RUN_STATUS_LABELS = labels(RUN_STATUSES)
NOTIFICATION_STATUS_LABELS = labels(NOTIFICATION_STATUSES)
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "email": "E-mail"}
TEMPLATE_LABELS = labels(NOTIFICATION_TEMPLATES)
PAYMENT_STATUS_LABELS = labels(PAYMENT_STATUSES)
PAYMENT_METHOD_LABELS = labels(PAYMENT_METHODS)
# A service that made a change on its own (an order's history `by`: "payments").
SERVICE_LABELS = labels(LABELS["service"])
# No inline script or style: everything the pages run or wear comes from the console itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
ERROR_TITLES = {
    400: "Requisição recusada",
    403: "Acesso negado",
    404: "Página não encontrada",
    409: "Conflito",
    413: "Envio grande demais",
    422: "Dados inválidos",
    429: "Muitas tentativas",
    500: "Erro interno",
    503: "Serviço indisponível",
}


# The forms sent without a session: a refused one of theirs is the 400 page, not the sign-in page.
SIGNED_OUT_FORMS = ("console.login", "console.register")


def return_to() -> str:
    """Where signing in brings the user back: this page. A form sent without a session (it ended
    while the form was open) was not carried out, and its own URL may take POST only: back to
    the page the form was on, to send it again (same origin: the console's Referrer-Policy)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    try:
        came_from = urlsplit(request.referrer or "")
    except ValueError:  # the browser's header, not a URL ("http://[x/...")
        return url_for("console.dashboard")
    if came_from.netloc == request.host and came_from.path.startswith("/console"):
        return came_from.path + (f"?{came_from.query}" if came_from.query else "")
    return url_for("console.dashboard")


def to_sign_in(ended: bool = False):
    """The sign-in page, and back to `return_to()` after it. `ended`: the session was there and
    ended (the page says so, and that a form sent just now was not carried out)."""
    args = {"next": return_to()}
    if ended:
        args["ended"] = "form" if request.method not in ("GET", "HEAD") else "1"
    return redirect(url_for("console.login", **args))


def signed_in(view: Callable) -> Callable:
    """Only for a signed-in user: anyone else goes to the sign-in page, and back after it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if session.user is None:
            return to_sign_in()
        return view(*args, **kwargs)

    return wrapper


def admin_only(view: Callable) -> Callable:
    """Only for an admin: a user gets the 403 page, and the API is not even asked."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if session.user is None:
            return to_sign_in()
        if not session.is_admin:
            return error_page(403, "Esta página é só para administradores.")
        return view(*args, **kwargs)

    return wrapper


class FormShown(Exception):
    """A form shown again in place of its answer (sales.send_form: its key unusable or spent, or
    the API's answer not known); the view's response is `response`."""

    def __init__(self, response):
        super().__init__()
        self.response = response


def error_page(status: int, detail: str = "", request_id: object = None):
    """The page of a refusal or a failure, with the id to quote when reporting it ("Código do
    pedido", as the gateway's pages say it): `request_id`, the API's problem's (the one the
    failing service logged), else this request's own."""
    if not isinstance(request_id, str) or not request_id:
        request_id = g.get("request_id")
    return (
        render_template(
            "error.html",
            status=status,
            title=ERROR_TITLES.get(status, "Erro"),
            detail=detail,
            request_id=request_id,
        ),
        status,
    )


def form_values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


def form_etag(values: dict[str, str]) -> str | None:
    """The ETag a form carries in its hidden `etag` (the resource's as the form was loaded), to
    send as If-Match; None when it carries none (a page from before the form had it, or a forged
    one) or one no header can carry. Such a form cannot say what it was loaded with, and a write
    without If-Match would overwrite whatever changed since: it is taken as stale (a 412),
    nothing sent."""
    tag = values.get("etag", "")
    return tag if tag and tag.isascii() and tag.isprintable() else None


# What an edit form saved as it was loaded says: nothing was sent.
NOTHING_CHANGED = "Nada foi alterado."


def changed_only(
    body: dict, values: dict, *, boxes: Collection[str] = (), changed: Collection[str] = ()
) -> dict:
    """A PATCH's body without the fields the staffer left as the form was loaded (the form
    carries each one's loaded value as a hidden `orig_<field>`): saving one field does not send
    back another someone changed through the API since (a WhatsApp consent withdrawn, a product
    deactivated, the collector's price). `boxes` are checkboxes, compared on or off; any other
    field is compared trimmed, its line breaks as one, empty as none; `changed` are counted as
    changed whatever they hold. A form without the loaded values (older than them) sends all."""

    def seen(key: str, text: str) -> object:
        if key in boxes:
            return text == "on"
        return text.replace("\r\n", "\n").strip() or None

    def untouched(key: str) -> bool:
        loaded = values.get(f"orig_{key}")
        if loaded is None or key in changed:
            return False
        return seen(key, values.get(key, "")) == seen(key, loaded)

    return {key: value for key, value in body.items() if not untouched(key)}


def finite_number(text: str) -> float:
    """A number as typed; ValueError for anything else, NaN and the infinities too (JSON cannot
    carry them to the API)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text}")
    return value


def read_json(text: str) -> Any:
    """JSON typed into a form, as a request can carry it to the API: ValueError for what is not
    JSON, for NaN, Infinity and numbers past a float's range, and for nesting deeper than
    MAX_JSON_DEPTH (past some depth, reading it or encoding it again for the API overflows
    Python's stack)."""
    try:
        value = json.loads(text, parse_float=finite_number, parse_constant=finite_number)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError("nested too deeply")
    return value


def page_args(default_per_page: int = 20, param: str = "page") -> dict[str, int]:
    """The page asked for (in `param`: a page with two lists names each list's), within what the
    API pages (a larger number is the API's last page number, which the pager then says is past
    the list's end)."""
    try:
        page = min(MAX_PAGE, max(1, int(request.args.get(param, 1))))
    except ValueError:
        page = 1
    return {"page": page, "per_page": default_per_page}


def pager(listing: dict, param: str = "page", path: str | None = None) -> dict[str, Any]:
    """Links to the previous and next pages, keeping the filters (and another list's page). A
    page past the last (an old link, a list that shrank) says so and links to the last page,
    not to the one before it. `path`: the page the links go to, when this request's is not it
    (a form's POST shown again with its refusal)."""
    pages = max(1, math.ceil(listing.get("total", 0) / max(1, listing.get("per_page", 20))))
    page = listing.get("page", 1)
    args = {k: v for k, v in request.args.items() if k != param and v}

    def link(number: int) -> str:
        return (path or request.path) + "?" + urlencode({**args, param: number})

    return {
        "page": page,
        "pages": pages,
        "total": listing.get("total", 0),
        "beyond": page > pages,
        "last": link(pages),
        "previous": link(min(page - 1, pages)) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


def percent(value: Any) -> str:
    try:
        return f"{Decimal(str(value)) * 100:.1f}%".replace(".", ",")
    except (InvalidOperation, ValueError):
        return "—"


def when(value: Any) -> str:
    """A moment the API gives (ISO 8601, UTC) in the shop's time zone (CONSOLE_TIME_ZONE), as
    every page says at its foot."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(shop_zone()).strftime("%d/%m/%Y %H:%M")
    except (ValueError, OverflowError):  # not a moment, or one the zone cannot reach (year 1)
        return str(value)


def shop_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CONSOLE_TIME_ZONE"])


def zone_label() -> str:
    """The shop's time zone as the pages' foot names it: its name and its offset now."""
    offset = datetime.now(shop_zone()).strftime("%z")
    return f"{current_app.config['CONSOLE_TIME_ZONE']} (UTC{offset[:3]}:{offset[3:]})"


def said_error(fid: str, text: str) -> str:
    """A field's error as its paragraph says it (`text`, returned to be written there), noted for
    the page's error summary to link to `fid` in the same words: whatever writes an error
    paragraph says it through here, so the summary misses none, however the paragraph is
    written."""
    g.setdefault("errors_said", []).append((fid, text))
    return text


def errors_said() -> list[tuple[str, str]]:
    """The field errors said so far by the page being rendered (base.html asks once it has
    rendered the body), forgotten once read: a page rendered next in the request starts with
    none."""
    return g.pop("errors_said", [])


def payment_failure(payment: dict) -> str:
    """Why a payment failed: the provider's code in Portuguese (or the code Stripe's words stand
    for), else its words as it gave them."""
    reason = payment.get("failure_reason") or ""
    words = DECLINES.get(payment.get("failure_code") or DECLINED_WORDS.get(reason) or "")
    return words[:1].upper() + words[1:] + "." if words else in_portuguese(reason)


# Between two causes in one payment's review_reason (payments' REVIEW_REASONS_APART).
REVIEW_REASONS_APART = "\n"


def payment_review(payment: dict) -> str | None:
    """Why a payment flagged `needs_review` waits for an admin to look: each cause (payments'
    words, in Portuguese when known here) a sentence; None for one not flagged."""
    if not payment.get("needs_review"):
        return None
    causes = (payment.get("review_reason") or "").split(REVIEW_REASONS_APART)
    return ". ".join(in_portuguese(cause) for cause in causes)


def user_names(user_ids) -> dict[int, str]:
    """Who the users with these ids are, as the signed-in user may know them: the admin reads
    every user's name (auth's admin route), a user their own name and the others' ids."""
    ids = sorted(set(user_ids))
    found = {user_id: f"Usuário #{user_id}" for user_id in ids}
    if session.user and session.user["id"] in found:
        me = session.user
        found[me["id"]] = me.get("name") or me.get("email") or found[me["id"]]
    if session.is_admin and ids:
        for user_id, user in zip(
            ids, api.get_many(*((f"/auth/users/{i}", {}) for i in ids)), strict=True
        ):
            if not isinstance(user, ApiError):
                found[user_id] = user.get("name") or user.get("email") or found[user_id]
    return found


def day(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def service_note(note: str | None, by_a_service: bool) -> str:
    """A note of an order's history or of a stock movement, in Portuguese when a service wrote it
    (`by_a_service`: messages.NOTES); one a person typed as typed."""
    if not note:
        return ""
    return note_in_portuguese(note) if by_a_service else note


def security_headers(response):
    """The console's own policy; `nosniff` and `X-Frame-Options: DENY` come from the kit, as for
    every service (services/kit/web.py `not_sniffed_nor_framed`)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        # Pages hold what only this user may read: never kept by a shared cache or the back button.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_pages(app: Flask) -> None:
    from . import account, admin, catalogue, dashboard, sales  # noqa: F401 (routes)

    app.register_blueprint(bp)
    # Werkzeug's own slash redirect is absolute, built from the Host nginx passes on (no port):
    # this one is relative, so /console lands on /console/ wherever the gateway listens.
    app.add_url_rule(
        "/console", "console_root", lambda: redirect(url_for("console.dashboard"), 308)
    )
    app.after_request(security_headers)
    app.jinja_env.filters.update(
        brl=brl,
        number=number,
        percent=percent,
        when=when,
        day=day,
        service_note=service_note,
        offered=offered,
    )
    app.jinja_env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        RUN_STATUS_LABELS=RUN_STATUS_LABELS,
        NOTIFICATION_STATUS_LABELS=NOTIFICATION_STATUS_LABELS,
        CHANNEL_LABELS=CHANNEL_LABELS,
        TEMPLATE_LABELS=TEMPLATE_LABELS,
        PAYMENT_STATUS_LABELS=PAYMENT_STATUS_LABELS,
        PAYMENT_METHOD_LABELS=PAYMENT_METHOD_LABELS,
        payment_failure=payment_failure,
        payment_review=payment_review,
        zone_label=zone_label,
        said_error=said_error,
        errors_said=errors_said,
    )

    @app.context_processor
    def who():
        return {
            "user": getattr(session, "user", None),
            "is_admin": getattr(session, "is_admin", False),
        }

    @app.errorhandler(SignedOut)
    def signed_out(_exc):
        return to_sign_in(ended=True)

    @app.errorhandler(FormShown)
    def form_shown(exc: FormShown):
        return exc.response

    @app.errorhandler(ApiError)
    def api_refused(exc: ApiError):
        status = exc.status if exc.status in ERROR_TITLES else 503
        return error_page(status, exc.reason, exc.problem.get("request_id"))

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError):
        if getattr(session, "user", None) is None and request.endpoint not in SIGNED_OUT_FORMS:
            # A signed-in page's form after the session ended (its CSRF token went with it).
            return to_sign_in(ended=True)
        return error_page(400, "O formulário expirou ou não veio desta página. Tente de novo.")

    @app.errorhandler(HTTPException)
    def html_error(exc: HTTPException):
        if not request.path.startswith("/console"):
            return http_problem(exc)
        return error_page(exc.code or 500, "")

    @app.errorhandler(Problem)
    def problem(exc: Problem):
        return error_page(exc.status, in_portuguese(exc.detail or ""))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        """A failure of the console's own: the kit's (rolled back, logged with the request id),
        and on a console page a page for a person instead of its problem+json."""
        answer = unexpected_problem(exc)
        if not request.path.startswith("/console"):
            return answer
        return error_page(500, "Algo falhou do nosso lado. Tente de novo em instantes.")

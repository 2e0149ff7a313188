"""What runs: every Feira service declared once. Read this file to learn the whole system.

Everything else derives from it: the supervisor programs and docker-compose services, the nginx
upstreams and routes, the Postgres roles and schemas, who hears whose events, the fuzz targets,
the migration test and the monitoring targets. `stack/tests/test_registry.py` fails when any of
them disagrees. Adding a service is a folder under `services/`, one entry below and its
migrations (README: "Adding a service").

This module is data only: it imports nothing of Feira, so the kit, the stack, the fuzzer and the
monitoring worker may all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Internal:
    """A route prefix only other services call, never through the gateway (which answers 404),
    and only with the credential of one of `callers`."""

    prefix: str
    callers: tuple[str, ...]


@dataclass(frozen=True)
class Worker:
    """A long-running process of the service besides its web app: a Flask CLI command."""

    name: str
    command: tuple[str, ...]
    # Prefixes of the settings only this worker gets (a webhook URL may carry a token of its own);
    # no other process of the stack is passed them...
    settings: tuple[str, ...] = ()
    # ...but for these, which its service's own processes (web app, relay) read too.
    shared: tuple[str, ...] = ()
    # It goes through the gateway as a signed-in user: it gets GATEWAY_URL and the sign-in account.
    through_gateway: bool = False
    # Its service's route that is 503 while the worker does not do its work (a queue it does not
    # take from): the monitoring target `<service>-<worker>` checks it, as `<service>-relay`
    # checks `/health/outbox` of each service that emits (monitoring/targets.yaml).
    health: str = ""


@dataclass(frozen=True)
class LargeBody:
    """A route that takes larger bodies than the gateway's default; the service enforces the same
    setting itself."""

    pattern: str
    setting: str
    default: int


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    purpose: str
    # The package whose create_app() builds the web app.
    package: str = ""
    # Path prefixes the gateway routes to it, behind auth_request unless `public`.
    prefixes: tuple[str, ...] = ()
    # Public paths: the gateway sends them on without a token (a dashboard, a webhook). A whole
    # prefix ("status"), or a sub-path of one of `prefixes` ("payments/webhooks"): only what is
    # under it is public, the rest of the prefix stays behind auth_request.
    public: tuple[str, ...] = ()
    # The OpenAPI document, as the gateway serves it.
    document: str = ""
    # Event types it writes to its outbox (a relay delivers them) and event types it handles.
    emits: tuple[str, ...] = ()
    hears: tuple[str, ...] = ()
    # The services it calls over HTTP (`service("name")`, with their `NAME_URL`, which the stack
    # gives every process); stack/tests/test_registry.py holds the code to this list.
    calls: tuple[str, ...] = ()
    internal: tuple[Internal, ...] = ()
    workers: tuple[Worker, ...] = ()
    large_bodies: tuple[LargeBody, ...] = ()
    # Checked by the monitoring worker's health pair (direct and through the gateway).
    monitored: bool = True
    # Its web app calls the others through the gateway with its signed-in users' tokens, as an API
    # client does (the console): it gets GATEWAY_URL. Its `calls` are then only the internal
    # routes it uses directly, with its own credential.
    through_gateway: bool = False
    # Paths of its public pages where a browser sends a password (the console's sign-in): the
    # gateway limits their POSTs per address, as it limits /auth/login.
    password_forms: tuple[str, ...] = ()
    # Its public pages are read by a person (the console): what the gateway answers there itself
    # (a body too large, a throttled form, the service down) is a page, not the API's
    # problem+json (gateway/templates/errors.conf.j2).
    pages_for_people: bool = False

    @property
    def schema(self) -> str:
        """Its Postgres schema, and the login role that alone may use it."""
        return self.name

    @property
    def module(self) -> str:
        return self.package or f"services.{self.name}"

    @property
    def has_relay(self) -> bool:
        return bool(self.emits)

    @property
    def has_outbox(self) -> bool:
        """It signs the events it emits or checks those it hears: it holds the outbox secret."""
        return bool(self.emits or self.hears)

    @property
    def env_prefix(self) -> str:
        return self.name.upper()


# In an internal route's callers: every service the gateway sends through auth_request (it has
# `prefixes`) but the route's own, whose bearer tokens it checks with that route.
BEHIND_AUTH_REQUEST = "<every service behind auth_request>"

DECLARED: tuple[Service, ...] = (
    Service(
        "auth",
        5001,
        "users, sign-in, rotating refresh sessions, the token verifier the gateway asks",
        prefixes=("auth",),
        document="/auth/openapi.json",
        # The gateway's auth_request, and every service behind it (one with `prefixes`): each
        # checks a session itself when no fresh assertion came with the request
        # (services/kit/security.py: SessionCheck). Named at the end of this file, from the
        # entries below, so a new service behind auth_request is one of them.
        internal=(
            Internal("/auth/verify", callers=("gateway", BEHIND_AUTH_REQUEST)),
            # The console's sign-in and sign-up forms: the console vouches for the browser's
            # address, so auth's throttles count each browser, not the console.
            Internal("/auth/vouched", callers=("console",)),
        ),
    ),
    Service(
        "clients",
        5002,
        "clients (CPF-checked), their addresses and favorite products",
        prefixes=("clients",),
        document="/clients/openapi.json",
        emits=(
            "client.created",
            "client.deleted",
            "address.created",
            "address.updated",
            "address.deleted",
        ),
        hears=("product.deleted",),
        # notifications: a client's message history, asked with the caller's token.
        calls=("products", "orders", "notifications"),
        # How notifications reaches a client (name, e-mail, phone unmasked, opt-in).
        internal=(Internal("/clients/contacts", callers=("notifications",)),),
    ),
    Service(
        "products",
        5003,
        "the catalogue: products, categories, pictures, the bulk import",
        prefixes=("products", "categories"),
        document="/products/openapi.json",
        emits=("product.created", "product.updated", "product.deleted"),
        # Stock figures for the catalogue; orders' paid and cancelled lines for `popularity`.
        hears=("stock.changed", "order.paid", "order.cancelled"),
        calls=("inventory", "orders"),
        # The collector's door: the import's upsert, and the pictures it downloaded.
        internal=(Internal("/products/collected", callers=("collector",)),),
        large_bodies=(LargeBody(r"^/products/[0-9]+/images$", "IMAGE_MAX_BYTES", 5242880),),
    ),
    Service(
        "inventory",
        5004,
        "stock per product, its ledger, clients' holdings, orders' reservations",
        prefixes=("inventory",),
        document="/inventory/openapi.json",
        emits=("stock.changed",),
        hears=(
            "product.created",
            "product.deleted",
            "client.deleted",
            "order.abandoned",
            "order.delivered",
        ),
        calls=("clients", "products"),
        internal=(Internal("/inventory/reservations", callers=("orders",)),),
    ),
    Service(
        "orders",
        5005,
        "orders: stock reserved when placed, the status workflow, sales reports",
        prefixes=("orders",),
        document="/orders/openapi.json",
        # order.paid/shipped/delivered/cancelled carry {order_id, client_id, total, status, note}
        # (notifications tells the client); order.paid and order.cancelled also their lines
        # {product_id, quantity} (products counts units sold); order.updated (an edited pending
        # order) the same facts, its new total for payments.
        emits=(
            "order.abandoned",
            "order.paid",
            "order.shipped",
            "order.delivered",
            "order.cancelled",
            "order.updated",
        ),
        # Its read model of clients, addresses and products (services/orders/known.py); it calls
        # clients and products only for an id the model does not hold yet. payments' events pay
        # a pending order or cancel it, and record what went back of the payment that paid it
        # (services/orders/payments.py).
        hears=(
            "client.created",
            "client.deleted",
            "address.created",
            "address.updated",
            "address.deleted",
            "product.created",
            "product.updated",
            "product.deleted",
            "payment.succeeded",
            "payment.expired",
            "payment.refunded",
        ),
        calls=("clients", "products", "inventory"),
    ),
    Service(
        "monitoring",
        5006,
        "the availability dashboard at /status and the worker that checks every target",
        package="monitoring",
        public=("status",),
        document="/status/api/openapi.json",
        workers=(
            Worker(
                "worker",
                ("worker",),
                settings=("MONITOR_", "WEBHOOK_"),
                through_gateway=True,
            ),
        ),
        monitored=False,
    ),
    Service(
        "payments",
        5007,
        "card and PIX payments through a Stripe-protocol provider, its signed webhooks, refunds",
        prefixes=("payments",),
        # The provider's webhooks carry no bearer: the signature on the raw body is their proof.
        public=("payments/webhooks",),
        document="/payments/openapi.json",
        emits=("payment.succeeded", "payment.failed", "payment.refunded", "payment.expired"),
        # A cancelled order's succeeded payment is refunded in full; an open payment whose
        # amount an edited order's total no longer is gets cancelled (or refunded), and so does
        # every open payment of a paid order other than the one that paid it (all of them when
        # an admin marked it paid by hand).
        hears=("order.cancelled", "order.updated", "order.paid"),
        # The order's total and status, read with the caller's token.
        calls=("orders",),
    ),
    Service(
        "notifications",
        5008,
        "order messages to clients on WhatsApp (Cloud API protocol) or e-mail, tracked to delivery",
        prefixes=("notifications",),
        # WhatsApp's status webhooks carry no bearer: X-Hub-Signature-256 on the raw body is
        # their proof (and the GET handshake its verify token).
        public=("notifications/webhooks",),
        document="/notifications/openapi.json",
        hears=(
            "order.paid",
            "order.shipped",
            "order.delivered",
            "order.cancelled",
            "payment.failed",
            # A collector run that failed or was partial: an e-mail to COLLECTOR_ALERT_TO.
            "collector.run.finished",
        ),
        # A client's name, e-mail, phone and opt-in, read when a message is sent.
        calls=("clients",),
        # Sends the queued messages (services/notifications/notifications.py); its retry
        # settings (NOTIFY_MAX_ATTEMPTS, NOTIFY_RETRY_BASE_S) are its alone.
        workers=(Worker("sender", ("sender",), settings=("NOTIFY_",), health="/health/queue"),),
    ),
    Service(
        "collector",
        5009,
        "products gathered from shop pages (politely, on a schedule) and sent to the catalogue",
        prefixes=("collector",),
        document="/collector/openapi.json",
        # {run_id, source_id, source_name, status, error, pages_fetched, created, updated,
        # unchanged, rejected}: notifications mails the admins when a run failed or was partial.
        emits=("collector.run.finished",),
        # products' internal door (/products/collected), with the collector's own credential.
        calls=("products",),
        # Takes queued runs and starts scheduled ones (services/collector/worker.py); its
        # settings (fetching, SSRF allow-list, contact URL) are its alone, but for the allow-list,
        # which the web app reads too (a start URL naming a private address literally is refused
        # when the source is saved). Named one by one: COLLECTOR_ is also the prefix of the
        # service's port, password, key and alert address.
        workers=(
            Worker(
                "worker",
                ("worker",),
                settings=(
                    "COLLECTOR_CONTACT_URL",
                    "COLLECTOR_ALLOWED_PRIVATE_HOSTS",
                    "COLLECTOR_CONNECT_TIMEOUT_S",
                    "COLLECTOR_READ_TIMEOUT_S",
                    "COLLECTOR_TOTAL_TIMEOUT_S",
                    "COLLECTOR_MAX_",
                    "COLLECTOR_IMAGE_MAX_BYTES",
                    "COLLECTOR_CONCURRENCY",
                    "COLLECTOR_POLL_S",
                ),
                shared=("COLLECTOR_ALLOWED_PRIVATE_HOSTS",),
                health="/health/queue",
            ),
        ),
    ),
    Service(
        "console",
        5010,
        "the back office in a browser: server-side sessions, pages over the API, KPI charts",
        # Public at the gateway: it signs its users in itself (a session cookie, never a token
        # in the browser) and calls the API through the gateway with their tokens.
        public=("console",),
        through_gateway=True,
        # Signing in and up: auth's internal /auth/vouched, with the browser's address.
        calls=("auth",),
        password_forms=("/console/login", "/console/register"),
        pages_for_people=True,
        # A product's form with its picture, and a picture added later: as large as products
        # takes a picture (the console's own form fields are a few hundred bytes more).
        large_bodies=(
            LargeBody(r"^/console/products/(new|[0-9]+/images)$", "IMAGE_MAX_BYTES", 5242880),
        ),
    ),
)


def _named(route: Internal, owner: str) -> Internal:
    """`route` with BEHIND_AUTH_REQUEST spelled out as the services it stands for."""
    callers: list[str] = []
    for caller in route.callers:
        if caller == BEHIND_AUTH_REQUEST:
            callers += [s.name for s in DECLARED if s.prefixes and s.name != owner]
        else:
            callers.append(caller)
    return replace(route, callers=tuple(callers))


SERVICES: tuple[Service, ...] = tuple(
    replace(s, internal=tuple(_named(route, s.name) for route in s.internal)) for s in DECLARED
)
BY_NAME: dict[str, Service] = {service.name: service for service in SERVICES}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def subscribers(producer: str) -> tuple[str, ...]:
    """The services that hear at least one event `producer` emits, in registry order."""
    emitted = set(BY_NAME[producer].emits)
    return tuple(s.name for s in SERVICES if s.name != producer and emitted & set(s.hears))


def internal_callers(service: str) -> dict[str, tuple[str, ...]]:
    """Internal route prefix → the services allowed to call it."""
    return {route.prefix: route.callers for route in BY_NAME[service].internal}


__all__ = ["BY_NAME", "NAMES", "SERVICES", "Internal", "LargeBody", "Service", "Worker"]

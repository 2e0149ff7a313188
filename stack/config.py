"""The stack's settings: `.env.example` < `.env` < `$FEIRA_ENV_FILE` < the process environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from services.kit.keys import replace_file
from services.registry import SERVICES

ROOT = Path(__file__).resolve().parent.parent
SERVICE_PORT_DEFAULTS = {service.name: service.port for service in SERVICES}
# The payment provider's API key and webhook secret, generated with Stripe's prefixes.
PROVIDER_SECRETS = {"PAYMENTS_PROVIDER_SECRET_KEY": "sk_test_", "PAYMENTS_WEBHOOK_SECRET": "whsec_"}
# WhatsApp Cloud API's bearer token, the app secret that signs its webhooks and the verify token of
# the webhook handshake: notifications' processes (and the WhatsApp stand-in) alone hold them.
WHATSAPP_SECRETS = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")
# The mail settings (services/kit/mail.py): notifications' processes and monitoring's worker only.
# SCALE: the most copies of each process, and how far apart the copies' ports are.
MAX_SCALE = 9
COPY_PORT_STEP = 100
MAIL_SETTINGS = (
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "MAIL_FROM",
)


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_environment() -> dict[str, str]:
    merged = parse_env_file(ROOT / ".env.example")
    merged.update(parse_env_file(ROOT / ".env"))
    extra = os.environ.get("FEIRA_ENV_FILE")
    if extra:
        merged.update(parse_env_file(ROOT / extra))
    merged.update({k: v for k, v in os.environ.items() if k in merged or k.startswith("FEIRA_")})
    return merged


def present_services() -> list[str]:
    """The registry's services whose package exists, in registry order: a service declared before
    its code is written stays out of the stack until it is."""
    return [
        service.name
        for service in SERVICES
        if (ROOT.joinpath(*service.module.split(".")) / "__init__.py").exists()
    ]


@dataclass
class StackConfig:
    env: dict[str, str]
    services: list[str] = field(default_factory=present_services)

    @classmethod
    def load(cls) -> StackConfig:
        return cls(load_environment())

    def get(self, key: str, default: str = "") -> str:
        return self.env.get(key) or default

    @property
    def apps(self) -> list[str]:
        """Every service (monitoring included): each a Flask app with a schema of its own,
        migrations and metrics. The same list as `services`, kept for its callers."""
        return list(self.services)

    @property
    def run_dir(self) -> Path:
        path = Path(self.get("FEIRA_RUN_DIR", ".run"))
        return path if path.is_absolute() else ROOT / path

    @property
    def media_dir(self) -> Path:
        """Product pictures: written by products, served by the gateway at /media/."""
        path = Path(self.get("FEIRA_MEDIA_DIR") or self.run_dir / "media")
        return path if path.is_absolute() else ROOT / path

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def gateway_port(self) -> int:
        return int(self.get("FEIRA_GATEWAY_PORT", "8080"))

    @property
    def pg_port(self) -> int:
        return int(self.get("FEIRA_PG_PORT", "5433"))

    @property
    def pg_durable(self) -> bool:
        """Does the stack's PostgreSQL wait for the disk at every commit (`FEIRA_PG_DURABLE`,
        true unless `false`)? The test stacks, cleaned before every run, do not
        (services.kit.postgres.NOT_DURABLE)."""
        raw = self.get("FEIRA_PG_DURABLE", "true")
        if raw not in ("true", "false"):
            raise SystemExit(f"FEIRA_PG_DURABLE must be true or false, not {raw!r}")
        return raw == "true"

    @property
    def database(self) -> str:
        return self.get("FEIRA_DATABASE", "feira")

    def port(self, service: str) -> int:
        return int(self.get(f"{service.upper()}_PORT", str(SERVICE_PORT_DEFAULTS[service])))

    def service_url(self, service: str) -> str:
        return f"http://{self.host}:{self.port(service)}"

    @property
    def scale(self) -> int:
        """How many copies of each service's web app, relay and workers run (`FEIRA_SCALE`,
        `make up SCALE=2`); 1 unless set: the stack as it always was."""
        raw = self.get("FEIRA_SCALE", "1")
        try:
            value = int(raw)
        except ValueError:
            raise SystemExit(
                f"FEIRA_SCALE must be a whole number from 1 to 9, not {raw!r}"
            ) from None
        if not 1 <= value <= MAX_SCALE:
            raise SystemExit(f"FEIRA_SCALE must be a whole number from 1 to 9, not {raw!r}")
        return value

    def ports(self, service: str) -> list[int]:
        """The port of each copy of a service's web app: its own port for the first, then
        `COPY_PORT_STEP` more for each next one (clients: 5002, 5102, 5202)."""
        return [self.port(service) + COPY_PORT_STEP * k for k in range(self.scale)]

    def service_urls(self, service: str) -> str:
        """Every copy's base URL, comma-separated: a service's `NAME_URLS` (services/kit), which
        its client tries in turn when a copy does not take the connection."""
        return ",".join(f"http://{self.host}:{port}" for port in self.ports(service))

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def public_url(self) -> str:
        """Where people reach the stack, for links it sends out (the incident mails'): its
        gateway."""
        return self.gateway_url

    @property
    def standins(self) -> set[str]:
        """The third parties whose stand-in the stack runs (`FEIRA_STANDINS`, comma-separated;
        see standins/__init__.py): test infrastructure, never behind the gateway."""
        return {name.strip().lower() for name in self.get("FEIRA_STANDINS").split(",")} - {""}

    @property
    def stripe_standin_url(self) -> str:
        return f"http://{self.host}:{self.get('STRIPE_STANDIN_PORT', '5090')}"

    def standin_overrides(self) -> dict[str, str]:
        """The settings a stand-in FEIRA_STANDINS lists decides, whatever .env says: the
        provider's API base (stripe), Meta's (whatsapp) and the SMTP server (smtp: the sink, no
        login, no STARTTLS). A stack that lists a stand-in (the test stack's test.env lists them
        all) then never reaches the real party with a developer's .env; to reach it, drop it
        from FEIRA_STANDINS."""
        values: dict[str, str] = {}
        if "stripe" in self.standins:
            values["PAYMENTS_PROVIDER_URL"] = self.stripe_standin_url
        if "whatsapp" in self.standins:
            values["WHATSAPP_API_URL"] = f"http://{self.host}:{self.whatsapp_standin_port}"
        if "smtp" in self.standins:
            values.update(
                SMTP_HOST=self.host,
                SMTP_PORT=str(self.smtp_standin_ports[0]),
                SMTP_USER="",
                SMTP_PASSWORD="",
                SMTP_STARTTLS="false",
            )
        return values

    def standin_secrets(self) -> list[str]:
        """The secrets a listed stand-in shares with the service it stands in for: the provider's
        key and webhook secret (stripe), Meta's token, app secret and verify token (whatsapp).
        The stack's generated ones, whatever .env says: a real party's never reaches a stand-in,
        nor a service talking to one."""
        names: list[str] = []
        if "stripe" in self.standins:
            names.extend(PROVIDER_SECRETS)
        if "whatsapp" in self.standins:
            names.extend(WHATSAPP_SECRETS)
        return names

    def overridden_settings(self) -> list[str]:
        """The names (never the values) of the settings given for a real party that a listed
        stand-in takes the place of: `make up` says so."""
        return [
            key
            for key, value in self.standin_overrides().items()
            if self.get(key) and self.get(key) != value
        ] + [key for key in self.standin_secrets() if self.get(key)]

    def payments_provider(self) -> dict[str, str]:
        """What the payments service's processes use to reach the provider: its API base (the
        Stripe stand-in's when FEIRA_STANDINS lists it, else `PAYMENTS_PROVIDER_URL`), key and
        secret."""
        url = self.standin_overrides().get("PAYMENTS_PROVIDER_URL") or self.get(
            "PAYMENTS_PROVIDER_URL"
        )
        stored = self.secrets()
        return {
            **({"PAYMENTS_PROVIDER_URL": url} if url else {}),
            **{key: stored[key] for key in PROVIDER_SECRETS},
        }

    def stripe_standin_settings(self) -> dict[str, str]:
        """The stand-in's settings: its port, the provider key and webhook secret payments
        uses, where it sends webhooks (the gateway's public route, as real Stripe reaches the
        public URL) and the PIX key in its codes."""
        stored = self.secrets()
        return {
            "STRIPE_STANDIN_PORT": self.get("STRIPE_STANDIN_PORT", "5090"),
            "STRIPE_STANDIN_WEBHOOK_URL": self.get(
                "STRIPE_STANDIN_WEBHOOK_URL", f"{self.gateway_url}/payments/webhooks/stripe"
            ),
            "STRIPE_STANDIN_PIX_KEY": self.get("STRIPE_STANDIN_PIX_KEY", "pix@feira.local"),
            **{key: stored[key] for key in PROVIDER_SECRETS},
        }

    @property
    def whatsapp_standin_port(self) -> int:
        return int(self.get("WHATSAPP_STANDIN_PORT", "5091"))

    @property
    def smtp_standin_ports(self) -> tuple[int, int]:
        """The SMTP sink's SMTP port and its HTTP read-back's."""
        return (
            int(self.get("SMTP_STANDIN_PORT", "5025")),
            int(self.get("SMTP_STANDIN_HTTP_PORT", "5026")),
        )

    def whatsapp(self) -> dict[str, str]:
        """What notifications' processes use to reach WhatsApp's Cloud API: the API base (the
        stand-in's when FEIRA_STANDINS lists it, else `WHATSAPP_API_URL`), version, phone number
        id, the other `WHATSAPP_*` settings given, and the token, app secret and verify token."""
        given = {
            key: value
            for key, value in self.env.items()
            if key.startswith("WHATSAPP_")
            and not key.startswith("WHATSAPP_STANDIN_")
            and key not in WHATSAPP_SECRETS
            and value
        }
        url = self.standin_overrides().get("WHATSAPP_API_URL") or self.get("WHATSAPP_API_URL")
        given.pop("WHATSAPP_API_URL", None)
        stored = self.secrets()
        return {
            **given,
            **({"WHATSAPP_API_URL": url} if url else {}),
            "WHATSAPP_API_VERSION": self.get("WHATSAPP_API_VERSION", "21.0"),
            "WHATSAPP_PHONE_NUMBER_ID": self.get("WHATSAPP_PHONE_NUMBER_ID", "100000000000001"),
            **{key: stored[key] for key in WHATSAPP_SECRETS},
        }

    def whatsapp_standin_settings(self) -> dict[str, str]:
        """The WhatsApp stand-in's settings: its port, the token it accepts and the app secret
        it signs with (notifications' own), the phone number id, where it sends status webhooks
        (the gateway's public route, as Meta reaches the public URL), the numbers whose messages
        fail and the delay between statuses. Not the verify token: the handshake is Meta's
        console's, not the API's."""
        stored = self.secrets()
        return {
            "WHATSAPP_STANDIN_PORT": str(self.whatsapp_standin_port),
            "WHATSAPP_PHONE_NUMBER_ID": self.get("WHATSAPP_PHONE_NUMBER_ID", "100000000000001"),
            "WHATSAPP_STANDIN_WEBHOOK_URL": self.get(
                "WHATSAPP_STANDIN_WEBHOOK_URL",
                f"{self.gateway_url}/notifications/webhooks/whatsapp",
            ),
            "WHATSAPP_STANDIN_REJECT_NUMBERS": self.get(
                "WHATSAPP_STANDIN_REJECT_NUMBERS", "5511900000000"
            ),
            "WHATSAPP_STANDIN_STATUS_DELAY_S": self.get("WHATSAPP_STANDIN_STATUS_DELAY_S", "0.2"),
            "WHATSAPP_ACCESS_TOKEN": stored["WHATSAPP_ACCESS_TOKEN"],
            "WHATSAPP_APP_SECRET": stored["WHATSAPP_APP_SECRET"],
        }

    def mail(self) -> dict[str, str]:
        """The SMTP client's settings (services/kit/mail.py) for notifications and monitoring's
        worker: the SMTP sink's when FEIRA_STANDINS lists it (only `MAIL_FROM` is taken from
        the settings then), else the `SMTP_*` settings; the empty optional ones (user,
        password) are left out."""
        values = {key: self.get(key) for key in MAIL_SETTINGS}
        values.update({k: v for k, v in self.standin_overrides().items() if k in MAIL_SETTINGS})
        values = {key: value for key, value in values.items() if value}
        values.setdefault("SMTP_HOST", self.host)
        values.setdefault("MAIL_FROM", "Feira <no-reply@feira.local>")
        values.setdefault("SMTP_STARTTLS", "false")
        return values

    @property
    def private_key_path(self) -> Path:
        return self.run_dir / "keys" / "jwt_private.pem"

    @property
    def public_key_path(self) -> Path:
        return self.run_dir / "keys" / "jwt_public.pem"

    def secrets(self) -> dict[str, str]:
        """A password per service role (`<NAME>_DB_PASSWORD`), the `OUTBOX_SECRET` that signs
        events, the service credential keys (`<NAME>_SERVICE_KEY`), the monitor's
        `FEIRA_MONITOR_PASSWORD`, the payment provider's API key and webhook secret (shared
        with the Stripe stand-in; real Stripe's are set in .env) and WhatsApp's token, app secret
        and verify token (the first two shared with its stand-in; Meta's are set in .env), from
        the environment or generated once into `.run/secrets.env` (mode 600): no secret lives in
        the repository. While FEIRA_STANDINS lists stripe or whatsapp, their secrets are never
        the environment's (standin_secrets)."""
        path = self.run_dir / "secrets.env"
        stored = parse_env_file(path)
        keys = [f"{service.upper()}_DB_PASSWORD" for service in self.services]
        values = {}
        for key in [*keys, *self.service_key_names(), "OUTBOX_SECRET", "FEIRA_MONITOR_PASSWORD"]:
            values[key] = self.env.get(key) or stored.get(key) or secrets.token_hex(16)
        # The console's: signs its CSRF tokens and encrypts the API tokens its sessions keep.
        values["CONSOLE_SECRET_KEY"] = (
            self.env.get("CONSOLE_SECRET_KEY")
            or stored.get("CONSOLE_SECRET_KEY")
            or secrets.token_urlsafe(32)
        )
        for key, prefix in PROVIDER_SECRETS.items():
            values[key] = self._third_party_secret(key, stored) or prefix + secrets.token_hex(16)
        for key in WHATSAPP_SECRETS:
            values[key] = self._third_party_secret(key, stored) or secrets.token_hex(24)
        if values != {k: stored.get(k) for k in values}:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(f"{k}={v}\n" for k, v in sorted({**stored, **values}.items()))
            replace_file(path, text, 0o600)
        return values

    def _third_party_secret(self, key: str, stored: dict[str, str]) -> str | None:
        """A provider's or Meta's secret: the setting, else the stored one; for one a listed
        stand-in decides (standin_secrets) the stored one only, and not if it is the setting's
        (stored by a run before the stand-in won over .env's secrets: a real party's)."""
        given = self.env.get(key)
        if key not in self.standin_secrets():
            return given or stored.get(key)
        kept = stored.get(key)
        return kept if kept and kept != given else None

    def service_key_names(self) -> list[str]:
        """`<NAME>_SERVICE_KEY` of each service that calls another's internal routes, and of the
        gateway (auth's verifier): it signs its credential with it (services/kit/security.py)."""
        from services.registry import SERVICES

        callers = {name for s in SERVICES for route in s.internal for name in route.callers}
        names = [*self.services, "gateway"]
        return [f"{name.upper()}_SERVICE_KEY" for name in names if name in callers]

    def gateway_credential(self) -> str:
        """What nginx sends auth's verifier as its credential: it cannot sign, so its key as it
        is (kit.security.STATIC_CALLERS). Only the rendered nginx.conf (mode 600) holds it."""
        key = self.env.get("GATEWAY_SERVICE_KEY") or self.secrets()["GATEWAY_SERVICE_KEY"]
        return f"gateway.{key}"

    def service_keys(self, service: str) -> dict[str, str]:
        """The credential keys a service's processes hold: its own, if it calls internal routes,
        and its internal routes' callers', to check theirs. No process holds any other."""
        from services.registry import BY_NAME

        routes = BY_NAME[service].internal if service in BY_NAME else ()
        names = {service} | {name for route in routes for name in route.callers}
        stored = self.secrets()
        wanted = [f"{name.upper()}_SERVICE_KEY" for name in sorted(names)]
        return {key: stored[key] for key in wanted if key in stored}

    def monitor_account(self) -> dict[str, str]:
        """The least-privilege `user` the monitoring worker signs in with: `make up` creates it
        (auth's `ensure-user`), its password generated once like the other secrets."""
        return {
            "FEIRA_MONITOR_EMAIL": self.get("FEIRA_MONITOR_EMAIL", "monitor@feira.local"),
            "FEIRA_MONITOR_PASSWORD": self.secrets()["FEIRA_MONITOR_PASSWORD"],
        }

    def db_passwords(self) -> dict[str, str]:
        values = self.secrets()
        return {s: values[f"{s.upper()}_DB_PASSWORD"] for s in self.services}

    def database_url(self, service: str, password: str) -> str:
        return (
            f"postgresql+psycopg://{service}:{password}@{self.host}:{self.pg_port}/{self.database}"
        )

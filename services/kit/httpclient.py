"""The pooled HTTP client for calls between services: short timeouts, retries only where safe,
and a 503 problem when the other side is down or refuses this service's own credential."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from flask import current_app, g, has_app_context, has_request_context, request
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from .errors import Unavailable
from .security import (
    ASSERTION_HEADER,
    CREDENTIAL_HEADER,
    CREDENTIAL_OUT_OF_TIME,
    CREDENTIAL_PROBLEMS,
    service_credential,
)

log = logging.getLogger("feira.http")
T = TypeVar("T")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float = 0.5,
        read_timeout: float = 3.0,
        retries: int = 2,
    ):
        self.name = name
        # Several copies of the service (SCALE): `url1,url2`. Calls start at the next copy each
        # time, and go on to another when one refuses the connection (nothing was sent).
        self.base_urls = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        self.base_url = self.base_urls[0]
        self._turn = itertools.count()
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        # urllib3 retries a refused connection for any method (nothing was sent), but a dropped
        # connection, a read timeout or a 502/503/504 only for these: a POST may have taken effect.
        self.session = self._session(IDEMPOTENT)
        # For the POSTs that are idempotent by design (`idempotent=True`: inventory's reservations,
        # by order id): a pooled connection the other side closed as it was reused ends the POST
        # unanswered, and it is sent again like a GET.
        self._any_method = self._session(None)  # None: every method

    def _session(self, allowed_methods) -> requests.Session:
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            allowed_methods=allowed_methods,
            status_forcelist=(502, 503, 504),
            backoff_factor=0.05,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=16, max_retries=retry)
        session = requests.Session()
        # Calls between services go straight to the address the stack gave: never through a proxy
        # from the environment, and without requests looking one up (and .netrc) on every call.
        session.trust_env = False
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        forward_auth: bool = True,
        idempotent: bool = False,
        **kwargs,
    ):
        headers = dict(kwargs.pop("headers", None) or {})
        if has_app_context():
            # Who is calling, signed: internal routes answer only the services named for them.
            credential = service_credential(self.name)
            if credential:
                headers.setdefault(CREDENTIAL_HEADER, credential)
        if has_request_context():
            headers.setdefault("X-Request-ID", g.get("request_id", ""))
            if forward_auth and "Authorization" in request.headers:
                headers.setdefault("Authorization", request.headers["Authorization"])
                # auth's word that the token's session is live travels with it, so the next
                # service need not ask auth either (it checks the assertion is fresh itself).
                if ASSERTION_HEADER in request.headers:
                    headers.setdefault(ASSERTION_HEADER, request.headers[ASSERTION_HEADER])
        session = self._any_method if idempotent else self.session
        try:
            response = self._send(session, method, path, headers, kwargs)
        except requests.RequestException as exc:
            log.warning("%s unreachable: %s", self.name, type(exc).__name__)
            raise Unavailable(f"The {self.name} service is unavailable") from exc
        if response.status_code >= 500:
            log.warning("%s answered %s", self.name, response.status_code)
            raise Unavailable(f"The {self.name} service is unavailable")
        refusal = _credential_refusal(response) if response.status_code in (401, 403) else None
        if refusal:
            # Not the caller's token nor the route's answer: this service is misconfigured, and no
            # call of this kind can succeed. Said once here, for every caller.
            me = current_app.config["SERVICE_NAME"] if has_app_context() else "this service"
            if refusal == CREDENTIAL_OUT_OF_TIME:
                # Well signed, so the keys agree: a fresh credential out of the receiver's window
                # means the two hosts' clocks differ by more than it allows.
                log.error(
                    "%s refused %s's service credential as too old or too new: check both clocks",
                    self.name,
                    me,
                )
            else:
                log.error(
                    "%s refused %s's service credential: check %s_SERVICE_KEY on both",
                    self.name,
                    me,
                    me.upper(),
                )
            raise Unavailable(f"The {self.name} service is unavailable")
        return response

    def _send(
        self, session: requests.Session, method: str, path: str, headers: dict, kwargs: dict
    ) -> requests.Response:
        """One copy, or with several the next in turn, and another when a copy refuses the
        connection: the request never reached it, so even a POST may go to the next. A call may
        name its own `timeout` (a sign-in waits for argon2)."""
        kwargs = {"timeout": self.timeout, **kwargs}
        if len(self.base_urls) == 1:
            return session.request(method, self.base_url + path, headers=headers, **kwargs)
        start = next(self._turn)
        order = [
            self.base_urls[(start + k) % len(self.base_urls)] for k in range(len(self.base_urls))
        ]
        for index, base in enumerate(order):
            try:
                return session.request(method, base + path, headers=headers, **kwargs)
            except requests.ConnectionError as exc:
                if index == len(order) - 1 or not _refused(exc):
                    raise
                log.info("%s copy %s refused the connection: trying the next", self.name, base)
        raise AssertionError("unreachable")

    def read(self, response: requests.Response, read: Callable[[Any], T]) -> T:
        """What `read` makes of the service's JSON answer. An answer that is not JSON, or that
        `read` cannot make sense of (a member missing, of the wrong type), is a service not
        answering as it should: Unavailable, a 503 to our client, never a 500."""
        try:
            return read(response.json())
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            log.warning("%s answered something unreadable: %s", self.name, type(exc).__name__)
            raise Unavailable(f"The {self.name} service answered something unreadable") from exc

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs):
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


def _credential_refusal(response: requests.Response) -> str | None:
    """The detail of the kit's own refusal of a service credential (kit.security); None for the
    route's own 401/403."""
    try:
        body = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) and detail in CREDENTIAL_PROBLEMS else None


def _refused(exc: requests.ConnectionError) -> bool:
    """The connection itself failed (refused, or no route): no byte of the request was sent."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError)


def service(name: str) -> ServiceClient:
    """The client for another Feira service, configured by `<NAME>_URL`."""
    return current_app.extensions["feira"].service(name)

"""The console's way to the API: through the gateway, as the signed-in user (their token, from the
session row), exactly as any API client calls it. A refused token is refreshed once; auth refusing
the refresh ends the console session. Signing in and up alone go straight to auth (`vouched`)."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from flask import current_app, g, request, session

from services.kit import Unavailable, service

from . import sessions
from .messages import in_portuguese

log = logging.getLogger("feira.console")


class ApiError(Exception):
    """The API's refusal (its problem+json), or 503 when the gateway cannot be reached."""

    def __init__(self, status: int, problem: dict | None = None):
        super().__init__(status)
        self.status = status
        self.problem = problem or {}

    @property
    def detail(self) -> str:
        """The problem's detail (else its title), in Portuguese where messages.py knows it."""
        return in_portuguese(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def reason(self) -> str:
        """What a flash or a notice says: the fields' own messages when the problem names fields
        (its detail only lists their names), else the detail."""
        return " ".join(text for texts in self.errors.values() for text in texts) or self.detail

    @property
    def key_reused(self) -> bool:
        """The API's 409 for an Idempotency-Key already used with another body (the kit's
        idempotency marks it `key_reused`): no field is wrong, the form's key is spent."""
        return self.status == 409 and self.problem.get("key_reused") is True

    @property
    def message(self) -> str:
        """What a form says above its fields: the fields speak for themselves when named."""
        return "Confira os campos destacados." if self.errors else self.detail

    @property
    def errors(self) -> dict[str, list[str]]:
        """Field → messages, the way forms show them (a nested path's first part names it), in
        Portuguese where messages.py knows the API's text."""
        found: dict[str, list[str]] = {}
        for field, messages in (self.problem.get("errors") or {}).items():
            if isinstance(messages, dict):
                messages = [str(m) for value in messages.values() for m in _flat(value)]
            found.setdefault(str(field).split(".")[0], []).extend(
                in_portuguese(text) for text in _flat(messages)
            )
        return found


def _flat(value: Any) -> list[str]:
    if isinstance(value, list):
        return [text for each in value for text in _flat(each)]
    if isinstance(value, dict):
        return [text for each in value.values() for text in _flat(each)]
    return [str(value)]


def _pooled() -> requests.Session:
    client = requests.Session()
    # Straight to the gateway's address: no proxy from the environment, no .netrc lookups.
    client.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=32)
    client.mount("http://", adapter)
    client.mount("https://", adapter)
    return client


HTTP = _pooled()
# A page's independent reads go out together (get_many): it waits for the slowest, not the sum.
READERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="console-read")


def _send(
    method: str, path: str, token: str | None, timeout: float | None = None, **kwargs
) -> requests.Response:
    return _request(
        current_app.config["GATEWAY_URL"],
        timeout or current_app.config["CONSOLE_API_TIMEOUT_S"],
        g.get("request_id", ""),
        method,
        path,
        token,
        **kwargs,
    )


def _request(
    base: str, timeout: float, request_id: str, method: str, path: str, token: str | None, **kwargs
) -> requests.Response:
    """One call through the gateway; needs no Flask context (get_many runs it in threads)."""
    headers = dict(kwargs.pop("headers", None) or {})
    headers["X-Request-ID"] = request_id
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return HTTP.request(
            method, base.rstrip("/") + path, headers=headers, timeout=(1.0, timeout), **kwargs
        )
    except (requests.exceptions.InvalidJSONError, requests.exceptions.InvalidHeader):
        raise  # a request the console built wrong is its own bug, not the gateway being down
    except requests.RequestException as exc:
        log.warning("the gateway is unreachable: %s", type(exc).__name__)
        raise ApiError(503, {"detail": "O serviço está indisponível."}) from exc


def problem_of(answer: requests.Response) -> dict:
    try:
        body = answer.json()
    except ValueError:
        return {"status": answer.status_code}
    return body if isinstance(body, dict) else {"status": answer.status_code}


def call(method: str, path: str, timeout: float | None = None, **kwargs) -> requests.Response:
    """The signed-in user's call; 401 once → refresh and try again; refused again → signed out.
    `timeout`: how long to wait for the answer, when not CONSOLE_API_TIMEOUT_S."""
    token = sessions.access_token(session)
    answer = _send(method, path, token, timeout, **kwargs)
    if answer.status_code == 401:
        token = sessions.refresh(session, used=token)
        answer = _send(method, path, token, timeout, **kwargs)
        if answer.status_code == 401:
            sessions.end(session)
            raise sessions.SignedOut
    return answer


def checked(answer: requests.Response) -> requests.Response:
    if answer.status_code >= 400:
        raise ApiError(answer.status_code, problem_of(answer))
    return answer


def _clean(params: dict) -> dict:
    return {key: value for key, value in params.items() if value not in (None, "")}


def get(path: str, **params) -> Any:
    return get_tagged(path, **params)[0]


def get_tagged(path: str, **params) -> tuple[Any, str]:
    """`get`, and the answer's ETag ("" when it carries none): what a write of the same resource
    sends back as If-Match, refused (412) when the resource changed since this read."""
    answer = checked(call("GET", path, params=_clean(params)))
    return answer.json(), answer.headers.get("ETag", "")


def get_or_say(path: str, unavailable: str, statuses: tuple[int, ...], **params) -> tuple:
    """`get(path, **params)` and None; or None and `unavailable` (what the page says instead)
    when the answer is one of `statuses` (the service down or slower than the gateway waits, not
    there, or not letting this user read it), for a page that still shows the rest."""
    try:
        return get(path, **params), None
    except ApiError as exc:
        if exc.status not in statuses:
            raise
        return None, unavailable


def get_many(*reads: tuple[str, dict], tagged: bool = False) -> list[Any]:
    """Several GETs at once, each answered by its JSON or by the ApiError it met (the caller
    decides what a missing part means); `tagged`: by its JSON and its ETag, as `get_tagged`
    answers. A 401 among them is tried again alone, through `get` (`get_tagged`), which
    refreshes the token."""
    token = sessions.access_token(session)
    context = (
        current_app.config["GATEWAY_URL"],
        current_app.config["CONSOLE_API_TIMEOUT_S"],
        g.get("request_id", ""),
    )

    def one(read: tuple[str, dict]):
        try:
            return _request(*context, "GET", read[0], token, params=_clean(read[1]))
        except ApiError as exc:
            return exc

    results: list[Any] = []
    for (path, params), answer in zip(reads, READERS.map(one, reads), strict=True):
        if isinstance(answer, ApiError):
            results.append(answer)
        elif answer.status_code == 401:
            try:
                results.append((get_tagged if tagged else get)(path, **params))
            except ApiError as exc:
                results.append(exc)
        elif answer.status_code >= 400:
            results.append(ApiError(answer.status_code, problem_of(answer)))
        elif tagged:
            results.append((answer.json(), answer.headers.get("ETag", "")))
        else:
            results.append(answer.json())
    return results


def send(method: str, path: str, body: Any = None, **kwargs) -> Any:
    if body is not None:
        # UTF-8 as typed, not requests' `json=` (\u escapes): an accented import would triple
        # and pass the API's body limit that its text is within. A lone surrogate (`\ud800`
        # typed as JSON) has no UTF-8: it alone goes as its JSON escape, for the API to refuse
        # on its field.
        kwargs["data"] = json.dumps(body, ensure_ascii=False, allow_nan=False).encode(
            "utf-8", "backslashreplace"
        )
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Content-Type": "application/json"}
    answer = checked(call(method, path, **kwargs))
    if answer.status_code == 204 or not answer.content:
        return None
    return answer.json()


def vouched(action: str, body: dict) -> requests.Response | None:
    """Sign-in and sign-up (`login`, `register`): straight to auth's internal /auth/vouched/...,
    with the console's own credential and the browser's address as the gateway gave it (ProxyFix).
    Auth's throttles then count each browser: through the gateway, every console sign-in came
    from the console's one address, and wrong passwords from anyone blocked everyone's. None
    when auth cannot answer (down, failing, or refusing the console's own credential: the kit's
    client says so in the log)."""
    try:
        return service("auth").post(
            f"/auth/vouched/{action}",
            json={**body, "address": request.remote_addr or "0.0.0.0"},  # noqa: S104 (unknown)
            forward_auth=False,
            timeout=(1.0, current_app.config["CONSOLE_API_TIMEOUT_S"]),
        )
    except Unavailable:
        return None


def refresh_tokens(refresh_token: str) -> dict | None:
    """A new pair, or None when auth refuses the refresh token (logged out, deactivated)."""
    answer = _send("POST", "/auth/refresh", None, json={"refresh_token": refresh_token})
    if answer.status_code == 200:
        return answer.json()
    if answer.status_code >= 500 or answer.status_code == 429:
        raise ApiError(503, problem_of(answer))
    return None

"""The cases: what one request costs through the gateway compared with straight to a service."""

from __future__ import annotations

from .registry import Request, Run, case, ratio


@case("gateway authenticated GET")
def gateway_me(run: Run) -> Request:
    """GET /auth/me through the gateway: auth_request (verify cached 5 s), then auth."""
    return Request(f"{run.cfg.gateway_url}/auth/me", run.bearer())


@case("direct GET")
def direct_me(run: Run) -> Request:
    """GET /auth/me straight to the auth service, with the same token."""
    return Request(f"{run.cfg.service_url('auth')}/auth/me", run.bearer())


@case("gateway public route")
def gateway_health(run: Run) -> Request:
    """GET /health, which nginx answers itself: the gateway's floor."""
    return Request(f"{run.cfg.gateway_url}/health")


@case("gateway public proxied")
def gateway_jwks(run: Run) -> Request:
    """GET /auth/.well-known/jwks.json: proxied to auth without auth_request."""
    return Request(f"{run.cfg.gateway_url}/auth/.well-known/jwks.json")


ratio("gateway authenticated / direct", "gateway authenticated GET", "direct GET", 0.90)

"""The cases: what one request costs through the gateway compared with straight to a service."""

from __future__ import annotations

from .registry import Context, Request, case, ratio


@case("gateway authenticated GET")
def gateway_me(ctx: Context) -> Request:
    """GET /auth/me through the gateway: auth_request (verify cached 5 s), then auth."""
    return Request(f"{ctx.cfg.gateway_url}/auth/me", ctx.bearer())


@case("direct GET")
def direct_me(ctx: Context) -> Request:
    """GET /auth/me straight to the auth service, with the same token."""
    return Request(f"{ctx.cfg.service_url('auth')}/auth/me", ctx.bearer())


@case("gateway public route")
def gateway_health(ctx: Context) -> Request:
    """GET /health, which nginx answers itself: the gateway's floor."""
    return Request(f"{ctx.cfg.gateway_url}/health")


@case("gateway public proxied")
def gateway_jwks(ctx: Context) -> Request:
    """GET /auth/.well-known/jwks.json: proxied to auth without auth_request."""
    return Request(f"{ctx.cfg.gateway_url}/auth/.well-known/jwks.json")


ratio("gateway authenticated / direct", "gateway authenticated GET", "direct GET", 0.90)

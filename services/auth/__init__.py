"""auth: accounts, RS256 tokens with rotating refresh sessions, and the gateway's verifier."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import with_appcontext
from werkzeug.middleware.proxy_fix import ProxyFix

from services.kit import create_service_app
from services.kit.settings import env

from . import passwords
from .models import db


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "auth",
        __name__,
        db=db,
        config=config,
        settings={
            "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=env("ACCESS_TOKEN_MINUTES", 15, int)),
            "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=env("REFRESH_TOKEN_DAYS", 7, int)),
            "REFRESH_REUSE_GRACE_S": env("REFRESH_REUSE_GRACE_S", 30, int),
            "LOGIN_MAX_FAILURES": env("LOGIN_MAX_FAILURES", 5, int),
            "LOGIN_WINDOW_SECONDS": env("LOGIN_WINDOW_SECONDS", 900, int),
            "LOGIN_BLOCK_SECONDS": env("LOGIN_BLOCK_SECONDS", 60, int),
            "LOGIN_EMAIL_MAX_FAILURES": env("LOGIN_EMAIL_MAX_FAILURES", 50, int),
            "LOGIN_EMAIL_SPACING_SECONDS": env("LOGIN_EMAIL_SPACING_SECONDS", 10, int),
            "LOGIN_KNOWN_DAYS": env("LOGIN_KNOWN_DAYS", 90, int),
            "REGISTER_MAX_ATTEMPTS": env("REGISTER_MAX_ATTEMPTS", 20, int),
            "REGISTER_WINDOW_SECONDS": env("REGISTER_WINDOW_SECONDS", 600, int),
            "REGISTER_UNTHROTTLED_ADDRESSES": frozenset(
                filter(None, env("REGISTER_UNTHROTTLED_ADDRESSES", "").replace(" ", "").split(","))
            ),
            **passwords.settings(),
        },
        description="Accounts and tokens. Log in at POST /auth/login, then send "
        "`Authorization: Bearer <access_token>` to every other route.",
    )
    if not app.config.get("JWT_PRIVATE_KEY"):
        raise RuntimeError("auth needs JWT_PRIVATE_KEY_FILE (or JWT_PRIVATE_KEY) to sign tokens")
    passwords.init_app(app)
    from .accounts import ensure_signing_key_published, verified_caller

    ensure_signing_key_published(app.config["JWT_PRIVATE_KEY"], app.config["JWT_PUBLIC_KEY"])
    # Exactly one proxy is trusted: nginx, which overwrites X-Forwarded-For with the address it
    # saw. A client's own X-Forwarded-For never gets through it, so throttles key on a real one.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    from .routes import blp

    # auth checks its own tokens' sessions in its database, not over HTTP to itself.
    app.extensions["feira.sessions"].local = verified_caller

    api.register_blueprint(blp)
    app.cli.add_command(ensure_admin_command)
    app.cli.add_command(ensure_user_command)
    return app


@click.command("ensure-admin")
@with_appcontext
def ensure_admin_command():
    """Create the first admin from FEIRA_ADMIN_EMAIL / FEIRA_ADMIN_PASSWORD (idempotent). An
    existing account is promoted only if its password is that one and no active admin exists;
    else it is left alone, says why, and the command still succeeds. When the password will be
    used (no account holds the email, or no admin is active), a password that is the email, or its
    part before the @, or one easily guessed, is refused (a usage error, exit 2), as registration
    does; otherwise an upgrade's deploy does not stop on it."""
    from sqlalchemy import select

    from services.kit.fields import normalized_email

    from .accounts import ensure_admin
    from .models import User, db

    email, password = env("FEIRA_ADMIN_EMAIL"), env("FEIRA_ADMIN_PASSWORD")
    if not email or not password:
        raise click.UsageError("FEIRA_ADMIN_EMAIL and FEIRA_ADMIN_PASSWORD must be set")
    if len(password) < 8:
        raise click.UsageError("FEIRA_ADMIN_PASSWORD must be at least 8 characters")
    account = select(User.id).where(User.email == normalized_email(email))
    admin = select(User.id).where(User.role == "admin", User.active.is_(True)).limit(1)
    if db.session.scalar(account) is None or db.session.scalar(admin) is None:
        refused_as_registration_would("FEIRA_ADMIN_PASSWORD", password, email)
    user, outcome = ensure_admin(email, password)
    click.echo(f"admin {user.email} {outcome}")


@click.command("ensure-user")
@with_appcontext
@click.option("--role", type=click.Choice(["user", "admin"]), default="user", show_default=True)
@click.option("--name", default="Monitoring", show_default=True)
@click.option("--email-from", default="FEIRA_MONITOR_EMAIL", show_default=True)
@click.option("--password-from", default="FEIRA_MONITOR_PASSWORD", show_default=True)
def ensure_user_command(role, name, email_from, password_from):
    """Create or fix an account the stack uses (by default the monitor's) from the environment:
    the password is read from a variable, never from the command line, where `ps` shows it."""
    from .accounts import ensure_user

    email, password = env(email_from), env(password_from)
    if not email or not password:
        raise click.UsageError(f"{email_from} and {password_from} must be set")
    if len(password) < 8:
        raise click.UsageError(f"{password_from} must be at least 8 characters")
    refused_as_registration_would(password_from, password, email, name)
    user, created = ensure_user(email, password, role, name)
    click.echo(f"{role} {user.email} {'created' if created else 'present'}")


def refused_as_registration_would(variable: str, password: str, email: str, *names: str) -> None:
    """A usage error (exit 2) for a password registration would refuse: the address, or one easily
    guessed. Said without either, the password being the address, or a word of it."""
    from marshmallow import ValidationError

    from services.kit.fields import normalized_email

    from .schemas import check_new_password

    try:
        check_new_password(password, normalized_email(email), *names)
    except ValidationError as refused:
        raise click.UsageError(f"{variable}: {refused.messages[0]}") from None

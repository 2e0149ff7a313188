"""`python -m deploy.kubernetes secrets`: every Secret the manifests reference, with values made
here and now (as `make up` generates .run/secrets.env), as YAML on stdout for `kubectl apply -f -`.
Nothing is written to disk but a scratch directory for the token signing pair, removed at once.

The third parties' values (PAYMENTS_PROVIDER_SECRET_KEY, PAYMENTS_WEBHOOK_SECRET and
WHATSAPP_*: Stripe's and Meta's dashboards) are random here, like the stack's for its stand-ins:
replace them with the real ones (`kubectl create secret generic ... --dry-run=client -o yaml |
kubectl apply -f -`). A Secret that exists is replaced by `kubectl apply`: run it once.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

import yaml

from .manifests import PART_OF, SUPERUSER_SECRET, build

PREFIXES = {"PAYMENTS_PROVIDER_SECRET_KEY": "sk_live_", "PAYMENTS_WEBHOOK_SECRET": "whsec_"}


def secret(name: str, data: dict[str, str], kind: str = "Opaque") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": PART_OF},
        "type": kind,
        "stringData": data,
    }


def main() -> int:
    from services.kit.keys import ensure_keypair

    listed = []
    for name, keys in build().secrets.items():
        if name == SUPERUSER_SECRET:
            data = {"username": "postgres", "password": secrets.token_hex(16)}
            listed.append(secret(name, data, "kubernetes.io/basic-auth"))
        elif name in ("feira-jwt-signing", "feira-jwt-public"):
            continue
        else:
            data = {key: PREFIXES.get(key, "") + secrets.token_hex(16) for key in keys}
            listed.append(secret(name, data))
    with tempfile.TemporaryDirectory() as tmp:
        private, public = Path(tmp) / "jwt_private.pem", Path(tmp) / "jwt_public.pem"
        ensure_keypair(private, public)
        listed.append(secret("feira-jwt-signing", {"jwt_private.pem": private.read_text()}))
        listed.append(secret("feira-jwt-public", {"jwt_public.pem": public.read_text()}))
    print(
        "==> Secrets with fresh values on stdout: pipe them to `kubectl apply -n NAMESPACE -f -`;"
        " set Stripe's and Meta's real values afterwards",
        file=sys.stderr,
    )
    sys.stdout.write(yaml.safe_dump_all(listed, sort_keys=False))
    return 0

"""`python -m deploy.kubernetes [generate|check|secrets]`.

generate  (re)write deploy/kubernetes/base/ from services/registry.py (commit the result)
check     build every overlay with kustomize, validate it against Kubernetes' schemas (strict),
          add up its database connections, look for development values left in production,
          and run the policy check on it: what `make k8s-check` (and so `make test`) runs;
          with --apply OVERLAY (`make k8s-check APPLY=OVERLAY`) that overlay's placeholders
          (REPLACE, example.com) fail it too: run it before applying
secrets   print Secret manifests with freshly generated values for every Secret the manifests
          reference: `python -m deploy.kubernetes secrets | kubectl apply -n feira -f -`
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.kubernetes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", nargs="?", default="generate", choices=("generate", "check", "secrets")
    )
    parser.add_argument(
        "--apply",
        metavar="OVERLAY",
        default=os.environ.get("APPLY") or None,
        help="check: the overlay about to be applied, refused while it holds a placeholder "
        "(default: $APPLY, as `make k8s-check APPLY=production` sets it)",
    )
    args = parser.parse_args(argv)
    if args.command == "generate":
        from .manifests import BASE, build, render, write

        changed = write(render(build()))
        for name in changed:
            print(f"==> wrote {BASE.relative_to(BASE.parents[2]) / name}")
        if not changed:
            print("==> deploy/kubernetes/base is up to date")
        return 0
    if args.command == "check":
        from .check import main as check

        return check(args.apply)
    from .secrets import main as secrets

    return secrets()


if __name__ == "__main__":
    sys.exit(main())

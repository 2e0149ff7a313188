"""Kubernetes manifests for Feira: a kustomize base generated from the service registry
(manifests.py, `python -m deploy.kubernetes`), overlays dev/ and production/ written by hand, and
their checks (check.py, `make k8s-check`). README: "Running on Kubernetes"."""

"""Deployment outside this machine: Kubernetes manifests (deploy/kubernetes)."""

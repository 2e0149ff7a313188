#!/usr/bin/env bash
# Installs what Feira needs from the OS (Python venv, nginx, PostgreSQL) when it is missing,
# or says exactly which command to run when it cannot (not root and no sudo).
set -euo pipefail

missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
  || missing+=(postgresql postgresql-contrib)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Feira needs these packages: ${missing[*]}" >&2
  echo "Run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "then run make up again." >&2
  exit 1
fi
echo "==> installing ${missing[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
# Debian starts the packaged services; Feira runs its own private instances instead.
if command -v service >/dev/null; then
  $sudo service nginx stop >/dev/null 2>&1 || true
fi

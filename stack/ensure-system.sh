#!/usr/bin/env bash
# Installs what Feira needs from the OS when it is missing, for each purpose named (default: up),
# or says exactly which command to run when it cannot (not root and no sudo):
#   up     the Python venv, nginx and PostgreSQL (`make install`, `make up`)
#   test   that, Chromium with its driver for the Robot suite on the dashboard, and promtool
#          (Debian's `prometheus`) to check every /metrics (`make pytest`, `make test`)
#   bench  that, and wrk (`make bench`)
# Usage: bash stack/ensure-system.sh [up|test|bench]...
set -euo pipefail

purposes=("${@:-up}")
# pyproject.toml asks for Python 3.11 or newer: Debian 12 and Ubuntu 24.04 have it as python3.
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Feira needs Python 3.11 or newer as python3; this machine has" \
    "$(python3 --version 2>&1 || echo none) (Debian 12 and Ubuntu 24.04 have 3.11 or newer)." >&2
  exit 1
fi
# Ubuntu names Chromium and its driver otherwise (its debs install the snap).
chromium=chromium
chromium_driver=chromium-driver
os_release="${FEIRA_OS_RELEASE:-/etc/os-release}"
if [ -r "$os_release" ]; then
  while IFS='=' read -r key value; do
    case "$key=$value" in
      ID=*ubuntu* | ID_LIKE=*ubuntu*)
        chromium=chromium-browser
        chromium_driver=chromium-chromedriver
        ;;
    esac
  done <"$os_release"
fi
missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
  || missing+=(postgresql postgresql-contrib)
for purpose in "${purposes[@]}"; do
  case "$purpose" in
    up) ;;
    test)
      command -v chromium >/dev/null || missing+=("$chromium")
      command -v chromedriver >/dev/null || missing+=("$chromium_driver")
      command -v promtool >/dev/null || missing+=(prometheus)
      ;;
    bench) command -v wrk >/dev/null || missing+=(wrk) ;;
    *)
      echo "usage: $0 [up|test|bench]..." >&2
      exit 2
      ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Feira needs these packages: ${missing[*]}" >&2
  echo "Run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "then run make again." >&2
  exit 1
fi
echo "==> installing ${missing[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
# Debian starts the packaged services; Feira runs its own private instances on its own ports.
if command -v service >/dev/null; then
  $sudo service nginx stop >/dev/null 2>&1 || true
  $sudo service postgresql stop >/dev/null 2>&1 || true
  $sudo service prometheus stop >/dev/null 2>&1 || true
fi

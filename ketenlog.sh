#!/usr/bin/env bash
# Entry point for a fresh machine: sets up everything ketenlog needs, then runs it.
#
#   ./ketenlog.sh demo         the whole backbone end to end on local defaults
#   ./ketenlog.sh test         lint, type check and every test (unit, contract, integration)
#   ./ketenlog.sh <command>    any `ketenlog` subcommand (up, down, status, topics, ...)
#
# Set-up, each step skipped when already done: system packages (Java 17, Maven, PostgreSQL,
# Python venv support, and Chromium for the tests; installed with apt-get when running as root),
# a virtual environment in .venv with the project and its pinned packages. Kafka's jars are
# fetched by `ketenlog up`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"

log() { echo "[ketenlog.sh] $*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

pg_bin_present() { compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; }

python_ok() {
  have python3 && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

system_packages() {
  local missing=()
  # The dashboard test renders the page in a real headless Chromium.
  if [ "${1:-}" = test ]; then have chromium || missing+=(chromium); fi
  have java || missing+=(openjdk-17-jre-headless)
  have mvn || missing+=(maven)
  pg_bin_present || missing+=(postgresql)
  python_ok || missing+=(python3 python3-venv python3-pip)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: ${missing[*]}"
    log "install them (e.g. sudo apt-get install -y ${missing[*]}) and run this again"
    exit 1
  fi
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

venv() {
  local stamp="$VENV/.installed" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "creating the virtual environment in .venv and installing the project"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -e '.[dev]' >&2
  echo "$want" > "$stamp"
}

run_tests() {
  local bin="$VENV/bin"
  log "ruff check"; "$bin/ruff" check .
  log "ruff format --check"; "$bin/ruff" format --check .
  log "mypy"; "$bin/mypy"
  log "pytest"; "$bin/pytest" "$@"
}

system_packages "${1:-}"
venv
cmd="${1:-}"
case "$cmd" in
  test) shift; run_tests "$@" ;;
  "") sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  *) exec "$VENV/bin/ketenlog" "$@" ;;
esac

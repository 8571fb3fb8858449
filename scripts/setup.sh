#!/usr/bin/env bash
# Set up Stretch Coach in ./.venv (idempotent). Usage: scripts/setup.sh [extras]
#   extras: comma-separated pip extras, e.g. "test,avatar"
# System packages (Debian): EGL/Mesa for the avatar renderer, Chromium for browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"

need_apt=()
if [[ ",$EXTRAS," == *",test,"* ]]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
  for p in libegl1 libegl-mesa0 libgl1-mesa-dri; do
    dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
  done
  command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)   # PDF export tests
  command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)  # PostgreSQL tests
  # the job-queue tests run real workers behind RabbitMQ (Redis is the other supported broker)
  [[ -x /usr/sbin/rabbitmq-server ]] || need_apt+=(rabbitmq-server)
fi
if ((${#need_apt[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages first: sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
fi

if [[ ",$EXTRAS," == *",test,"* ]]; then
  # The test suite runs against a real PostgreSQL server on 127.0.0.1:5432 (user postgres).
  ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  if [[ -n "$ver" ]] && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "setup: starting PostgreSQL $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
  fi
  if [[ -n "$ver" && $(id -u) -eq 0 ]] && \
     ! psql -w -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    # a stock Debian cluster asks for a password on TCP: trust loopback for the tests
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    echo "setup: trusting 127.0.0.1 in $hba for the test database"
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true
  fi
fi

if [[ ",$EXTRAS," == *",test,"* ]]; then
  # The job-queue tests need a RabbitMQ broker on 127.0.0.1:5672 (guest/guest).
  if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    if [[ -x /usr/sbin/rabbitmq-server ]]; then
      echo "setup: starting RabbitMQ"
      (RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 nohup /usr/sbin/rabbitmq-server \
        >/tmp/stretch-coach-rabbitmq.log 2>&1 &)
      for _ in $(seq 1 120); do
        (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 0.5
      done
    fi
  fi
fi

if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.stretch-coach-installed-${EXTRAS:-base}"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  spec="."
  [[ -n "$EXTRAS" ]] && spec=".[$EXTRAS]"
  .venv/bin/python -m pip install -q -e "$spec"
  touch "$stamp"
fi
# Build (or verify) the pose model now so the first run doesn't wait for it.
.venv/bin/stretch-coach model

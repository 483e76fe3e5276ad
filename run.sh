#!/usr/bin/env bash
# Set up and run alignment with demo data: web server, two Celery workers (interactive and bulk) and Celery
# beat. Ctrl-C stops them all.
# With no environment set it runs on SQLite and an embedded broker under var/; DATABASE_URL and REDIS_URL
# switch to PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")"
started=$SECONDS
source scripts/setup.sh
install_project base
installed=$SECONDS

export DEBUG="${DEBUG:-true}"
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
PY="$VENV/bin/python"
VAR="${VAR_DIR:-var}"

# A generated secret key in var/ (owner-only), read by the settings when SECRET_KEY is not set: the web server
# and any manage.py command run beside it (even without DEBUG) share it.
mkdir -p "$VAR"
if [ -z "${SECRET_KEY:-}" ] && [ ! -s "$VAR/secret_key" ]; then
  (umask 077 && "$PY" -c "import secrets; print(secrets.token_urlsafe(50))" >"$VAR/secret_key")
fi

pids=()
server=""
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the web server, the workers and beat…"
  # The server's reloader leaves its child running when it is stopped: stop the child too. The worker
  # stops its own pool (warm shutdown).
  [ -n "$server" ] && { pkill -TERM -P "$server" 2>/dev/null || true; }
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Up to 5 s to finish what they are doing, then whatever is left is killed: all gone within 10 s.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
}
# SIGTERM stops everything as Ctrl-C does, also while migrating or loading the demo data.
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# In the background and waited for, so that a signal is handled at once.
"$PY" manage.py migrate --no-input &
pids=($!)
wait "${pids[0]}"
migrated=$SECONDS
"$PY" manage.py seed_demo --token-file "$VAR/demo-token" &
pids=($!)
wait "${pids[0]}"
pids=()
echo "Set-up took $((SECONDS - started)) s: install $((installed - started)) s, migrate $((migrated - installed)) s," \
  "demo data $((SECONDS - migrated)) s."

# Two workers, so interactive work (new scores, hand-offs, alerts) never waits behind bulk work (full
# rescores, imports, KPI refreshes, sweeps). -B runs Celery beat inside the bulk worker: one process for both.
"$VENV/bin/celery" -A alignment worker -Q interactive -n interactive@%h --loglevel=INFO --concurrency=2 &
pids+=($!)
"$VENV/bin/celery" -A alignment worker -Q bulk -n bulk@%h -B --loglevel=INFO --concurrency=2 &
pids+=($!)
"$PY" manage.py runserver "$HOST:$PORT" &
server=$!
pids+=("$server")

# "Ready" only once the server answers (up to 60 s).
if ! "$PY" - "http://$HOST:$PORT/healthz" <<'PY'
import sys, time, urllib.error, urllib.request

deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError as answer:  # 503 names what is down, but the server answers
        print(f"/healthz: {answer.code} {answer.read().decode(errors='replace')}", file=sys.stderr)
        sys.exit(0)
    except OSError:
        time.sleep(0.5)
sys.exit(1)
PY
then
  echo "The web server did not answer at http://$HOST:$PORT/healthz within 60 s." >&2
  exit 1
fi
cat <<MSG

  alignment is ready at http://$HOST:$PORT/
  API documentation:    http://$HOST:$PORT/api/docs/
  Log in as maria (marketing), sam or sofia (sales), max (manager); the password is "demo".
  The demo API token above is kept in $VAR/demo-token and reused on the next start.
  Press Ctrl-C to stop the web server, the workers and beat.

MSG
# Portable to macOS's bash 3.2 (no `wait -n`): stop everything when any of the processes ends.
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "A process stopped (pid $pid); stopping the others." >&2
      exit 1
    fi
  done
  sleep 1 &
  wait $! # a signal is handled at once, not after the sleep
done

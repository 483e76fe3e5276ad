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

"$PY" manage.py migrate --no-input
migrated=$SECONDS
"$PY" manage.py seed_demo
echo "Set-up took $((SECONDS - started)) s: install $((installed - started)) s, migrate $((migrated - installed)) s," \
  "demo data $((SECONDS - migrated)) s."

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the web server, the workers and beat…"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

# Two workers, so interactive work (new scores, hand-offs, alerts) never waits behind bulk work (full
# rescores, imports, KPI refreshes, sweeps). -B runs Celery beat inside the bulk worker: one process for both.
"$VENV/bin/celery" -A alignment worker -Q interactive -n interactive@%h --loglevel=INFO --concurrency=2 &
pids+=($!)
"$VENV/bin/celery" -A alignment worker -Q bulk -n bulk@%h -B --loglevel=INFO --concurrency=2 &
pids+=($!)
"$PY" manage.py runserver "$HOST:$PORT" &
pids+=($!)

sleep 2
cat <<MSG

  alignment is running at http://$HOST:$PORT/
  API documentation:       http://$HOST:$PORT/api/docs/
  Log in as maria (marketing), sam or sofia (sales), max (manager); the password is "demo".
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
  sleep 1
done

#!/usr/bin/env bash
# Set up and run the whole test suite. Arguments are passed to pytest (e.g. ./test.sh tests/leads -x).
# With DATABASE_URL and REDIS_URL set, tests run against PostgreSQL and Redis (as CI does); without them on
# SQLite, skipping (by name, with the reason) only the few that need PostgreSQL or Redis.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
install_project dev
exec "$VENV/bin/python" -m pytest "$@"

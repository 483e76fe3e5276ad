# Shared by run.sh and test.sh: find Python ≥ 3.11, make .venv, install the project. Source it, do not run it.
# Honours PYTHON (the interpreter to use) and VENV (where the virtual environment lives, default .venv).

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: '$PYTHON' was not found. Install Python 3.11 or newer, or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  found="$("$PYTHON" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))' 2>/dev/null || echo unknown)"
  echo "error: alignment needs Python 3.11 or newer; '$PYTHON' is Python $found." >&2
  echo "       Install a newer Python and run again with PYTHON=python3.12 (or its full path)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "error: '$PYTHON' has no venv/ensurepip module. On Debian or Ubuntu: sudo apt install python3-venv" >&2
  exit 1
fi

# install_project EXTRAS: create the venv if needed and (re)install when pyproject.toml changed.
install_project() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating virtual environment in $VENV…"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  # The stamp holds a checksum of pyproject.toml, so a checkout that only touches the file reinstalls nothing.
  local wanted
  wanted="$(cksum < pyproject.toml)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing dependencies (first run takes a minute)…"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    if [ "$extras" = "base" ]; then
      "$VENV/bin/python" -m pip install --quiet -e .
    else
      "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
    fi
    echo "$wanted" > "$stamp"
  fi
}

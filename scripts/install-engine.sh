#!/bin/sh
# Install the offline Smart Beauty engine into a Python 3.9+ virtualenv (default: ./.venv of the repo).
#   scripts/install-engine.sh [VENV_DIR]
# A wrapper of `install.py --engine-into VENV` (pip install -e .[engine]: OpenCV contrib headless, pinned
# in pyproject.toml, and numpy; the face models ship in the package; then the engine's own check).
# Exit status 2: no Python in VENV_DIR; 3: its Python is older than 3.9.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-"$here/.venv"}
py="$venv/bin/python"
[ -x "$py" ] || py="$venv/Scripts/python.exe"
[ -x "$py" ] || py=python3
exec "$py" "$here/install.py" --engine-into "$venv"

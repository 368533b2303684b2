#!/bin/sh
# Install the offline Smart Beauty engine into a Python 3.9+ virtualenv (default: ./.venv of the repo).
#   scripts/install-engine.sh [VENV_DIR]
# It is this project with its extra "engine" (pyproject.toml: OpenCV contrib headless, pinned, and numpy);
# the face models ship in the package. Windows venvs keep their Python in Scripts\python.exe.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-"$here/.venv"}
py="$venv/bin/python"
[ -x "$py" ] || py="$venv/Scripts/python.exe"
if [ ! -x "$py" ]; then
    echo "install-engine: no Python in $venv (create the venv first: python3 -m venv $venv)" >&2
    exit 2
fi
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 9) else 1)'; then
    echo "install-engine: $venv uses $("$py" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])');" \
         "the offline engine needs Python 3.9 or newer. Make the venv with such a Python." >&2
    exit 3
fi
"$py" -m pip install -q --disable-pip-version-check -e "$here[engine]"
"$py" - <<'PY'
import sys
from smart_beauty_engine.offline import available
ok, why = available()
print(why)
sys.exit(0 if ok else 1)
PY

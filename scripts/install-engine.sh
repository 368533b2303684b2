#!/bin/sh
# Install the offline Smart Beauty engine into a Python 3 virtualenv (default: ./.venv of the repo).
#   scripts/install-engine.sh [VENV_DIR]
# Two steps on purpose: mediapipe==0.10.21 (the last release shipping face models) goes in with
# --no-deps, then the pinned runtime it really needs (requirements/engine.txt explains why).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-"$here/.venv"}
py="$venv/bin/python"
if [ ! -x "$py" ]; then
    echo "install-engine: no Python at $py (create the venv first: python3 -m venv $venv)" >&2
    exit 2
fi
if ! "$py" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 12) else 1)'; then
    echo "install-engine: $venv uses $("$py" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])');" \
         "the offline engine needs Python 3.9 to 3.12 (mediapipe 0.10.21, the last release with face models," \
         "has no wheels for newer ones). Make the venv with such a Python (./install.sh --with-engine picks one)." >&2
    exit 3
fi
"$py" -m pip install --no-deps "mediapipe==0.10.21"
"$py" -m pip install -r "$here/requirements/engine.txt"
"$py" - "$here/lib" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from smart_beauty_py3.engine.offline import available
ok, why = available()
print(why)
sys.exit(0 if ok else 1)
PY

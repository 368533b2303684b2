#!/bin/sh
# Smart Beauty for GIMP -- one-command installer for Linux and macOS.
#
# A thin wrapper: the installer is install.py (Python 3.8+, standard library only; on Windows run
# `py install.py`). This finds a Python 3 to run it with ($SB_PYTHON, else python3, else python) and
# passes every option on. `./install.sh --help` lists them. Plain POSIX sh (macOS has bash 3.2).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for py in "${SB_PYTHON:-}" python3 python; do
    [ -n "$py" ] || continue
    command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' >/dev/null 2>&1; then
        SB_INSTALL_WRAPPER=install.sh exec "$py" "$here/install.py" "$@"
    fi
done
echo "install.sh: error: no Python 3.8 or newer found; install python3 (Debian/Ubuntu: sudo apt install python3-venv python3-pip) or set SB_PYTHON to one" >&2
exit 1

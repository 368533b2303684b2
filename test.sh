#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: sets up what it needs, then runs every tier.
#   ./test.sh [pytest args...]
# Tiers: core library (py3 here; real Python 2.7 in tests/hosts), local AILab server, CLI, offline
# engine, GIMP adapters on stand-ins, static gates, and real GIMP 3.0.4 / 3.2 / 2.10 + Python-Fu and a
# fresh Debian 13 (README's commands, the engine on Python 3.13) in Debian chroots (tests/hosts: needs
# root + debootstrap; skipped LOUDLY elsewhere, required when CI is set or SB_REQUIRE_HOSTS=1).
set -euo pipefail
cd "$(dirname "$0")"

PY=${SB_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "test.sh: creating .venv with $($PY --version 2>&1)"
    "$PY" -m venv .venv
fi
# Smart Beauty runs on Python 3.9+, its test tools (pytest 8, bandit, pip-audit, mypy...) need 3.10+
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "test.sh: .venv uses $(.venv/bin/python --version 2>&1), but the test tools need Python 3.10 or newer" \
         "(Smart Beauty itself runs on 3.9); remove .venv and run SB_PYTHON=python3.X ./test.sh with a newer" \
         "Python, or run the tests on a machine that has one." >&2
    exit 3
fi
echo "test.sh: installing the project and its test tools into .venv"
# an editable install of a pyproject-only project needs pip 21.3+ (install.py's EDITABLE_PIP); the pip a
# venv starts with is the one its Python bundled, which can be older
.venv/bin/python -m pip install -q --disable-pip-version-check 'pip>=21.3'
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[cli,test]'
echo "test.sh: installing the offline engine (pyproject.toml's extra 'engine', pinned)"
scripts/install-engine.sh .venv >/dev/null

# The engine tests must run, not skip, here: the engine was just installed.
export SB_REQUIRE_ENGINE=1
exec .venv/bin/python -m pytest -ra "$@"

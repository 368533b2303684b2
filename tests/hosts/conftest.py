"""Fixtures for the real-host tiers: real GIMP 3, real GIMP 2.10 (+ real Python-Fu), real Python 2.7.

``gimp3_host`` / ``gimp32_host`` / ``gimp3x_host`` / ``gimp210_host`` / ``py27_host`` (session scope)
are runners (``tests/hosts/hosts.py``) for the chroots made by ``tests/hosts/*-root.sh`` (cached
under ``$SB_HOSTS_DIR``, default /var/cache/smart-beauty-hosts). Tests that run on every real GIMP
parametrise over ``hosts.GIMPS`` (root names) and fetch ``request.getfixturevalue(name + "_host")``.
Every root the selected tests need is built (or reused) once before the first test runs
(``pytest_runtestloop`` below), outside any test's timeout:

    host.run(cmd, binds=[Bind(host_dir, "/sb/work")], env={...}, cwd=..., timeout=...) -> Result
    gimp_host.new_profile(path)                      # throw-away profile (copy of the first-run one)
    gimp_host.batch(work_dir, python_code, env=...)  # python-fu-eval batch, work_dir at /sb/work
    py27_host.pytest(["tests/..."], "-q")            # python2.7 -m pytest (4.6) on the checkout

When this machine cannot run them (not root, not Linux, no debootstrap/Debian archive) the tests are
SKIPPED LOUDLY (reason in the summary); with ``CI`` set or ``SB_REQUIRE_HOSTS=1`` they FAIL instead.
A build failure on a capable machine always fails.

This file is parsed by Python 2.7 too (pytest 4.6 in the py27 chroot may walk tests/): keep it
free of py3-only syntax; everything py3-only lives in hosts.py and the test modules, which are not
collected under Python 2.
"""


import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosts  # noqa: E402

_HOSTS = {}     # name -> Host or Exception


def not_available(tier, reason):
    hosts.not_available(tier, reason)


def _get_host(name):
    if name in _HOSTS:
        h = _HOSTS[name]
        if isinstance(h, BaseException):
            raise h
        return h
    why = hosts.unavailable_reason()
    if why:
        not_available(name, why)
    t0 = time.monotonic()
    try:
        h = hosts.get(name)
    except hosts.HostUnavailable as e:
        not_available(name, str(e))
    except Exception as e:  # a capable machine that fails to build: a real failure
        _HOSTS[name] = e
        raise
    hosts.TIMES.append(("%s root ready (%s)" % (name, h.root.name), time.monotonic() - t0))
    _HOSTS[name] = h
    return h


@pytest.fixture(scope="session")
def gimp3_host():
    """Real GIMP 3.0.4 (Debian 13 chroot)."""
    return _get_host("gimp3")


@pytest.fixture(scope="session")
def gimp32_host():
    """Real GIMP 3.2.x (Debian sid chroot, Python 3.14)."""
    return _get_host("gimp32")


@pytest.fixture(scope="session")
def gimp3x_host():
    """Real GIMP 3.0.4 plus Debian's python3-numpy/-pil/-werkzeug (so GIMP can start the local server
    itself) and Xvfb (screenshots); a copy of the gimp3 root."""
    return _get_host("gimp3x")


@pytest.fixture(scope="session")
def d13_host():
    """A fresh Debian 13 (Python 3.13) with GIMP 3.0.4 and python3-venv/-pip, nothing of ours installed."""
    return _get_host("d13")


@pytest.fixture(scope="session")
def gimp210_host():
    """Real GIMP 2.10.22 with real Python-Fu (Debian 11 chroot, pygimp built from 2.10.34)."""
    return _get_host("gimp210")


@pytest.fixture(scope="session")
def py27_host():
    """Real CPython 2.7.18 with pytest 4.6.11, requests 2.27.1, numpy 1.16.6, Pillow 6.2.2."""
    return _get_host("py27")


# Roots that build on others come after them (gimp3x copies gimp3, gimp210 starts from py27).
BUILD_ORDER = ["gimp3", "gimp32", "gimp3x", "d13", "py27", "gimp210"]


def _roots_needed(items):
    """Root names the selected tests use: through a ``<root>_host`` fixture, or a parameter that
    names a root (tests parametrised over hosts.GIMPS)."""
    names = set()
    for item in items:
        for f in getattr(item, "fixturenames", ()):
            if f.endswith("_host") and f[:-len("_host")] in hosts.BUILDERS:
                names.add(f[:-len("_host")])
        callspec = getattr(item, "callspec", None)
        for v in (callspec.params.values() if callspec is not None else ()):
            if isinstance(v, str) and v in hosts.BUILDERS:
                names.add(v)
    return sorted(names, key=lambda n: (BUILD_ORDER.index(n) if n in BUILD_ORDER else len(BUILD_ORDER), n))


class _Lines:
    def __init__(self, reporter):
        self.reporter = reporter

    def write(self, text):
        for line in text.splitlines():
            self.reporter.write_line("    " + line)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """Build (or reuse) every root the selected tests need BEFORE the first test runs: a cold build
    takes minutes and must not count against a test's timeout (pytest-timeout covers fixture set-up).
    Each build has its own bound (hosts.BUILD_TIMEOUT, env SB_HOSTS_BUILD_TIMEOUT); a failure is kept
    and reported by every test that needs that root."""
    if hosts is None or session.config.option.collectonly or not session.items:
        return None
    if hosts.unavailable_reason():
        return None     # the fixtures skip (or fail under CI) with the reason
    names = [n for n in _roots_needed(session.items) if n not in _HOSTS]
    if not names:
        return None
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    out = _Lines(tr) if tr is not None else None
    if tr is not None:
        tr.write_sep("-", "real-host roots: %s (each cold build bounded by %d s)" % (", ".join(names),
                                                                                    hosts.BUILD_TIMEOUT))
    for name in names:
        t0 = time.monotonic()
        try:
            h = hosts.get(name, log=out)
        except hosts.HostUnavailable:
            continue
        except Exception as e:  # noqa: BLE001 - kept: every test needing this root reports it
            _HOSTS[name] = e
            if tr is not None:
                tr.write_line("[hosts] %s: FAILED after %.0f s: %s" % (name, time.monotonic() - t0,
                                                                      str(e).splitlines()[0]), red=True)
            continue
        secs = time.monotonic() - t0
        hosts.TIMES.append(("%s root ready (%s), before the tests" % (name, h.root.name), secs))
        _HOSTS[name] = h
        if tr is not None:
            tr.write_line("[hosts] %s ready in %.1f s: %s" % (name, secs, h.root))
    return None


@pytest.fixture
def host_work(tmp_path):
    """A host work directory to bind into a chroot (world-readable, like a real profile)."""
    d = tmp_path / "work"
    d.mkdir()
    os.chmod(str(d), 0o755)
    return d


def pytest_terminal_summary(terminalreporter):
    if hosts is not None and hosts.TIMES:
        terminalreporter.write_sep("-", "real-host tiers: timings")
        for what, secs in hosts.TIMES:
            terminalreporter.write_line("%7.1f s  %s" % (secs, what))
    skipped = hosts.SKIPPED if hosts is not None else []
    if skipped:
        terminalreporter.write_sep("!", "REAL-HOST TIERS SKIPPED (nothing was proven on real GIMP / Python 2.7)",
                                   red=True, bold=True)
        seen = set()
        for tier, reason in skipped:
            if (tier, reason) in seen:
                continue
            seen.add((tier, reason))
            terminalreporter.write_line("  %s: %s" % (tier, reason), red=True)
        terminalreporter.write_line("  set CI=1 or SB_REQUIRE_HOSTS=1 to make this a failure", red=True)

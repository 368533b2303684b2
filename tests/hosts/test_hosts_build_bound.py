"""The root builders' own bound (hosts.build, used before the tests by conftest.pytest_runtestloop).

A stand-in builder that never finishes: hosts.build must stop it at its bound with a message naming
the root, SB_HOSTS_BUILD_TIMEOUT and the builder's last lines, and leave none of its processes behind.
The real builders are not involved (a cold build of the real roots is what the whole tier does).
"""
import os
import subprocess
import time

import hosts
import pytest


def test_a_build_that_overruns_its_bound_is_stopped_with_a_clear_message(tmp_path, monkeypatch):
    why = hosts.unavailable_reason()
    if why:
        pytest.skip(why)
    marker = "sb-never-ending-build-%d" % os.getpid()
    script = tmp_path / "never.sh"
    # like debootstrap under the script: a child process doing the work while the script waits
    script.write_text('echo "[hosts] pretending to debootstrap" >&2\n'
                      '(exec -a %s sleep 300) &\nwait\n' % marker)
    monkeypatch.setitem(hosts.BUILDERS, "never", ["bash", str(script)])
    lines = []

    class Log:
        def write(self, text):
            lines.append(text)

    t0 = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        hosts.build("never", log=Log(), timeout=3)
    took = time.monotonic() - t0
    assert 3 <= took < 20, took
    msg = str(info.value)
    assert "building the never root took longer than 3 s (SB_HOSTS_BUILD_TIMEOUT)" in msg, msg
    assert "pretending to debootstrap" in msg and lines == ["[hosts] pretending to debootstrap\n"]
    left = subprocess.run(["pgrep", "-f", marker], stdout=subprocess.PIPE, text=True).stdout.split()
    assert left == [], "the builder's processes were left running: %s" % left

"""The ``smart-beauty`` entry point (``smart_beauty_py3.launch``): the engine's head start."""

import os
import subprocess
import sys

import pytest

from smart_beauty import settings
from smart_beauty_engine import offline
from smart_beauty_py3 import backends, launch

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "portrait.jpg")


@pytest.mark.parametrize("argv, backend", [
    (["retouch", "a.jpg"], "auto"),
    (["retouch", "a.jpg", "--backend", "local"], "local"),
    (["retouch", "--backend=cloud", "a.jpg"], "cloud"),
    (["retouch", "--", "a.jpg"], "auto"),
    (["doctor"], None),
    (["serve", "--backend", "local"], None),
    (["--version"], None),
    ([], None),
])
def test_only_a_retouch_gets_a_head_start(argv, backend):
    assert launch._retouch_backend(argv) == backend


@pytest.fixture
def no_shared_engine(engine, monkeypatch, tmp_path):
    """No engine made yet in this process (restored afterwards); a private, empty config folder."""
    monkeypatch.setattr(offline, "_shared", None)
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    yield
    if offline._shared is not None:
        offline._shared.close()


def test_the_head_start_is_the_engine_the_local_backend_uses(no_shared_engine):
    launch._preload_engine("auto")          # no key: auto means the offline engine
    preloaded = offline._shared
    assert preloaded is not None
    assert backends.local_engine() is preloaded


def test_no_head_start_when_the_retouch_goes_to_the_cloud(no_shared_engine, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", "k" * 32)
    launch._preload_engine("auto")
    launch._preload_engine("cloud")
    assert offline._shared is None


def test_a_retouch_into_a_pipe_prints_its_lines_but_draws_no_bar(engine, tmp_path):
    env = dict(os.environ, **{settings.ENV_CONFIG_DIR: str(tmp_path / "cfg")})
    env.pop("AILAB_API_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "smart_beauty_py3.launch", "retouch", SAMPLE, "-o", str(tmp_path),
                           "--level", "0.5"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "portrait.beauty.png").exists()
    assert "portrait.beauty.png" in proc.stdout
    assert "img/s" not in proc.stderr and "\r" not in proc.stderr
    assert "1 done" in proc.stderr


def test_a_run_with_nothing_to_do_ends_cleanly_while_the_engine_loads(engine, tmp_path):
    """Every output already made: the command is done before the engine's head start is; the process
    must still end with 0, not abort inside OpenCV (it did 4 times out of 6 with daemon loader threads)."""
    env = dict(os.environ, **{settings.ENV_CONFIG_DIR: str(tmp_path / "cfg")})
    env.pop("AILAB_API_KEY", None)
    argv = [sys.executable, "-m", "smart_beauty_py3.launch", "retouch", SAMPLE, "-o", str(tmp_path),
            "--backend", "local"]
    made = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0 and (tmp_path / "portrait.beauty.png").exists(), made.stderr
    for _ in range(5):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "1 skipped" in proc.stderr and "terminate called" not in proc.stderr

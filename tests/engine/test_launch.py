"""The ``smart-beauty`` entry point (``smart_beauty_cli.launch``): the offline engine's head start, and
a whole retouch on the real engine in the command's own process, against the server the GIMP plug-ins
share."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from smart_beauty import Client, localserver, settings
from smart_beauty.effects import Effects
from smart_beauty.jobs import RetouchJob
from smart_beauty_cli import launch
from smart_beauty_server import LocalAilab

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "portrait.jpg")
CLI = os.path.join(os.path.dirname(sys.executable), "smart-beauty")
LIB = os.path.join(os.path.dirname(__file__), "..", "..", "lib")


@pytest.mark.parametrize("argv, backend", [
    (["retouch", "a.jpg"], "auto"),
    (["retouch", "a.jpg", "--backend", "local"], "local"),
    (["retouch", "--backend=cloud", "a.jpg"], "cloud"),
    (["retouch", "--", "a.jpg"], "auto"),
    (["retouch", "--help"], None),
    (["doctor"], None),
    (["serve", "--backend", "local"], None),
    (["--version"], None),
    ([], None),
])
def test_only_a_retouch_gets_a_head_start(argv, backend):
    assert launch._retouch_backend(argv) == backend


@pytest.fixture
def cfg(monkeypatch, tmp_path):
    """A private, empty config folder, no key; the SimpleEngine for the offline engine; servers stopped."""
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.setenv(localserver.ENV_ENGINE, "simple")
    monkeypatch.delenv(localserver.ENV_CLI, raising=False)
    yield tmp_path / "cfg"
    localserver.stop()


def test_the_head_start_is_the_engine_the_retouch_uses(cfg, tmp_path, capsys):
    """The head start loads the engine in this process; the retouch runs on it and starts no server."""
    from smart_beauty_cli import cli, inprocess

    head_start = launch.HeadStart("auto").begin()      # no key: auto means the offline engine
    head_start.thread.join(60)
    assert isinstance(head_start.service, inprocess.InProcessService)
    assert cli.main(["retouch", SAMPLE, "-o", str(tmp_path / "out"), "--backend", "local"],
                    start_local=head_start) == 0
    assert (tmp_path / "out" / "portrait.beauty.png").exists()
    assert "offline engine (in this process)" in capsys.readouterr().err
    assert not (cfg / localserver.STATE_FILE).exists()


def test_a_head_start_the_command_did_not_take_is_closed(cfg):
    head_start = launch.HeadStart("local").begin()
    head_start.thread.join(60)
    service = head_start.service
    workers = service.store._pool
    head_start.release()
    assert head_start.service is None and workers._shutdown     # its engine workers are ended
    head_start.release()                                         # twice is harmless


def test_the_command_imports_its_modules_once_the_engine_is_loading(cfg, tmp_path):
    """Both want the one interpreter lock, and the engine's load is what the run waits for: the command's
    own modules are imported after the head start has the engine loading (a stand-in here)."""
    code = textwrap.dedent("""
        import json, sys
        from smart_beauty import errors
        from smart_beauty_cli import backends, launch
        seen = []

        def local_service(env=None):   # the head start's, then the command's own
            seen.append("smart_beauty_cli.cli" in sys.modules)
            raise errors.ConfigError("stand-in engine")

        backends.local_service = local_service
        sys.argv = ["smart-beauty", "retouch", "--backend", "local", "no-such-file.jpg"]
        launch.main()
        print(json.dumps(seen))
    """)
    env = dict(os.environ, PYTHONPATH=LIB)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True], out.stderr


def test_no_head_start_when_the_retouch_goes_to_the_cloud(cfg, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", "k" * 32)
    for backend in ("auto", "cloud"):
        head_start = launch.HeadStart(backend).begin()
        head_start.thread.join(60)
        assert head_start.service is None
    assert not (cfg / localserver.STATE_FILE).exists()


def _real_env(tmp_path):
    env = dict(os.environ, **{settings.ENV_CONFIG_DIR: str(tmp_path / "cfg"), "TMPDIR": str(tmp_path / "tmp")})
    for name in ("AILAB_API_KEY", localserver.ENV_CLI, localserver.ENV_ENGINE):
        env.pop(name, None)
    (tmp_path / "tmp").mkdir()
    return env


@pytest.mark.skipif(not os.path.exists(CLI), reason="the smart-beauty command is not installed")
def test_a_retouch_runs_the_real_engine_in_its_own_process_as_the_server_would(engine, tmp_path):
    """The real command, the real engine, into a pipe (lines, no bar): it runs the engine itself, leaves no
    process and no temp file behind, and writes the very pixels the local server's engine gives for the
    same request over HTTP (what the GIMP plug-ins get)."""
    env = _real_env(tmp_path)
    run = subprocess.run([CLI, "retouch", SAMPLE, "--level", "0.5", "--smooth", "0.33", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "offline engine (in this process)" in run.stderr and "1 done" in run.stderr
    assert "img/s" not in run.stderr and "\r" not in run.stderr and "portrait.beauty.png" in run.stdout
    assert not (tmp_path / "cfg" / localserver.STATE_FILE).exists() and os.listdir(tmp_path / "tmp") == []
    key = "k" * 24
    with LocalAilab(port=0, engine=engine, job_seconds=0.0, api_keys=[key], credits=None) as srv, \
            Client(key, base_url=srv.url, local=True) as client:
        served = RetouchJob(client, SAMPLE, level=0.5, effects=Effects.from_level(0.5).replace(smooth=0.33),
                            result_dir=str(tmp_path)).run()
    with Image.open(served) as f:
        expected = np.asarray(f.convert("RGB"))
    with Image.open(tmp_path / "out" / "portrait.beauty.png") as f:
        made = np.asarray(f.convert("RGB"))
    assert np.array_equal(made, expected) and (made != np.asarray(Image.open(SAMPLE).convert("RGB"))).any()


@pytest.mark.skipif(not os.path.exists(CLI), reason="the smart-beauty command is not installed")
def test_a_run_with_nothing_to_do_ends_cleanly_while_the_engine_loads(engine, tmp_path):
    """Every output already made: the command is done before its head start (loading the engine) is; the
    process still ends with 0, waits for OpenCV's load instead of aborting it, and leaves nothing behind."""
    env = _real_env(tmp_path)
    argv = [CLI, "retouch", SAMPLE, "-o", str(tmp_path), "--backend", "local"]
    made = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0 and (tmp_path / "portrait.beauty.png").exists(), made.stderr
    for _ in range(3):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "1 skipped" in proc.stderr and "terminate called" not in proc.stderr
    assert os.listdir(tmp_path / "tmp") == [] and not (tmp_path / "cfg" / localserver.STATE_FILE).exists()

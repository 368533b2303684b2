"""The ``smart-beauty`` entry point (``smart_beauty_cli.launch``): the local service's head start, and
a whole retouch on the real engine through the server the GIMP plug-ins share."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from smart_beauty import localserver, settings
from smart_beauty_cli import launch

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
    """A private, empty config folder, no key; the SimpleEngine behind the real command; servers stopped."""
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.setenv(localserver.ENV_ENGINE, "simple")
    monkeypatch.delenv(localserver.ENV_CLI, raising=False)
    yield tmp_path / "cfg"
    localserver.stop()


def test_the_head_start_is_the_server_the_retouch_uses(cfg, tmp_path, capsys):
    from smart_beauty_cli import cli

    head_start = launch.HeadStart("auto").begin()      # no key: auto means the offline engine
    head_start.thread.join(60)
    started = head_start.server
    assert started is not None and not started.reused and started.engine == "simple"
    state = json.loads((cfg / localserver.STATE_FILE).read_text())
    assert (state["pid"], state["version"]) == (started.pid, localserver.__version__)
    assert state["cli"].endswith("-m smart_beauty_cli.cli")           # this installation's own Python
    assert cli.main(["retouch", SAMPLE, "-o", str(tmp_path / "out"), "--backend", "local"],
                    start_local=head_start) == 0
    assert (tmp_path / "out" / "portrait.beauty.png").exists()
    assert "started in the background" in capsys.readouterr().err


def test_the_command_imports_its_modules_once_the_server_process_exists(cfg, tmp_path):
    """Both want the one interpreter lock, and the server's start is what the run waits for: the command's
    own modules are imported after the head start has spawned the server (a stand-in start here)."""
    code = textwrap.dedent("""
        import json, sys
        from smart_beauty import localserver
        from smart_beauty_cli import launch
        seen = []

        def start(command, env, timeout, spawned=None):   # the head start's, then the command's own
            seen.append("smart_beauty_cli.cli" in sys.modules)
            if spawned is not None:
                spawned()
            raise localserver.errors.ConfigError("stand-in start")

        localserver.start = start
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
        assert head_start.server is None
    assert not (cfg / localserver.STATE_FILE).exists()


@pytest.mark.skipif(not os.path.exists(CLI), reason="the smart-beauty command is not installed")
def test_a_retouch_starts_the_shared_server_and_the_next_one_reuses_it(engine, tmp_path):
    """The real command, the real engine, into a pipe: lines but no bar; the server stays for the next run."""
    env = dict(os.environ, **{settings.ENV_CONFIG_DIR: str(tmp_path / "cfg")})
    for name in ("AILAB_API_KEY", localserver.ENV_CLI, localserver.ENV_ENGINE):
        env.pop(name, None)
    runs = []
    try:
        for _ in range(2):
            runs.append(subprocess.run([CLI, "retouch", SAMPLE, "-o", str(tmp_path), "--level", "0.5", "--force"],
                                       capture_output=True, text=True, env=env, timeout=120))
            assert runs[-1].returncode == 0, runs[-1].stderr
        state = json.loads((tmp_path / "cfg" / localserver.STATE_FILE).read_text())
        assert state["engine"] == "offline"
    finally:
        localserver.stop(env)
    first, second = runs
    assert (tmp_path / "portrait.beauty.png").exists() and "portrait.beauty.png" in first.stdout
    assert "img/s" not in first.stderr and "\r" not in first.stderr and "1 done" in first.stderr
    assert "started in the background" in first.stderr and "serve --stop" in first.stderr
    assert "already running" in second.stderr


@pytest.mark.skipif(not os.path.exists(CLI), reason="the smart-beauty command is not installed")
def test_a_run_with_nothing_to_do_ends_cleanly_while_the_server_starts(engine, tmp_path):
    """Every output already made: the command is done before its head start (starting the server) is; the
    process still ends with 0 and waits for the start, so the server it began is recorded, not orphaned."""
    env = dict(os.environ, **{settings.ENV_CONFIG_DIR: str(tmp_path / "cfg")})
    for name in ("AILAB_API_KEY", localserver.ENV_CLI, localserver.ENV_ENGINE):
        env.pop(name, None)
    argv = [CLI, "retouch", SAMPLE, "-o", str(tmp_path), "--backend", "local"]
    try:
        made = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert made.returncode == 0 and (tmp_path / "portrait.beauty.png").exists(), made.stderr
        assert localserver.stop(env)
        for _ in range(3):          # the first with no server running
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
            assert proc.returncode == 0, proc.stderr
            assert "1 skipped" in proc.stderr and "terminate called" not in proc.stderr
            assert (tmp_path / "cfg" / localserver.STATE_FILE).exists()
    finally:
        assert localserver.stop(env)

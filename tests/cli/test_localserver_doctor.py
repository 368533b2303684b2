"""The offline engine on demand (smart_beauty.localserver + `smart-beauty serve --announce --idle-exit`)
and Check Setup (smart_beauty.doctor, `smart-beauty doctor`), with real processes and real HTTP."""
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest
import requests

from smart_beauty import doctor, errors, localserver

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(os.path.dirname(sys.executable), "smart-beauty")
needs_cli = pytest.mark.skipif(not os.path.exists(CLI), reason="the smart-beauty command is not installed")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private config folder, no key, the real command with the SimpleEngine; servers stopped after."""
    for name in ("AILAB_API_KEY", "AILAB_API_BASE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMART_BEAUTY_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SMART_BEAUTY_CLI", CLI)
    monkeypatch.setenv("SMART_BEAUTY_ENGINE", "simple")
    yield os.environ
    localserver.stop()


def _running(pid):
    for child in localserver._children:
        if child.pid == pid:
            return child.poll() is None
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


@needs_cli
def test_started_on_demand_reused_while_alive_and_only_its_own_key_works(env):
    first = localserver.ensure()
    assert not first.reused and first.engine == "simple" and first.url.startswith("http://127.0.0.1:")
    state = os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.STATE_FILE)
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    second = localserver.ensure()
    assert second.reused and (second.url, second.pid) == (first.url, first.pid)
    credits = "/api/common/query-credits"
    assert requests.get(first.url + credits, headers={"ailabapi-api-key": first.key}, timeout=5).status_code == 200
    for other in ("sb-local-test-key", "fault:server_error", "wrong"):
        r = requests.get(first.url + credits, headers={"ailabapi-api-key": other}, timeout=5)
        assert r.status_code == 401, other
    # a server that died is replaced by a new one
    assert localserver.stop()
    third = localserver.ensure()
    assert not third.reused and third.pid != first.pid


@needs_cli
def test_idle_server_exits_by_itself(env, monkeypatch):
    monkeypatch.setattr(localserver, "IDLE_EXIT", 1.0)
    server = localserver.ensure()
    assert _running(server.pid)
    deadline = time.monotonic() + 10
    while _running(server.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(server.pid)
    assert not localserver.ensure().reused


def _write_state(env, **changes):
    path = os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.STATE_FILE)
    with open(path) as f:
        state = json.load(f)
    state.update(changes)
    with open(path, "w") as f:
        json.dump(state, f)
    return state


@needs_cli
def test_a_server_of_another_version_or_engine_is_not_reused_and_is_left_to_finish(env):
    """After an upgrade the old server would go on running the old code: a new one is started; the old one
    is not killed (another run may be using it) and exits when idle."""
    first = localserver.ensure()
    assert first.version == localserver.__version__
    _write_state(env, version="0.0.0-older")
    second = localserver.ensure()
    assert not second.reused and second.pid != first.pid and second.version == localserver.__version__
    assert _running(first.pid)
    _write_state(env, engine="offline")        # a server of the real engine is no SimpleEngine run's server
    third = localserver.ensure()
    assert not third.reused and third.pid not in (first.pid, second.pid)
    for pid in (first.pid, second.pid):
        os.kill(pid, 15)


@needs_cli
def test_two_runs_starting_at_once_start_one_server(env):
    servers, failures = [], []

    def run():
        try:
            servers.append(localserver.ensure())
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures and len(servers) == 3, failures
    assert len({s.pid for s in servers}) == 1 and sorted(s.reused for s in servers) == [False, True, True]
    assert not os.path.exists(os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.LOCK_FILE))


@needs_cli
def test_a_server_stopped_by_another_process_is_reaped(env):
    """`smart-beauty serve --stop` from another terminal ends the server this process started: its exit
    status is collected on our next start (and at exit), so no zombie stays behind."""
    server = localserver.ensure(timeout=30)
    child = [c for c in localserver._children if c.pid == server.pid][0]
    subprocess.run([CLI, "serve", "--stop"], env=env, check=True, timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _state(child.pid) not in ("Z", None):
        time.sleep(0.05)
    assert _state(child.pid) == "Z"          # ended, not yet reaped
    localserver._reap()
    assert child not in localserver._children and _state(child.pid) is None


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@needs_cli
def test_a_lock_left_by_a_dead_process_does_not_hold_the_start(env):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    os.makedirs(env["SMART_BEAUTY_CONFIG_DIR"])
    with open(os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.LOCK_FILE), "w") as f:
        f.write("%d\n" % dead.pid)
    assert not localserver.ensure(timeout=30).reused


def test_stop_with_a_stale_state_file_signals_nobody(env, tmp_path):
    """The pid of a server that is gone may belong to another program by now: only a server that answers
    with its recorded key is stopped."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.makedirs(env["SMART_BEAUTY_CONFIG_DIR"])
        with open(os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.STATE_FILE), "w") as f:
            json.dump({"url": "http://127.0.0.1:9", "key": "k", "pid": other.pid, "engine": "simple",
                       "version": localserver.__version__}, f)
        assert localserver.stop() is False
        assert other.poll() is None
        assert not os.path.exists(os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.STATE_FILE))
    finally:
        other.kill()
        other.wait()


@needs_cli
def test_the_cli_runs_the_engine_itself_and_serve_stop_ends_the_plugins_server(env, tmp_path, capsys):
    from PIL import Image

    from smart_beauty_cli import cli

    src = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (200, 150, 120)).save(str(src))
    out = tmp_path / "out"
    state = os.path.join(env["SMART_BEAUTY_CONFIG_DIR"], localserver.STATE_FILE)
    assert cli.main(["retouch", str(src), "-o", str(out), "--backend", "local"]) == 0
    assert "offline engine (in this process)" in capsys.readouterr().err and (out / "face.beauty.png").exists()
    assert not os.path.exists(state)                         # no server started, none recorded
    pid = localserver.ensure().pid                            # the server a plug-in starts
    assert cli.main(["retouch", str(src), "-o", str(out), "--backend", "local", "--force"]) == 0
    assert "offline engine (in this process)" in capsys.readouterr().err and _running(pid)
    assert cli.main(["serve", "--stop"]) == 0
    assert "Stopped" in capsys.readouterr().out and not _running(pid) and not os.path.exists(state)
    assert cli.main(["serve", "--stop"]) == 0
    assert "No offline engine server was running" in capsys.readouterr().out


def test_no_command_is_one_sentence_with_the_fix(env, monkeypatch, tmp_path):
    monkeypatch.setenv("SMART_BEAUTY_CLI", str(tmp_path / "nothing-here"))
    with pytest.raises(errors.ConfigError) as info:
        localserver.ensure()
    text = str(info.value)
    assert "offline engine is not installed" in text and "./install.sh --with-engine" in text
    assert text.replace("...", "").count(". ") == 0 and text.endswith(".")


def test_engine_missing_reported_from_the_server(env, monkeypatch, tmp_path):
    fake = tmp_path / "smart-beauty"
    fake.write_text("#!/bin/sh\necho \"smart-beauty: The offline engine is not installed (No module named "
                    "'mediapipe'); run './install.sh --with-engine' or set an AILab API key to use the cloud.\" >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SMART_BEAUTY_CLI", str(fake))
    with pytest.raises(errors.ConfigError) as info:
        localserver.ensure()
    assert "not installed" in str(info.value) and "./install.sh --with-engine" in str(info.value)


def test_lookup_order(env, monkeypatch, tmp_path):
    monkeypatch.delenv("SMART_BEAUTY_CLI")
    cfg = tmp_path / "config"
    cfg.mkdir()
    recorded = tmp_path / "venv-bin-smart-beauty"
    recorded.write_text("#!/bin/sh\n")
    recorded.chmod(0o755)
    (cfg / localserver.CLI_PATH_FILE).write_text(str(recorded) + "\n")
    assert localserver.find_cli() == str(recorded)
    wheres = [c.where for c in localserver.candidates()]
    assert wheres[0].startswith("recorded by install.sh") and wheres[1] == "~/.local/bin"


@pytest.mark.parametrize("value,name", [(0, "auto"), (1, "cloud"), (2, "local"), ("local", "local"),
                                        ("Cloud", "cloud")])
def test_backend_names(value, name):
    assert localserver.backend_name(value) == name


def test_backend_name_refuses_others():
    with pytest.raises(errors.ConfigError):
        localserver.backend_name(3)


# -- doctor -----------------------------------------------------------------------------------

@needs_cli
def test_doctor_no_key_engine_works(env):
    report = doctor.run()
    assert report.ready and report.uses == "local", report.text()
    text = report.text()
    assert "READY" in text and "offline engine: starts" in text and "library: " in text
    assert "requests: " in text and "CA bundle: " in text


def test_doctor_nothing_set_up_says_what_to_do(env, monkeypatch, tmp_path):
    monkeypatch.setenv("SMART_BEAUTY_CLI", str(tmp_path / "none"))
    report = doctor.run()
    assert not report.ready
    text = report.text()
    assert "NOT READY" in text
    fail = [f for f in report.findings if f.status == doctor.FAIL]
    assert fail and "key set" in fail[-1].fix and "./install.sh --with-engine" in fail[-1].fix
    assert doctor.first_run_problem() is not None and "nothing was sent" in doctor.first_run_problem()


def test_doctor_key_accepted_and_never_printed(env, ailab, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", ailab.valid_key)
    monkeypatch.setenv("AILAB_API_BASE", ailab.url)
    report = doctor.run()
    assert report.ready and report.uses == "cloud", report.text()
    assert ailab.valid_key not in report.text()
    assert "accepted by the service" in report.text()


def test_doctor_wrong_key_is_a_problem_with_a_fix(env, ailab, monkeypatch):
    bad = "wrong-key-abcdefghijkl"
    monkeypatch.setenv("AILAB_API_KEY", bad)
    monkeypatch.setenv("AILAB_API_BASE", ailab.url)
    report = doctor.run()
    assert not report.ready
    assert bad not in report.text() and "****ijkl" in report.text()
    assert "NOT accepted" in report.text() and "Fix:" in report.text()
    assert "NOT accepted" in doctor.test_key(bad) and bad not in doctor.test_key(bad)
    assert "was not accepted" in doctor.preflight("auto")
    assert [r for r in ailab.requests() if r["endpoint"] == "submit"] == []


def test_doctor_missing_ca_bundle(env, ailab, monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    report = doctor.run(check_network=False, start_engine=False)
    ca = [f for f in report.findings if f.topic == "CA bundle"][0]
    assert ca.status == doctor.FAIL and "REQUESTS_CA_BUNDLE" in ca.fix


def _doctor(env_extra, *args):
    e = dict(os.environ, **env_extra)
    return subprocess.run([CLI, "doctor"] + list(args), env=e, capture_output=True, text=True, timeout=120)


@needs_cli
def test_cli_doctor_exit_status(env, ailab, tmp_path):
    ok = _doctor({})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "READY" in ok.stdout
    bad = _doctor({"SMART_BEAUTY_CLI": str(tmp_path / "none")})
    assert bad.returncode == 1 and "NOT READY" in bad.stdout
    wrong = _doctor({"AILAB_API_KEY": "wrong-key-000011112222", "AILAB_API_BASE": ailab.url})
    assert wrong.returncode == 1 and "wrong-key-000011112222" not in wrong.stdout + wrong.stderr
    good = _doctor({"AILAB_API_KEY": ailab.valid_key, "AILAB_API_BASE": ailab.url, "SMART_BEAUTY_CLI": "/none"},
                   "--backend", "cloud")
    assert good.returncode == 0, good.stdout
    assert ailab.valid_key not in good.stdout


@needs_cli
def test_serve_announce_line(tmp_path):
    proc = subprocess.Popen([CLI, "serve", "--port", "0", "--announce", "--idle-exit", "30", "--engine", "simple"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, SB_CONTROL_TOKEN="serve-control"))
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"url", "key", "pid", "engine", "version"} and info["pid"] == proc.pid
        assert info["version"] == localserver.__version__
        assert info["url"].startswith("http://127.0.0.1:") and not info["url"].endswith(":0")
        assert len(info["key"]) >= 24
        packs = requests.get(info["url"] + "/api/common/query-credits", headers={"ailabapi-api-key": info["key"]},
                             timeout=10).json()["data"]
        assert packs == []      # the offline service bills nothing: a dialog's previews never run it dry
        stats = requests.get(info["url"] + "/_control/stats", headers={"X-Control-Token": "serve-control"}, timeout=10)
        assert stats.status_code == 200 and stats.json()["counts"]["credits"] == 1   # its activity wrapper too
    finally:
        proc.terminate()
        proc.wait(10)


def test_in_background_keeps_the_calling_thread_ticking():
    ticks = []
    assert doctor.in_background(lambda: time.sleep(0.6) or 42, 0.05, ticks.append) == 42
    assert len(ticks) >= 8 and ticks == sorted(ticks)
    with pytest.raises(ZeroDivisionError):
        doctor.in_background(lambda: 1 / 0, 0.05, ticks.append)


def test_a_server_command_keeps_its_own_pythonpath_and_never_the_users_key():
    plain = localserver.Command(sys.executable, ["-m", localserver.CLI_MODULE])
    assert plain.argv(["serve"]) == [sys.executable, "-m", "smart_beauty_cli.cli", "serve"]
    assert "PYTHONPATH" not in localserver._child_env({"PYTHONPATH": "/gimp/own", "AILAB_API_KEY": "k"}, plain)
    checkout = localserver.Command(sys.executable, ["-m", localserver.CLI_MODULE], pythonpath="/src/lib")
    child = localserver._child_env({"PYTHONPATH": "/src/lib", "AILAB_API_KEY": "k"}, checkout)
    assert child["PYTHONPATH"] == "/src/lib" and "AILAB_API_KEY" not in child

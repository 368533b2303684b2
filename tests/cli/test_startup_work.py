"""What a cold ``smart-beauty retouch`` does before it needs to (issue #12, whole-process speed).

Each check runs in a fresh interpreter, as the command and its background server do: what a module
imports at its top is paid by every run. requests (0.1 s) is not imported by the local server nor by a
command before it has started that server, and neither requests nor Werkzeug by a command that runs the
engine itself; numpy is not imported by a command whose file was sent as it
is; the server's BLAS makes no threads; the local pace of polling sees a result within hundredths of a
second.
"""
import json
import os
import subprocess
import sys
import textwrap

from PIL import Image

from smart_beauty import localserver
from smart_beauty.jobs import LOCAL_PACE
from smart_beauty.polling import PollPolicy

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lib")


def run_fresh(code, tmp_path, **env):
    """Run ``code`` in a new Python with this checkout's lib/; returns its last stdout line as JSON."""
    child = dict(os.environ, PYTHONPATH=LIB, SMART_BEAUTY_CONFIG_DIR=str(tmp_path / "config"), **env)
    child.pop("AILAB_API_KEY", None)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=child, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_local_server_process_imports_no_http_client(tmp_path):
    # what 'smart-beauty serve' imports: the command's module, the server, the engine
    seen = run_fresh("""
        import json, sys
        import smart_beauty_cli.cli, smart_beauty_server.serve
        from smart_beauty_engine import offline, masks, retouch, warp, faces
        print(json.dumps(sorted(m for m in ("requests", "urllib3") if m in sys.modules)))
    """, tmp_path)
    assert seen == []


def test_a_command_starts_the_server_before_importing_the_http_client(tmp_path):
    # a server that has exited left its address behind (the usual cold start after the idle time):
    # found not listening without requests, and the new one is started at once
    seen = run_fresh("""
        import json, socket, sys
        from smart_beauty import __version__, localserver
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        localserver._make_dir(localserver.sb_settings.config_dir())
        localserver._write_state({"url": "http://127.0.0.1:%d" % port, "key": "k", "pid": 1,
                                  "engine": "simple", "version": __version__})
        started = []
        localserver.start = lambda command, env, timeout, spawned=None: started.append("requests" in sys.modules) or \\
            localserver.LocalServer("http://127.0.0.1:9", "k")
        localserver.ensure(command=localserver.Command(sys.executable))
        print(json.dumps({"started": started, "requests": "requests" in sys.modules}))
    """, tmp_path, SMART_BEAUTY_ENGINE="simple")
    assert seen == {"started": [False], "requests": False}


def test_a_retouch_in_the_commands_own_process_imports_no_http_client_nor_server(tmp_path):
    # no server running: the engine runs in the command (smart_beauty_cli.inprocess), through the server's
    # job store but with neither requests nor Werkzeug (~0.1 s of imports between them)
    Image.new("RGB", (64, 48), (200, 150, 120)).save(str(tmp_path / "face.png"))
    seen = run_fresh("""
        import json, sys
        from smart_beauty_cli import launch
        sys.argv = ["smart-beauty", "retouch", %r, "-o", %r, "--quiet"]
        code = launch.main()
        print(json.dumps([code] + sorted(m for m in ("requests", "urllib3", "werkzeug") if m in sys.modules)))
    """ % (str(tmp_path / "face.png"), str(tmp_path / "out")), tmp_path, SMART_BEAUTY_ENGINE="simple")
    assert seen == [0] and (tmp_path / "out" / "face.beauty.png").exists()


def test_a_listening_server_is_still_probed_with_its_key(ailab, tmp_path):
    assert localserver._alive(ailab.url, ailab.valid_key)
    assert not localserver._alive(ailab.url, "not-its-key")


def test_a_file_sent_as_it_is_comes_back_without_numpy(tmp_path):
    src, result = tmp_path / "in.jpg", tmp_path / "result.png"
    Image.new("RGB", (64, 48), (120, 90, 80)).save(str(src), quality=92)
    Image.new("RGB", (64, 48), (130, 95, 85)).save(str(result))
    seen = run_fresh("""
        import io, json, sys
        from smart_beauty_cli import imaging
        original = imaging.Original(%r, pixels=False)
        prepared = imaging.prepare_original(original)
        described = imaging.write_retouched(original, prepared.path, %r, io.BytesIO(), "png")
        print(json.dumps([prepared.encoding, described, "numpy" in sys.modules]))
    """ % (str(src), str(result)), tmp_path)
    assert seen == ["original", "png 8-bit", False]


def test_the_server_and_the_command_ask_for_one_blas_thread(tmp_path):
    child = localserver._child_env({"PATH": "/bin"})
    assert child["OPENBLAS_NUM_THREADS"] == "1"
    assert localserver._child_env({"OPENBLAS_NUM_THREADS": "4"})["OPENBLAS_NUM_THREADS"] == "4"   # the user's
    seen = run_fresh("""
        import json, os, sys
        from smart_beauty_cli import launch
        sys.argv = ["smart-beauty", "--version"]
        try:
            launch.main()
        except SystemExit:
            pass
        print(json.dumps(os.environ.get("OPENBLAS_NUM_THREADS")))
    """, tmp_path)
    assert seen == "1"


def test_the_command_leaves_its_objects_to_the_exit_without_collecting_them(tmp_path):
    seen = run_fresh("""
        import gc, json, sys
        from smart_beauty_cli import launch
        sys.argv = ["smart-beauty", "presets", "list"]
        launch.main()
        print(json.dumps(gc.get_freeze_count() > 1000))
    """, tmp_path)
    assert seen is True


def test_the_local_pace_sees_a_result_within_hundredths_of_a_second():
    fresh = PollPolicy(**LOCAL_PACE)     # (the process's LOCAL_POLICY learns from every job it polled)
    t, times = fresh.first_delay(), []
    while t <= 3.0:
        times.append(t)
        t += fresh.interval(t)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert times[0] <= 0.02                     # a warm 0.26 MP retouch takes a few hundredths
    assert max(b for a, b in zip(times, gaps) if a <= 0.5) <= 0.08   # a cold one: a few tenths
    assert max(gaps) <= 0.1 + 1e-9 and min(gaps) >= 0.01 - 1e-9
    assert len(times) <= 40                     # a 3 s job (12 MP): no flood of queries

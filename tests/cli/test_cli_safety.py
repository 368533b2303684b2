"""Issue 13, parts 2 and 3: no credits spent for results that could not be kept, no planted link
followed, resume that knows what each output was made from, and one sentence (never a traceback)
for every misuse found by trying to break the CLI. Real files, the local AILab server, real HTTP."""
import argparse
import csv
import io
import json
import os
import stat
import struct
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
import requests
from PIL import Image

from smart_beauty import batch, doctor, imagefile, settings
from smart_beauty_cli import cli

from test_cli import outputs, photo

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def env(service_env):
    return service_env


def images(env, n, folder="in"):
    d = env / folder
    d.mkdir(exist_ok=True)
    for i in range(n):
        Image.fromarray(photo(24 + i, 20, seed=i)).save(d / ("p%d.png" % i))
    return d


def one_sentence(text):
    """What a user sees for a refused command: one line, ends like a sentence, no traceback."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text and lines[0].rstrip().endswith((".", ")")), text
    return lines[0]


def submits(ailab):
    return ailab.stats()["counts"]["submit"]


# -- 2. credits: nothing is sent when a result could not be kept ---------------------------------

def test_an_output_folder_that_cannot_be_created_costs_nothing(env, ailab, capsys):
    src = images(env, 3)
    (env / "afile").write_text("x")
    code = cli.main(["retouch", str(src), "-o", str(env / "afile" / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and submits(ailab) == 0
    assert "Cannot create the output folder" in one_sentence(err)


def test_an_output_folder_that_refuses_files_costs_nothing(env, ailab, capsys):
    """An existing folder where no file can be created (as root: /sys, which refuses even root)."""
    src = images(env, 3)
    if IS_ROOT:
        target = "/sys"
    else:
        target = str(env / "ro")
        os.mkdir(target, 0o500)
    code = cli.main(["retouch", str(src), "-o", target, "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and submits(ailab) == 0, err
    assert "Cannot write to the folder" in one_sentence(err) and "nothing was sent" in err


def test_an_output_name_taken_by_a_folder_costs_nothing(env, ailab, capsys):
    src = images(env, 2)
    (env / "out" / "p1.beauty.png").mkdir(parents=True)
    assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--quiet"]) == 1
    assert submits(ailab) == 0
    assert "is a folder" in one_sentence(capsys.readouterr().err)


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_a_report_that_cannot_be_written_costs_nothing(env, ailab, capsys, where):
    src = images(env, 2)
    (env / "afile").write_text("x")
    report = env / "reports" if where == "folder" else env / "afile" / "r.csv"
    (env / "reports").mkdir()
    assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--report", str(report), "--quiet"]) == 1
    line = one_sentence(capsys.readouterr().err)
    assert submits(ailab) == 0 and ("is a folder" in line if where == "folder" else "report cannot be" in line)


def test_a_batch_item_whose_folder_refuses_files_is_failed_unsent(tmp_path, ailab):
    """The same rule inside the batch machinery the GIMP batch procedures use."""
    from smart_beauty import Client

    src = tmp_path / "a.png"
    Image.fromarray(photo(16, 16)).save(src)
    pairs = [(str(src), str(tmp_path / "ok" / "a.beauty.png")), (str(src), str(tmp_path / "f" / "x" / "b.png"))]
    (tmp_path / "f").write_text("a file where a folder should be")

    def finish(item, result, temp):
        with batch.open_temp_output(temp) as f, open(result, "rb") as r:
            f.write(r.read())

    with Client(ailab.valid_key, ailab.url) as client:
        run = batch.Batch(client, pairs, lambda item, workdir: item.source, finish)
        run.run_all(tick=0.05)
    assert [i.status for i in run.items] == [batch.DONE, batch.FAILED]
    assert "nothing was sent" in run.items[1].message and submits(ailab) == 1


# -- 2. the temporary output is created exclusively; a planted link is never followed ------------

@pytest.mark.parametrize("plant", ["symlink", "hardlink"])
def test_a_link_planted_at_the_temp_name_is_not_written_through(env, ailab, monkeypatch, capsys, plant):
    src = images(env, 1)
    victim = env / "victim.txt"
    victim.write_text("the user's own file\n")
    real = batch._temp_output

    def planted(output):
        path = real(output)
        os.remove(path)          # an attacker who can write the folder swaps the file for a link
        (os.symlink if plant == "symlink" else os.link)(str(victim), path)
        return path

    monkeypatch.setattr(batch, "_temp_output", planted)
    assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--quiet"]) == 1
    assert victim.read_text() == "the user's own file\n"
    assert "was replaced by" in capsys.readouterr().err
    assert outputs(env / "out") == []


def test_outputs_and_reports_follow_the_umask(env, ailab):
    src = images(env, 1)
    old = os.umask(0o027)
    try:
        assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--report", str(env / "r.csv"),
                         "--quiet"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(env / "out" / "p0.beauty.png").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(env / "r.csv").st_mode) == 0o640


# -- 2. resume knows what each output was made from ----------------------------------------------

def test_another_file_with_the_same_name_is_refused_not_skipped(env, ailab, capsys):
    d = env / "in"
    d.mkdir()
    Image.fromarray(photo(20, 20, seed=1)).save(d / "a.jpg")
    Image.fromarray(photo(20, 20, seed=2)).save(d / "a.png")
    out = env / "out"
    assert cli.main(["retouch", str(d / "a.jpg"), "-o", str(out), "--quiet"]) == 0
    made = (out / "a.beauty.png").read_bytes()
    capsys.readouterr()
    assert cli.main(["retouch", str(d / "a.png"), "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "was made from" in err and "a.jpg" in err and "skipped" not in err
    assert (out / "a.beauty.png").read_bytes() == made and submits(ailab) == 1
    assert cli.main(["retouch", str(d / "a.png"), "-o", str(out), "--quiet", "--force"]) == 0
    assert submits(ailab) == 2


def test_a_changed_source_or_level_is_redone_and_an_unchanged_one_skipped(env, ailab, capsys):
    src = images(env, 1)
    out = env / "out"
    args = ["retouch", str(src), "-o", str(out), "--quiet", "--report", str(env / "r.json")]

    def statuses():
        return [r["status"] for r in json.loads((env / "r.json").read_text())]

    assert cli.main(args + ["--level", "0.5"]) == 0 and submits(ailab) == 1
    assert cli.main(args + ["--level", "0.5"]) == 0 and statuses() == ["skipped"] and submits(ailab) == 1
    assert cli.main(args + ["--level", "0.7"]) == 0 and statuses() == ["done"] and submits(ailab) == 2
    Image.fromarray(photo(24, 20, seed=9)).save(src / "p0.png")   # same name, new pixels
    os.utime(src / "p0.png", (1, 1))
    assert cli.main(args + ["--level", "0.7"]) == 0 and statuses() == ["done"] and submits(ailab) == 3
    os.utime(src / "p0.png", (5, 5))   # touched only: the content is the same, so it is still done
    assert cli.main(args + ["--level", "0.7"]) == 0 and statuses() == ["skipped"] and submits(ailab) == 3


def test_an_output_nobody_recorded_is_not_overwritten(env, ailab, capsys):
    src = images(env, 1)
    (env / "out").mkdir()
    (env / "out" / "p0.beauty.png").write_bytes(b"someone else's file")
    assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--quiet"]) == 1
    assert "no record of making it" in capsys.readouterr().err and submits(ailab) == 0
    assert (env / "out" / "p0.beauty.png").read_bytes() == b"someone else's file"


# -- 2. doctor: READY only when a retouch would work ---------------------------------------------

def test_doctor_is_not_ready_with_a_key_file_others_can_read(env, monkeypatch, capsys):
    monkeypatch.delenv("AILAB_API_KEY")
    path = settings.save_api_key("stored-key-0123456789")
    os.chmod(path, 0o644)
    for backend in ("auto", "local", "cloud"):
        report = doctor.run(backend=backend, check_network=False, start_engine=False)
        assert not report.ready, (backend, report.text())
        assert "chmod 600" in report.text() and "NOT READY" in report.text()
    monkeypatch.setenv("SMART_BEAUTY_CLI", sys.executable)  # "installed": only the key file is wrong
    assert cli.main(["doctor", "--no-network"]) == 1
    assert "NOT READY" in capsys.readouterr().out


# -- 2. the user-facing server ---------------------------------------------------------------

def test_served_for_people_fault_keys_only_when_asked_and_host_checked(tmp_path):
    import threading
    import time

    from smart_beauty_server import serve as serve_mod

    credits = "/api/common/query-credits"
    for allow in (False, True):
        out = io.StringIO()
        t = threading.Thread(target=serve_mod.serve, kwargs=dict(port=0, out=out, idle_exit=1.0,
                                                                 allow_fault_keys=allow))
        t.start()
        deadline = time.time() + 10
        while not out.getvalue() and time.time() < deadline:
            time.sleep(0.02)
        url = out.getvalue().strip()
        fault_key = "fault:error:endpoint=credits,status=500"
        fault = requests.get(url + credits, headers={"ailabapi-api-key": fault_key}, timeout=5)
        assert fault.status_code == (500 if allow else 401)
        ok = requests.get(url + credits, headers={"ailabapi-api-key": "sb-local-test-key"}, timeout=5)
        assert ok.status_code == 200
        rebound = requests.get(url + credits, headers={"ailabapi-api-key": "sb-local-test-key",
                                                       "Host": "attacker.example:8787"}, timeout=5)
        assert rebound.status_code == 421
        for host in ("localhost:1", "[::1]:2", "127.0.0.1"):
            assert requests.get(url + credits, headers={"ailabapi-api-key": "sb-local-test-key",
                                                        "Host": host}, timeout=5).status_code == 200
        t.join(15)
        assert not t.is_alive()


def test_server_results_live_on_disk_and_go_when_they_expire(ailab_inproc):
    srv = ailab_inproc
    srv.configure(result_ttl=1.0)
    buf = io.BytesIO()
    Image.fromarray(photo(40, 30)).save(buf, "PNG")
    key = {"ailabapi-api-key": srv.valid_key}
    r = requests.post(srv.url + "/api/portrait/effects/smart-beauty", headers=key, timeout=10,
                      data={"task_type": "async"}, files={"image_target": ("a.png", buf.getvalue(), "image/png")})
    task_id = r.json()["task_id"]
    import time
    deadline = time.time() + 10
    while time.time() < deadline:
        body = requests.get(srv.url + "/api/common/query-async-task-result", params={"task_id": task_id},
                            headers=key, timeout=5).json()
        if body["task_status"] == 2:
            break
        time.sleep(0.05)
    task = srv.store.get(task_id)
    assert not any(hasattr(task, name) for name in ("png", "encoded")) and os.path.isfile(task.result_path)
    assert os.path.dirname(task.result_path) == srv.store.result_dir
    assert stat.S_IMODE(os.stat(srv.store.result_dir).st_mode) == 0o700
    assert requests.get(body["data"]["image_url"], timeout=5).content[:4] == b"\x89PNG"
    path = task.result_path
    deadline = time.time() + 5
    while os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(path)
    assert requests.get(body["data"]["image_url"], timeout=5).status_code == 404
    assert [n for n in os.listdir(srv.store.result_dir) if n.endswith(".upload")] == []


# -- 3. one sentence, never a traceback ---------------------------------------------------------

def test_check_missing_folder_and_unreadable(env, capsys):
    assert cli.main(["check", str(env / "nope.jpg")]) == 1
    assert "does not exist" in one_sentence(capsys.readouterr().out)
    assert cli.main(["check", str(env)]) == 1
    assert "is a folder" in one_sentence(capsys.readouterr().out)
    assert "permission denied" in imagefile.unreadable("x.jpg", PermissionError(13, "Permission denied"))
    if not IS_ROOT:
        locked = env / "locked.png"
        Image.fromarray(photo(8, 8)).save(locked)
        os.chmod(locked, 0)
        assert cli.main(["check", str(locked)]) == 1
        assert "permission denied" in one_sentence(capsys.readouterr().out)


def test_output_dir_naming_a_file(env, ailab, capsys):
    src = images(env, 1)
    (env / "o.txt").write_text("x")
    assert cli.main(["retouch", str(src), "-o", str(env / "o.txt"), "--quiet"]) == 1
    assert "names a file" in one_sentence(capsys.readouterr().err) and submits(ailab) == 0


def test_csv_report_with_a_file_name_that_is_not_utf8(env, ailab):
    d = env / "in"
    d.mkdir()
    name = os.fsdecode(b"caf\xe9.png")   # Latin-1 bytes in a file name
    Image.fromarray(photo(16, 16)).save(os.path.join(str(d), name))
    assert cli.main(["retouch", str(d), "-o", str(env / "out"), "--report", str(env / "r.csv"), "--quiet"]) == 0
    raw = (env / "r.csv").read_bytes()
    assert b"caf\xe9.png" in raw     # the name's own bytes, as the file system has them
    with open(env / "r.csv", newline="", encoding="utf-8", errors="surrogateescape") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["done"]


def _png_header(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("size", [(16000, 16000), (21000, 21000)])   # 256 MP (warned by Pillow), 441 MP
def test_huge_png_is_refused_from_its_header(env, ailab, capsys, size):
    path = env / "huge.png"
    path.write_bytes(_png_header(*size))
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # a DecompressionBombWarning would fail here
        assert cli.main(["check", str(path)]) == 1
        assert "at most 200 MP" in one_sentence(capsys.readouterr().out)
        assert cli.main(["retouch", str(path), "-o", str(env / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "at most 200 MP" in err and "unexpectedly" not in err and submits(ailab) == 0


def test_serve_on_a_public_address_is_one_sentence(capsys):
    assert cli.main(["serve", "--host", "0.0.0.0", "--engine", "simple"]) == 1
    assert "loopback" in one_sentence(capsys.readouterr().err)


def test_key_given_as_an_argument_is_refused_without_echo(env, capsys):
    secret = "sk-live-0123456789abcdef"
    for argv in (["key", "set", secret], ["key", secret], ["key", "set", "--", secret]):
        code = cli.main(argv)
        captured = capsys.readouterr()
        assert code == 1 and secret not in captured.out + captured.err, argv
        assert "never taken from the command line" in captured.err or "takes set" in captured.err
    with pytest.raises(SystemExit):
        cli.main(["key", "set", "--" + secret])   # an unknown option: argparse refuses it, without the value
    assert secret not in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["retouch", "x.png", "--backend", secret])   # a refused choice is not repeated either
    err = capsys.readouterr().err
    assert secret not in err and "choose from" in err
    assert not (env / "cfg" / "api-key").exists()


def test_negative_deadline_is_refused(env, ailab, capsys):
    src = images(env, 1)
    assert cli.main(["retouch", str(src), "--deadline", "-5", "--quiet"]) == 1
    assert "--deadline" in one_sentence(capsys.readouterr().err) and submits(ailab) == 0


def test_key_delete_with_nothing_stored_says_so(env, capsys):
    assert cli.main(["key", "delete"]) == 0
    out = capsys.readouterr().out
    assert "No key was stored" in out and "Removed" not in out and "AILAB_API_KEY is set" in out
    settings.save_api_key("stored-key-0123456789")
    assert cli.main(["key", "delete"]) == 0
    assert "Removed the stored key" in capsys.readouterr().out


def test_summary_counts_every_input_after_a_name_clash(env, ailab, capsys):
    d = images(env, 2)
    Image.fromarray(photo(20, 20, seed=4)).save(d / "p0.jpg")
    assert cli.main(["retouch", str(d), "-o", str(env / "o"), "--quiet"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "1 of 3 image(s) failed; 3 image(s): 2 done, 1 failed" in last


def test_every_option_has_help_and_there_is_a_version(capsys):
    parser = cli.build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)][0]
    missing = []
    for name, sub in list(subs.choices.items()) + [("", parser)]:
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append("%s %s" % (name, action.dest))
    assert missing == []
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("smart-beauty 0.")


def test_installed_command_shows_no_traceback_for_a_missing_input(env):
    exe = os.path.join(os.path.dirname(sys.executable), "smart-beauty")
    proc = subprocess.run([exe, "check", str(env / "missing.png")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "does not exist" in proc.stdout


def test_interrupt_summary_adds_up(env, ailab, capsys):
    """After Ctrl-C the summary's numbers add up to the inputs (done + not retouched)."""
    import re
    import signal
    import threading
    import time
    ailab.set_durations(job_seconds=0.6)
    src = images(env, 6)

    def interrupt():
        deadline = time.time() + 20
        while time.time() < deadline and submits(ailab) < 2:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt)
    t.start()
    try:
        code = cli.main(["retouch", str(src), "-o", str(env / "out"), "--jobs", "2", "--quiet"])
    finally:
        t.join()
    assert code == 130
    err = capsys.readouterr().err
    m = re.search(r"(\d+) image\(s\): (\d+) done, (\d+) not retouched", err)
    assert m and int(m.group(1)) == 6 and int(m.group(2)) + int(m.group(3)) == 6, err
    assert len(outputs(env / "out")) == int(m.group(2))


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM and SIGHUP as POSIX sends them")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_command_ended_by_kill_or_a_closed_terminal_leaves_nothing_behind(env, ailab, signame):
    """``kill``, ``timeout`` or closing the terminal end a batch as a second Ctrl-C does: the jobs in flight
    are abandoned, the batch's temp folder goes, no output is half-written, and the exit status is the
    shell's for that signal (Python's default would end the process with its temp folder left)."""
    import signal
    import time
    ailab.set_durations(job_seconds=1.0)
    src = images(env, 4)
    tmp = env / "tmp"
    tmp.mkdir()
    lib = os.path.dirname(os.path.dirname(cli.__file__))
    child = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=lib)
    proc = subprocess.Popen([sys.executable, "-m", "smart_beauty_cli.launch", "retouch", str(src), "-o",
                             str(env / "out"), "--jobs", "1", "--quiet", "--backend", "cloud"],
                            env=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and submits(ailab) < 2:
            time.sleep(0.02)
        assert submits(ailab) >= 2
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + getattr(signal, signame), err
    assert "stopped (%s)" % signame in err and "Traceback" not in err, err
    assert os.listdir(str(tmp)) == []
    written = sorted(os.listdir(str(env / "out")))
    assert all(not name.startswith(".") or name == batch.LEDGER for name in written), written
    for name in written:
        if not name.startswith("."):
            Image.open(str(env / "out" / name)).load()      # whole files only


def test_the_version_matches_the_package(capsys):
    from importlib import metadata
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.split()[1] == metadata.version("smart-beauty-gimp")


def test_an_unwritable_report_after_the_work_is_one_sentence(env, ailab, capsys, monkeypatch):
    src = images(env, 1)

    def full(*a, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cli, "write_report", full)
    assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--report", str(env / "r.json"),
                     "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "could not be written (no space left on device" in err.lower() and "Traceback" not in err
    assert outputs(env / "out") == ["p0.beauty.png"]


def test_big_batches_keep_no_image_in_memory_after_it_is_written(env, ailab):
    """Memory is bounded whatever the batch size: a finished item keeps no pixels, no prepared upload."""
    src = images(env, 5)
    run_items = []
    real = cli.make_batch

    def spy(*a, **kw):
        run = real(*a, **kw)
        run_items.append(run)
        return run
    import unittest.mock
    with unittest.mock.patch.object(cli, "make_batch", spy):
        assert cli.main(["retouch", str(src), "-o", str(env / "out"), "--quiet"]) == 0
    items = run_items[0].items
    assert all(i.status == batch.DONE for i in items)
    assert all(not isinstance(v, (np.ndarray, Image.Image)) and "prepared" not in i.context
               for i in items for v in i.context.values())

"""``smart-beauty retouch DIR -o OUT --jobs N``: overlap, report, resume, Ctrl-C (Python 3, real HTTP)."""
import csv
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from PIL import Image

from smart_beauty_cli import cli

from test_cli import outputs, photo


@pytest.fixture
def env(service_env):
    return service_env


def folder(env, n, name="in"):
    d = env / name
    d.mkdir()
    for i in range(n):
        Image.fromarray(photo(32 + i, 24, seed=i)).save(d / ("img%02d.png" % i))
    (d / "notes.txt").write_text("not an image")
    (d / "old.beauty.png").write_bytes(b"")  # our own output is never an input
    return d


def overlap(tasks):
    marks = sorted([(t["submitted_at"], 1) for t in tasks] + [(t["ready_at"], -1) for t in tasks])
    best = cur = 0
    for _, step in marks:
        cur += step
        best = max(best, cur)
    return best


def test_a_folder_with_jobs_overlaps_and_writes_a_json_report(env, ailab, capsys):
    ailab.set_durations(job_seconds=0.4)
    src = folder(env, 6)
    out = env / "out"
    report = env / "r" / "report.json"
    assert cli.main(["retouch", str(src), "-o", str(out), "--jobs", "4", "--report", str(report), "--quiet"]) == 0
    assert outputs(out) == ["img%02d.beauty.png" % i for i in range(6)]
    assert overlap(ailab.stats()["tasks"].values()) == 4
    rows = json.loads(report.read_text())
    assert [os.path.basename(r["file"]) for r in rows] == ["img%02d.png" % i for i in range(6)]
    for row in rows:
        assert row["status"] == "done" and row["seconds"] > 0 and row["request_id"] and row["error"] is None
        assert row["encoding"] == "original" and row["scale"] == 1.0
    assert "img05.beauty.png" in capsys.readouterr().out


def test_rerun_resumes_and_force_redoes_csv_report(env, ailab, capsys):
    src = folder(env, 3)
    out = env / "out"
    (src / "img01.png").write_bytes(b"broken")  # fails: not an image
    assert cli.main(["retouch", str(src), "-o", str(out), "--quiet"]) == 1
    assert outputs(out) == ["img00.beauty.png", "img02.beauty.png"]
    Image.fromarray(photo(20, 20)).save(src / "img01.png")
    report = env / "report.csv"
    assert cli.main(["retouch", str(src), "-o", str(out), "--quiet", "--report", str(report)]) == 0
    with open(report, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["skipped", "done", "skipped"]
    assert list(rows[0])[:5] == ["file", "status", "seconds", "request_id", "error"]
    assert ailab.stats()["counts"]["submit"] == 3
    assert cli.main(["retouch", str(src), "-o", str(out), "--quiet", "--force"]) == 0
    assert ailab.stats()["counts"]["submit"] == 6


def test_a_failure_leaves_no_partial_file_and_is_reported(env, ailab, capsys):
    src = folder(env, 3)
    Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(src / "img01.png")  # no face for the test engine
    out = env / "out"
    report = env / "r.json"
    assert cli.main(["retouch", str(src), "-o", str(out), "--quiet", "--jobs", "3", "--report", str(report)]) == 1
    assert outputs(out) == ["img00.beauty.png", "img02.beauty.png"]
    rows = {os.path.basename(r["file"]): r for r in json.loads(report.read_text())}
    assert rows["img01.png"]["status"] == "failed" and "No face" in rows["img01.png"]["error"]
    assert rows["img01.png"]["request_id"]
    err = capsys.readouterr().err.strip().splitlines()
    assert "1 of 3 image(s) failed" in err[-1]


def test_ctrl_c_stops_submitting_lets_jobs_in_flight_finish_and_prints_the_summary(env, ailab, capsys):
    ailab.set_durations(job_seconds=1.0)
    src = folder(env, 8)
    out = env / "out"

    def interrupt_when_two_are_running():
        deadline = time.time() + 20
        while time.time() < deadline and ailab.stats()["counts"]["submit"] < 2:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt_when_two_are_running)
    t.start()
    try:
        code = cli.main(["retouch", str(src), "-o", str(out), "--jobs", "2", "--quiet"])
    finally:
        t.join()
    assert code == 130
    assert ailab.stats()["counts"]["submit"] == 2
    assert outputs(out) == ["img00.beauty.png", "img01.beauty.png"]  # whole files only, no .part
    err = capsys.readouterr().err
    assert "stopping" in err and "2 done" in err and "6 not retouched" in err


def test_same_output_name_is_refused_not_overwritten(env, ailab, capsys):
    d = env / "in"
    d.mkdir()
    Image.fromarray(photo(20, 20)).save(d / "a.png")
    Image.fromarray(photo(20, 20, seed=4)).save(d / "a.jpg")
    assert cli.main(["retouch", str(d), "-o", str(env / "o"), "--quiet"]) == 1
    assert outputs(env / "o") == ["a.beauty.png"]
    assert "same name" in capsys.readouterr().err


def test_big_photo_reports_how_it_was_sent(env, ailab):
    src = env / "big.png"
    Image.fromarray(photo(4200, 300, seed=3)).save(src)
    report = env / "r.json"
    assert cli.main(["retouch", str(src), "-o", str(env / "o"), "--quiet", "--report", str(report)]) == 0
    row = json.loads(report.read_text())[0]
    assert row["encoding"] in ("png", "jpeg q95 4:4:4") and row["scale"] == pytest.approx(4095 / 4200, abs=1e-4)


def test_recompose_to_png_keeps_untouched_pixels_exactly_and_matches_recompose(tmp_path):
    from smart_beauty_cli import imaging
    original = photo(300, 200, seed=5)
    small = np.asarray(Image.fromarray(original).resize((150, 100), Image.LANCZOS))
    result = small.copy()
    result[40:60, 50:80] = np.clip(result[40:60, 50:80].astype(int) + 30, 0, 255).astype(np.uint8)
    paths = {}
    for name, arr in (("src", original), ("sent", small), ("result", result)):
        paths[name] = str(tmp_path / (name + ".png"))
        Image.fromarray(arr).save(paths[name])
    dest = str(tmp_path / "out.png")
    imaging.recompose_to_png(paths["src"], paths["sent"], paths["result"], dest, strip_rows=37)
    out = np.asarray(Image.open(dest))
    far = np.ones(original.shape[:2], bool)
    far[60:140, 80:180] = False
    assert np.array_equal(out[far], original[far])
    reference = imaging.recompose(original, small, result)
    gap = np.abs(out.astype(int) - reference.astype(int))
    # 8-bit upscales clip bicubic overshoot separately (only next to saturated pixels): rare and small
    assert np.percentile(gap, 99.5) <= 2 and gap.mean() < 0.2
    assert np.abs(out[80:120, 100:160].astype(int) - original[80:120, 100:160].astype(int)).mean() > 20


def test_patterns_and_path_lists_take_what_the_gimp_batch_takes(env, ailab, capsys):
    """The CLI's inputs follow the one batch rule (smart_beauty.batchfiles), as the GIMP batch does: a
    quoted pattern and an os.pathsep list are expanded, our outputs and dot-files are left out, and the
    same file reached twice is retouched once."""
    src = folder(env, 3)
    Image.fromarray(photo(20, 20, seed=9)).save(src / ".hidden.png")
    out = env / "out"
    spec = os.pathsep.join([str(src / "img00.png"), str(src / "*.png")])
    assert cli.main(["retouch", spec, str(src / "img01.png"), "-o", str(out), "--quiet"]) == 0
    assert outputs(out) == ["img%02d.beauty.png" % i for i in range(3)]
    assert len(ailab.stats()["tasks"]) == 3

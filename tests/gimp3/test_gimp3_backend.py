"""GIMP 3 adapter: backend choice (the offline engine started on demand as a real subprocess),
first run, Check Setup, and progress that keeps flowing while a slow job runs."""
import os
import sys
import time

import fakecore as core
import numpy as np
import pytest
from scenes import portrait, simple_engine

from smart_beauty import localserver

CLI = os.path.join(os.path.dirname(sys.executable), "smart-beauty")
needs_cli = pytest.mark.skipif(not os.path.exists(CLI), reason="the smart-beauty command is not installed")
SUCCESS = 3


def status(result):
    return int(result.index(0))


@pytest.fixture
def local(monkeypatch):
    """The real `smart-beauty serve` with the SimpleEngine, started by the plug-in itself."""
    monkeypatch.setenv("SMART_BEAUTY_CLI", CLI)
    monkeypatch.setenv("SMART_BEAUTY_ENGINE", "simple")
    yield
    localserver.stop()


def scene(g3):
    Gimp = g3.Gimp
    img = Gimp.Image.new(40, 30, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "face", 40, 30, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    layer._m.pixels[...] = portrait(30, 40, 5)
    img.insert_layer(layer, None, 0)
    return img, layer


@needs_cli
@pytest.mark.parametrize("backend", ["local", "auto"])
def test_offline_engine_without_a_key(g3_offline, local, backend):
    g3 = g3_offline
    img, layer = scene(g3)
    src = layer._m.pixels.copy()
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], beauty_level=0.6, backend=backend)
    assert status(result) == SUCCESS, result.index(1)
    new = img.get_layers()[0]
    assert new.get_name() == "Smart Beauty (level 0.60)"
    assert np.array_equal(new._m.pixels[..., :3], simple_engine(src, 0.6))
    state = localserver._read_state()
    assert state and state["engine"] == "simple"
    # a second run reuses the running server
    g3.run("python-fu-smart-beauty", image=img, drawables=[layer], backend=backend)
    assert localserver._read_state()["pid"] == state["pid"]
    assert g3.leftovers() == []


@needs_cli
def test_batch_with_the_local_backend(g3_offline, local):
    g3 = g3_offline
    from PIL import Image as PILImage
    src = os.path.join(g3.root, "in")
    os.makedirs(src)
    a = portrait(24, 32, 11)
    PILImage.fromarray(a).save(os.path.join(src, "a.png"))
    out = os.path.join(g3.root, "out")
    result = g3.run("python-fu-smart-beauty-batch", input=src, output_folder=out, beauty_level=0.5, backend="local")
    assert status(result) == SUCCESS, result.index(1)
    got = np.asarray(PILImage.open(os.path.join(out, "a.beauty.png")).convert("RGB"))
    assert np.array_equal(got, simple_engine(a, 0.5))


def test_cloud_backend_never_starts_the_engine(g3_offline, local):
    g3 = g3_offline
    img, layer = scene(g3)
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], backend="cloud")
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert "No AILab API key" in g3.session.seen[0]
    assert localserver._read_state() is None
    assert core.snapshot(img._m) == before


def test_missing_engine_is_one_clear_message(g3_offline):
    g3 = g3_offline       # SMART_BEAUTY_CLI points at nothing (conftest)
    img, layer = scene(g3)
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], backend="local")
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert len(g3.session.seen) == 1
    assert "offline engine is not installed" in g3.session.seen[0]
    assert "./install.sh --with-engine" in g3.session.seen[0]
    assert core.snapshot(img._m) == before and g3.leftovers() == []


def test_first_run_says_what_to_do_before_the_dialog(g3_offline):
    g3 = g3_offline
    img, layer = scene(g3)
    result = g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[layer])
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert g3.GimpUi.dialogs == []          # no dialog, nothing exported or sent
    assert "API key" in g3.session.seen[0] and "./install.sh --with-engine" in g3.session.seen[0]


def test_a_wrong_key_is_reported_before_any_job(g3, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", "wrong-key-000000000000")
    img, layer = scene(g3)
    since = len(g3.ailab.requests())
    result = g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[layer])
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert "not accepted" in g3.session.seen[0] and "wrong-key-000000000000" not in g3.session.seen[0]
    assert [r["endpoint"] for r in g3.ailab.requests(since)] == ["credits"]


def test_invalid_backend_value_is_kept_out_by_the_config(g3):
    proc = g3.pdb.lookup_procedure("python-fu-smart-beauty")
    config = proc.create_config()
    config.set_property("backend", "gpu")
    assert config.get_property("backend") == "auto"


def test_check_setup_procedure(g3):
    proc = g3.pdb.lookup_procedure("python-fu-smart-beauty-check")
    assert [a.name for a in proc.get_arguments()] == ["run-mode"]
    assert proc.menu_paths == ["<Image>/Filters/Enhance/Smart Beauty"] and proc.menu_label == "_Check Setup..."
    result = g3.run("python-fu-smart-beauty-check")
    assert status(result) == SUCCESS, result.index(1)
    text = g3.session.seen[-1]
    assert "GIMP: 3.0" in text and "plug-in: " in text and "smart-beauty.py" in text and "READY" in text
    assert g3.ailab.valid_key not in text


def test_check_setup_not_ready(g3_offline):
    g3 = g3_offline
    result = g3.run("python-fu-smart-beauty-check")
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)   # scripts can tell
    assert len(g3.session.messages) == 1
    assert "NOT READY" in g3.session.messages[0] and "Fix:" in g3.session.messages[0]
    assert g3.session.shown_errors == [result.index(1).message]
    assert result.index(1).message.startswith("Smart Beauty is not ready")
    # From the menu the report is the answer: no error dialog on top of it.
    del g3.session.messages[:], g3.session.shown_errors[:]
    result = g3.run("python-fu-smart-beauty-check", run_mode=g3.Gimp.RunMode.INTERACTIVE)
    assert status(result) == SUCCESS
    assert len(g3.session.seen) == 1 and "NOT READY" in g3.session.seen[0]


class TimedList(list):
    """Records when each progress call happened."""

    def __init__(self):
        super().__init__()
        self.times = []

    def append(self, item):
        self.times.append(time.monotonic())
        super().append(item)


def test_a_slow_job_keeps_progress_flowing(g3):
    """Network waits run on a worker thread: the main thread updates the progress bar at least every
    ~0.1 s during a 1.2 s job (real time: GIMP's main thread is what is watched), with the job's state
    in the text."""
    g3.real_time()
    g3.ailab.set_durations(queued=0.4, processing=0.8)
    img, layer = scene(g3)
    g3.session.progress = TimedList()
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer])
    assert status(result) == SUCCESS
    updates = [p for p in g3.session.progress if p[0] == "update"]
    # a frozen main thread would update the bar once or twice, at the end; a moving one about 12 times
    assert len(updates) >= 6, len(updates)
    texts = [p[1] for p in g3.session.progress if p[0] == "text"]
    assert any("queue" in t.lower() for t in texts) and any("retouch" in t.lower() for t in texts), texts
    fractions = [p[1] for p in g3.session.progress if p[0] == "update"]
    during = fractions[:fractions.index(max(fractions))]
    assert during == sorted(during) and len(set(during)) >= 5


@needs_cli
def test_the_engine_starts_off_the_main_thread(g3_offline, local, monkeypatch, tmp_path):
    """A slow engine start (here 1.5 s) keeps the progress bar moving with its own text."""
    slow = tmp_path / "slow-smart-beauty"
    slow.write_text("#!/bin/sh\nsleep 1.5\nexec %s \"$@\"\n" % CLI)
    slow.chmod(0o755)
    monkeypatch.setenv("SMART_BEAUTY_CLI", str(slow))
    g3 = g3_offline
    img, layer = scene(g3)
    g3.session.progress = TimedList()
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], backend="local")
    assert status(result) == SUCCESS, result.index(1)
    starting = [t for t, p in zip(g3.session.progress.times, g3.session.progress)
                if p[0] == "text" and "starting the offline engine" in p[1]]
    assert len(starting) >= 1
    updates = [t for t, p in zip(g3.session.progress.times, g3.session.progress) if p[0] == "update"]
    assert len([t for t in updates if t <= starting[-1] + 0.2]) >= 10
    assert np.diff(updates).max() < 0.5

# -*- coding: utf-8 -*-
"""GIMP 2.10 adapter: backend option (the Python 2.7 plug-in starts the Python 3 offline engine
server on demand), first run, Check Setup, and progress that keeps flowing during a slow job.

Single source for Python 2.7 and 3. The local-engine runs need the `smart-beauty` command (Python 3)
next to the interpreter running the tests; under the py27 tier they are skipped."""
from __future__ import absolute_import, division, print_function

import os
import sys
import time

import numpy as np
import pytest

import fakecore as core
from scenes import portrait, simple_engine

from smart_beauty import localserver

CLI = os.path.join(os.path.dirname(sys.executable), "smart-beauty")
needs_cli = pytest.mark.skipif(not os.path.exists(CLI) or sys.version_info[0] < 3,
                               reason="the smart-beauty command (Python 3) is not installed here")
AUTO, CLOUD, LOCAL = "auto", "cloud", "local"


def use_backend(monkeypatch, name):
    """GIMP 2.10 keeps its 4 contract arguments: the backend comes from SMART_BEAUTY_BACKEND or
    the Settings dialog (settings.json)."""
    monkeypatch.setenv("SMART_BEAUTY_BACKEND", name)


@pytest.fixture
def local(monkeypatch):
    monkeypatch.setenv("SMART_BEAUTY_CLI", CLI)
    monkeypatch.setenv("SMART_BEAUTY_ENGINE", "simple")
    yield
    localserver.stop()


def scene(g2):
    img = g2.pdb.gimp_image_new(40, 30, core.RGB)
    layer = g2.pdb.gimp_layer_new(img, 40, 30, core.RGB_IMAGE, "face", 100.0, 28)
    layer._m.pixels[...] = portrait(30, 40, 5)
    g2.pdb.gimp_image_insert_layer(img, layer, None, 0)
    img._m.undo_steps = 0
    return img, layer


def test_the_contract_arguments_stay_as_they_are(g2):
    info = g2.gimpfu._registered_plugins_["python_fu_smart_beauty"]
    assert [p[1] for p in info[8]] == ["image", "drawable", "beauty_level", "multi_face"]
    batch = g2.gimpfu._registered_plugins_["python_fu_smart_beauty_batch"][8]
    assert [p[1] for p in batch] == ["input", "output_folder", "beauty_level", "multi_face"]


def test_backend_from_the_settings_file_when_the_environment_is_silent(g2_offline, monkeypatch):
    g2 = g2_offline
    monkeypatch.delenv("SMART_BEAUTY_BACKEND", raising=False)
    from smart_beauty import settings as sb_settings
    sb_settings.Settings.load().remember(backend="local")
    img, layer = scene(g2)
    g2.fails("python_fu_smart_beauty", img, layer, 0.6, 0)
    assert len(g2.session.messages) == 1 and "offline engine is not installed" in g2.session.messages[0]


@needs_cli
@pytest.mark.parametrize("backend", [LOCAL, AUTO])
def test_offline_engine_without_a_key(g2_offline, local, backend, monkeypatch):
    g2 = g2_offline
    use_backend(monkeypatch, backend)
    img, layer = scene(g2)
    src = layer._m.pixels.copy()
    g2.pdb.python_fu_smart_beauty(img, layer, 0.6, 0)
    assert g2.session.messages == []
    new = img.layers[0]
    assert new.name == "Smart Beauty (level 0.60)"
    assert np.array_equal(new._m.pixels[..., :3], simple_engine(src, 0.6))
    assert localserver._read_state()["engine"] == "simple"
    assert g2.leftovers() == []


def test_missing_engine_is_one_clear_message(g2_offline, monkeypatch):
    g2 = g2_offline
    use_backend(monkeypatch, LOCAL)
    img, layer = scene(g2)
    before = core.snapshot(img._m)
    g2.fails("python_fu_smart_beauty", img, layer, 0.6, 0)
    assert len(g2.session.messages) == 1
    assert "offline engine is not installed" in g2.session.messages[0]
    assert "./install.sh --with-engine" in g2.session.messages[0]
    assert core.snapshot(img._m) == before and g2.leftovers() == []


def test_first_run_without_key_or_engine(g2_offline, monkeypatch):
    g2 = g2_offline
    use_backend(monkeypatch, AUTO)
    img, layer = scene(g2)
    g2.fails("python_fu_smart_beauty", img, layer, 0.6, 0)
    assert len(g2.session.messages) == 1
    assert "Settings" in g2.session.messages[0] and "./install.sh --with-engine" in g2.session.messages[0]


def test_a_wrong_key_is_reported_before_any_job(g2, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", "wrong-key-000000000000")
    img, layer = scene(g2)
    since = len(g2.ailab.requests())
    g2.fails("python_fu_smart_beauty", img, layer, 0.6, 0)
    assert len(g2.session.messages) == 1 and "not accepted" in g2.session.messages[0]
    assert "wrong-key-000000000000" not in g2.session.messages[0]
    assert [r["endpoint"] for r in g2.ailab.requests(since)] == ["credits"]


def test_unknown_backend_is_one_message(g2, monkeypatch):
    use_backend(monkeypatch, "gpu")
    img, layer = scene(g2)
    before = core.snapshot(img._m)
    g2.fails("python_fu_smart_beauty", img, layer, 0.6, 0)
    assert len(g2.session.messages) == 1 and "Unknown backend" in g2.session.messages[0]
    assert "SMART_BEAUTY_BACKEND" in g2.session.messages[0] and core.snapshot(img._m) == before


def test_check_setup(g2):
    info = g2.gimpfu._registered_plugins_["python_fu_smart_beauty_check"]
    assert info[5] == "_Check Setup..." and info[11] == "<Image>/Filters/Enhance/Smart Beauty"
    g2.pdb.python_fu_smart_beauty_check()
    text = g2.session.messages[-1]
    assert "GIMP: 2.10" in text and "smart_beauty.py" in text and "READY" in text
    assert g2.ailab.valid_key not in text


class TimedList(list):
    def __init__(self):
        list.__init__(self)
        self.times = []

    def append(self, item):
        self.times.append(time.time())
        list.append(self, item)


def test_a_slow_job_keeps_progress_flowing(g2):
    # The service takes 1.2 s (real time: GIMP's main thread is what is watched); ticks are 0.1 s.
    g2.real_time()
    g2.ailab.set_durations(queued=0.4, processing=0.8)
    img, layer = scene(g2)
    g2.session.progress = TimedList()
    g2.pdb.python_fu_smart_beauty(img, layer, 0.6, 0)
    assert img.layers[0].name == "Smart Beauty (level 0.60)", g2.session.messages
    updates = [t for t, p in zip(g2.session.progress.times, g2.session.progress) if p[0] == "update"]
    # a frozen main thread would update the bar once or twice, at the end; a moving one about 12 times
    assert len(updates) >= 6, len(updates)

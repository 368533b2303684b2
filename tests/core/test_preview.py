# -*- coding: utf-8 -*-
"""The dialog's decisions without a GUI (smart_beauty.preview, issue #16): what the effect sliders
show, which controls the cloud disables and why, where previews run, their size, the worker that
drops stale requests, and a preview through the local server's sync mode over real HTTP.
Single source: also runs under a real Python 2.7."""
from __future__ import absolute_import, division, print_function, unicode_literals

import threading

import pytest

from smart_beauty import Client, effects, errors, preview
from smart_beauty.effects import BUILTIN, Effects

import pngutil
from virtual_clock import VirtualClock


@pytest.fixture
def env(tmpdir):
    return {"SMART_BEAUTY_CONFIG_DIR": str(tmpdir.mkdir("config"))}


# -- the controls


def test_the_sliders_follow_the_level_until_a_preset_is_chosen(env):
    choice = preview.Choice(level=0.4)
    assert choice.shown(env) == Effects.from_level(0.4).as_dict()
    choice.set_level(0.7)
    assert choice.shown(env)["slim"] == 0.7
    choice.choose_preset("natural")
    assert choice.shown(env) == BUILTIN["natural"].as_dict()
    choice.set_level(0.1)            # a preset sets every strength instead of the level
    assert choice.shown(env) == BUILTIN["natural"].as_dict()


def test_a_strength_set_by_hand_stays_when_the_level_moves_and_goes_with_a_new_preset(env):
    choice = preview.Choice(level=0.5)
    choice.set_strength("slim", 0.0)
    choice.set_level(0.9)
    assert choice.shown(env) == Effects.from_level(0.9).replace(slim=0.0).as_dict()
    choice.choose_preset("soft-skin")
    assert choice.shown(env) == BUILTIN["soft-skin"].as_dict()
    with pytest.raises(errors.BadInputError):
        choice.set_strength("nose", 0.5)


def test_the_choice_is_stored_in_the_procedures_own_arguments_and_read_back(env):
    choice = preview.Choice(level=0.6, preset="portrait-studio")
    choice.set_strength("eyes", 0.0)
    preset, strengths = choice.arguments()
    assert preset == "portrait-studio"
    assert strengths == {"smooth": -1.0, "tone": -1.0, "slim": -1.0, "eyes": 0.0, "lips": -1.0, "texture": -1.0}
    again = preview.Choice.from_arguments(0.6, preset, strengths, env)
    assert (again.level, again.preset, again.overrides) == (choice.level, choice.preset, choice.overrides)
    # what a script passing the same arguments gets (the procedure's rule) is what the dialog shows
    level, chosen, _label = effects.choose(0.6, preset, dict((n, v) for n, v in strengths.items() if v >= 0), env)
    assert chosen.as_dict() == again.shown(env)


def test_a_preset_deleted_since_is_forgotten_not_an_error(env):
    choice = preview.Choice.from_arguments(0.5, "gone-since", {"slim": -1.0}, env)
    assert choice.preset is None and choice.shown(env) == Effects.from_level(0.5).as_dict()


def test_on_the_cloud_only_the_level_is_asked_for_and_the_controls_say_why(env):
    choice = preview.Choice(level=0.6, preset="natural")
    choice.set_strength("slim", 0.0)
    assert choice.request("cloud", env) == (0.6, None)
    assert choice.request("local", env) == (BUILTIN["natural"].replace(slim=0.0).level() or 0.6,
                                            BUILTIN["natural"].replace(slim=0.0))
    assert preview.effect_controls("cloud") == (False, preview.CLOUD_ONE_LEVEL)
    assert preview.effect_controls("local") == (True, None)
    assert preview.Choice(level=0.3).request("local", env) == (0.3, None)   # a plain level, as before


def test_the_preset_chooser_lists_none_the_built_in_ones_and_the_users_own(env):
    effects.save_preset("My look", BUILTIN["natural"].replace(slim=0), env)
    rows = preview.preset_entries(env)
    assert rows[0] == ("", preview.NO_PRESET_LABEL)
    assert [name for name, _label in rows[1:]] == sorted(BUILTIN) + ["my-look"]
    assert rows[-1][1] == "my-look (yours)"


# -- the preview


def test_previews_run_on_the_offline_engine_only():
    assert preview.preview_plan("local", True) == preview.Plan(True, None)
    assert preview.preview_plan("cloud", True) == preview.Plan(True, "preview: offline engine; the service's "
                                                                     "result will differ")
    assert preview.preview_plan("cloud", False) == preview.Plan(False, preview.PREVIEW_NO_ENGINE)
    assert preview.preview_plan("local", False).enabled is False


@pytest.mark.parametrize("size, expected", [
    ((4000, 3000), (600, 450)),          # 12 MP landscape -> 0.27 MP
    ((3000, 4000), (450, 600)),          # portrait: the box turns with it
    ((3464, 3464), (450, 450)),
    ((500, 300), (500, 300)),            # small layers are not enlarged
    ((9000, 100), (600, 7)),
])
def test_the_preview_works_on_a_reduced_copy(size, expected):
    w, h, scale = preview.preview_size(*size)
    assert (w, h) == expected
    assert scale <= 1.0 and abs(size[0] * scale - w) <= 1


def test_a_busy_renderer_drops_stale_requests_and_delivers_the_newest_only():
    started, release = threading.Event(), threading.Event()
    rendered, delivered, done = [], [], threading.Event()

    def render(request):
        rendered.append(request)
        if request == "first":
            started.set()
            release.wait(10)
        return request.upper()

    def deliver(number, request, result, error):
        delivered.append((request, result, error))
        if request == "last":
            done.set()

    latest = preview.Latest(render, deliver)
    try:
        latest.request("first")
        assert started.wait(10)
        for name in ("second", "third", "last"):   # the hand keeps moving while "first" renders
            latest.request(name)
        release.set()
        assert done.wait(10)
        assert rendered == ["first", "last"]       # second and third never reached the engine
        assert delivered == [("last", "LAST", None)]   # first's result was overtaken: not shown
        assert latest.dropped == 3
    finally:
        latest.close(wait=5)


def test_a_failed_preview_is_delivered_as_its_error_and_the_worker_goes_on():
    got, done = [], threading.Event()

    def render(request):
        if request == "bad":
            raise errors.BadInputError("No face was found.")
        return request

    def deliver(number, request, result, error):
        got.append((result, error and preview.error_line(error)))
        if len(got) == 2:
            done.set()

    latest = preview.Latest(render, deliver)
    try:
        latest.request("bad")
        while not got:
            threading.Event().wait(0.01)
        latest.request("good")
        assert done.wait(10)
        assert got == [(None, "Preview failed: No face was found."), ("good", None)]
    finally:
        latest.close(wait=5)


def test_a_preview_is_one_synchronous_request_to_the_local_server(ailab, tmpdir):
    w, h = 40, 30
    png = pngutil.png_bytes(w, h, pngutil.gradient)
    before = ailab.stats()["counts"]
    client = Client(ailab.valid_key, ailab.url, clock=VirtualClock(), local=True)
    try:
        result = preview.render(client, png, 0.4, False, Effects.from_level(0.4))
    finally:
        client.close()
    path = str(tmpdir.join("preview.png"))
    with open(path, "wb") as f:
        f.write(result)
    width, height, _channels, rows = pngutil.read_png(path)
    assert (width, height) == (w, h)
    assert rows[2][3] == pngutil.simple_engine_value(pngutil.gradient(1, 2)[0], 0.4)
    counts = ailab.stats()["counts"]
    assert counts["submit"] - before["submit"] == 1
    assert counts["poll"] == before["poll"] and counts["download"] == before["download"]


def test_a_preview_of_a_detailed_copy_at_the_largest_size_comes_back(ailab):
    """600x450 of noise: its PNG reply in base64 is over the 1 MB the service's replies are held to."""
    import random
    rng = random.Random(5)
    w, h = preview.PREVIEW_BOX
    noise = pngutil.png_bytes(w, h, lambda x, y: (rng.getrandbits(8), rng.getrandbits(8), rng.getrandbits(8)))
    client = Client(ailab.valid_key, ailab.url, clock=VirtualClock(), local=True)
    try:
        result = client.retouch_now(noise, 0.2)
    finally:
        client.close()
    assert len(result) * 4 // 3 > 1024 * 1024 and result[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_cloud_client_never_renders_a_preview(ailab):
    png = pngutil.png_bytes(8, 8, pngutil.gradient)
    before = ailab.stats()["counts"]["submit"]
    client = Client(ailab.valid_key, ailab.url, clock=VirtualClock(), local=False)
    try:
        with pytest.raises(errors.BadInputError):
            preview.render(client, png, 0.4, False, None)
        with pytest.raises(errors.BadInputError):
            client.retouch_now(png, 0.4)
    finally:
        client.close()
    assert ailab.stats()["counts"]["submit"] == before

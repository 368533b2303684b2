"""The local server's own per-effect fields (issue #16 part 2): ``smart_beauty_smooth`` ... ``_texture``
reach the engine as an ``Effects`` (missing ones take ``beauty_level``'s meaning), are checked like
``beauty_level``, and a request without them calls the engine exactly as the service's request."""

from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
import requests
from PIL import Image
from server_testutil import KEY_HEADER, SUBMIT, assert_ailab_error, encode, expected_simple, noisy_rgb, wait_done

from smart_beauty.effects import Effects
from smart_beauty_server import LocalAilab
from smart_beauty_server.protocol import EFFECT_FIELDS
from smart_beauty_server.simple import SimpleEngine

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Recorder:
    """An engine that records what it is called with, and answers like SimpleEngine."""

    def __init__(self):
        self.calls = []

    def __call__(self, rgb, level, multi_face=False, **kw):
        self.calls.append((level, multi_face, kw))
        return SimpleEngine()(rgb, level, multi_face)


class PlainEngine:
    """An engine of the service's kind only: f(rgb, level, multi_face), no effects= argument."""

    def __call__(self, rgb, level, multi_face=False):
        return SimpleEngine()(rgb, level, multi_face)


@pytest.fixture
def recorder():
    engine = Recorder()
    srv = LocalAilab(port=0, engine=engine, job_seconds=0.0).start()
    engine.srv = srv
    yield engine
    srv.stop()


def fields(**strengths):
    return {EFFECT_FIELDS[name]: value for name, value in strengths.items()}


def post(srv, image=None, **data):
    data.setdefault("task_type", "async")
    files = {"image_target": ("in.png", image or encode(noisy_rgb()), "application/octet-stream")}
    return requests.post(srv.url + SUBMIT, headers={KEY_HEADER: srv.valid_key}, data=data, files=files, timeout=10)


def finish(srv, response):
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert wait_done(srv.url, srv.valid_key, task_id).json()["task_status"] == 2
    return srv.task_info(task_id)


def test_the_fields_are_named_after_the_effects():
    assert sorted(EFFECT_FIELDS.values()) == sorted("smart_beauty_" + n for n in
                                                   ("smooth", "tone", "slim", "eyes", "lips", "texture"))


def test_given_fields_override_the_level_and_the_rest_follow_it(recorder):
    task = finish(recorder.srv, post(recorder.srv, beauty_level="0.7", **fields(slim="0", eyes="0.25", texture="1")))
    wanted = Effects.from_level(0.7).replace(slim=0.0, eyes=0.25, texture=1.0)
    assert recorder.calls == [(0.7, False, {"effects": wanted})]
    assert task["effects"] == wanted.as_dict()


def test_every_field_given_sets_every_strength(recorder):
    given = Effects(0.1, 0.2, 0.3, 0.4, 0.5, 0.9)
    finish(recorder.srv, post(recorder.srv, **fields(**{k: repr(v) for k, v in given.as_dict().items()})))
    assert recorder.calls[0][2] == {"effects": given}


def test_without_fields_the_engine_is_called_as_for_the_service(recorder):
    task = finish(recorder.srv, post(recorder.srv, beauty_level="0.4"))
    assert recorder.calls == [(0.4, False, {})]
    assert task["effects"] is None


def test_sync_mode_passes_the_fields_too(recorder):
    r = post(recorder.srv, task_type="sync", beauty_level="0.5", **fields(lips="0"))
    assert r.status_code == 200, r.text
    assert recorder.calls == [(0.5, False, {"effects": Effects.from_level(0.5).replace(lips=0.0)})]


@pytest.mark.parametrize("value", ["1.5", "-0.1", "abc", "", "nan", "0x1"])
def test_a_bad_value_is_400_naming_the_field_and_nothing_runs(recorder, value):
    body = assert_ailab_error(post(recorder.srv, **fields(slim=value)), 400, "ERROR_INVALID_PARAMETER")
    assert body["error_detail"]["message"] == "smart_beauty_slim (face slimming) must be a number in [0, 1]"
    assert recorder.calls == [] and recorder.srv.stats()["tasks"] == {}


def test_an_engine_without_effects_still_serves_the_services_requests():
    with LocalAilab(port=0, engine=PlainEngine(), job_seconds=0.0) as srv:
        task = finish(srv, post(srv, beauty_level="0.6"))
        assert task["status"] == 2
        # with our fields such an engine fails the job the service's way, never silently ignoring them
        r = post(srv, **fields(slim="0"))
        done = wait_done(srv.url, srv.valid_key, r.json()["task_id"])
        assert_ailab_error(done, 500, "PROCESSING_FAILURE")


def test_the_simple_engine_accepts_and_ignores_the_fields(ailab):
    """The session server (SimpleEngine, another process): the result is the level's, the task records them."""
    rgb = noisy_rgb(seed=4)
    r = requests.post(ailab.url + SUBMIT, headers={KEY_HEADER: ailab.valid_key},
                      data=dict(task_type="sync", beauty_level="0.8", **fields(smooth="0.2", slim="0")),
                      files={"image_target": ("in.png", encode(rgb), "image/png")}, timeout=10)
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(base64.b64decode(r.json()["data"]["image"]))).convert("RGB"))
    assert np.array_equal(out, expected_simple(rgb, 0.8))


def test_the_docs_describe_the_fields_and_say_the_service_ignores_them():
    with open(os.path.join(REPO, "docs", "openapi-local.yaml")) as f:
        post_op = json.load(f)["paths"][SUBMIT]["post"]
    props = post_op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(EFFECT_FIELDS.values()) <= set(props)
    assert "ignores" in post_op["description"]

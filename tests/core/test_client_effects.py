# -*- coding: utf-8 -*-
"""Per-effect strengths (issue #16 part 2) through the client, jobs and batches, over real HTTP to the
local AILab server: sent only to our local engine service, refused for the cloud before any upload
unless they are a plain level, recorded in the resume ledger. Single source: also runs under a real
Python 2.7."""
from __future__ import absolute_import, division, print_function, unicode_literals

import io
import json
import os
import shutil

import pytest

from smart_beauty import Client, RetouchJob, batch, errors, localserver, protocol
from smart_beauty.batch import Batch
from smart_beauty.client import CLOUD_HAS_ONE_LEVEL
from smart_beauty.effects import BUILTIN, Effects

import pngutil
from virtual_clock import VirtualClock

NO_WARP = Effects.from_level(0.7).replace(slim=0, eyes=0)


def client_for(ailab, local):
    return Client(ailab.valid_key, ailab.url, clock=VirtualClock(), local=local)


def run_job(ailab, client, portrait, workdir, **kw):
    """Run one job; the server's record of its task."""
    job = RetouchJob(client, portrait, result_dir=workdir, **kw)
    try:
        job.run()
        return ailab.task(job.task_id)
    finally:
        job.cleanup()


@pytest.fixture
def local(ailab):
    client = client_for(ailab, local=True)
    yield client
    client.close()


@pytest.fixture
def cloud(ailab):
    client = client_for(ailab, local=False)
    yield client
    client.close()


def test_the_local_service_gets_every_strength_as_its_own_fields(local, ailab, portrait, workdir):
    task = run_job(ailab, local, portrait, workdir, level=0.7, effects=NO_WARP)
    assert task["effects"] == NO_WARP.as_dict()
    assert task["level"] == 0.7


def test_a_preset_reaches_the_local_service_exactly(local, ailab, portrait, workdir):
    task = run_job(ailab, local, portrait, workdir, effects=BUILTIN["natural"])
    assert task["effects"] == BUILTIN["natural"].as_dict()


def test_without_effects_the_request_is_the_services_own(local, ailab, portrait, workdir):
    task = run_job(ailab, local, portrait, workdir, level=0.4)
    assert task["effects"] is None and task["level"] == 0.4


def test_the_cloud_refuses_strengths_it_does_not_have_before_any_upload(cloud, ailab, portrait, workdir):
    job = RetouchJob(cloud, portrait, level=0.7, effects=NO_WARP, result_dir=workdir)
    with pytest.raises(errors.BadInputError) as info:
        job.run()
    assert str(info.value) == CLOUD_HAS_ONE_LEVEL
    assert job.task_id is None
    assert ailab.stats()["counts"]["submit"] == 0
    assert os.listdir(workdir) == []


def test_the_cloud_gets_a_plain_level_as_beauty_level_and_no_fields_of_ours(cloud, ailab, portrait, workdir):
    task = run_job(ailab, cloud, portrait, workdir, level=1.0, effects=Effects.from_level(0.3))
    assert task["level"] == 0.3 and task["effects"] is None


def test_submit_fields_carry_strengths_only_when_given():
    plain = protocol.submit_fields(0.5, False)
    assert not [name for name, _ in plain if name.startswith(protocol.EFFECT_FIELD_PREFIX)]
    fields = dict(protocol.submit_fields(0.5, False, NO_WARP))
    assert fields["smart_beauty_slim"] == "0" and fields["smart_beauty_smooth"] == "0.7"
    assert fields["smart_beauty_texture"] == "0.6" and fields["beauty_level"] == "0.5"


def test_open_client_marks_only_the_local_service_local(ailab):
    server = localserver.LocalServer(ailab.url, ailab.valid_key)
    with localserver.open_client("local", start_local=lambda: server) as client:
        assert client.local
    settings = localserver.sb_settings.Settings(api_key=ailab.valid_key, base_url=ailab.url)
    with localserver.open_client("cloud", settings) as client:
        assert not client.local
        assert client.effects_refusal(NO_WARP) is not None
        assert client.effects_refusal(Effects.from_level(0.2)) is None


# -- batches ------------------------------------------------------------------------------------

def copy_finish(item, result, temp):
    shutil.copyfile(result, temp)


def upload_as_is(item, workdir):
    return item.source


def inputs(tmpdir, n):
    folder = tmpdir.mkdir("in")
    pairs = []
    for i in range(n):
        src = pngutil.write_png(str(folder.join("p%d.png" % i)), 24 + i, 16)
        pairs.append((src, str(tmpdir.join("out", "p%d.beauty.png" % i))))
    return pairs


def make_batch(client, pairs, strengths):
    level = 1.0
    return Batch(client, pairs, upload_as_is, copy_finish, level=level, jobs=2, deadline=20.0,
                 recipe=batch.recipe(level, False, strengths, format="png"), effects=strengths)


def test_a_cloud_batch_with_strengths_fails_every_item_unsent(cloud, ailab, tmpdir):
    pairs = inputs(tmpdir, 3)
    run = make_batch(cloud, pairs, NO_WARP)
    run.run_all()
    assert [i.status for i in run.items] == [batch.FAILED] * 3
    assert all(i.message == CLOUD_HAS_ONE_LEVEL for i in run.items)
    assert ailab.stats()["counts"]["submit"] == 0
    assert not os.path.exists(str(tmpdir.join("out")))


def test_the_ledger_redoes_an_output_when_a_strength_changes(local, ailab, tmpdir):
    pairs = inputs(tmpdir, 2)
    make_batch(local, pairs, NO_WARP).run_all()
    assert ailab.stats()["counts"]["submit"] == 2
    with io.open(str(tmpdir.join("out", batch.LEDGER)), encoding="utf-8") as f:
        recipes = [entry["recipe"] for entry in json.load(f).values()]
    assert recipes == [recipes[0]] * 2 and recipes[0]["effects"] == NO_WARP.as_dict()

    again = make_batch(local, pairs, NO_WARP)
    again.run_all()
    assert [i.status for i in again.items] == [batch.SKIPPED] * 2
    assert ailab.stats()["counts"]["submit"] == 2

    changed = make_batch(local, pairs, NO_WARP.replace(lips=0.2))
    changed.run_all()
    assert [i.status for i in changed.items] == [batch.DONE] * 2
    assert ailab.stats()["counts"]["submit"] == 4
    tasks = ailab.stats()["tasks"].values()
    assert sorted(t["effects"]["lips"] for t in tasks) == [0.2, 0.2, 0.7, 0.7]


def test_a_plain_level_keeps_the_recipe_it_always_had():
    """Outputs made before strengths existed are not redone by a run that asks for the same level."""
    assert batch.recipe(0.8, False, Effects.from_level(0.8), format="png") == batch.recipe(0.8, False, format="png")
    assert batch.recipe(1.0, False, NO_WARP)["effects"] == NO_WARP.as_dict()

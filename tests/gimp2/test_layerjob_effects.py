# -*- coding: utf-8 -*-
"""layerjob passes ``effects=`` through (issue #16 part 2; the GIMP dialog and procedures come later),
through the GIMP 2.10 adapter's host and the gimpfu stand-ins, over real HTTP to the local AILab
server: strengths reach our local service; with the cloud they are refused in one sentence before any
upload and the image is unchanged. Single source: Python 2.7 + 3."""
from __future__ import absolute_import, division, print_function

import os

import numpy as np

import fakecore as core
from smart_beauty import Client
from smart_beauty.client import CLOUD_HAS_ONE_LEVEL
from smart_beauty.effects import Effects

NO_WARP = Effects.from_level(0.6).replace(slim=0, eyes=0)


def scene(g2):
    img = g2.pdb.gimp_image_new(40, 30, core.RGB)
    layer = g2.pdb.gimp_layer_new(img, 40, 30, core.RGB_IMAGE, "photo", 100.0, 28)
    layer._m.pixels[...] = np.random.RandomState(3).randint(0, 256, (30, 40, 3)).astype(np.uint8)
    g2.pdb.gimp_image_insert_layer(img, layer, None, 0)
    return img, layer


def test_retouch_layer_sends_the_strengths_to_the_local_service(g2):
    img, layer = scene(g2)
    with Client(g2.ailab.valid_key, g2.ailab.url, local=True) as client:
        out = g2.layerjob.retouch_layer(g2.plugin.GimpHost(img), layer, 0.6, client=client, effects=NO_WARP)
    assert out.ok, out.error
    tasks = list(g2.ailab.stats()["tasks"].values())
    assert [t["effects"] for t in tasks] == [NO_WARP.as_dict()]


def test_retouch_layer_with_the_cloud_refuses_before_any_upload(g2):
    img, layer = scene(g2)
    before = core.snapshot(img._m)
    out = g2.layerjob.retouch_layer(g2.plugin.GimpHost(img), layer, 0.6, effects=NO_WARP)   # the key: the cloud
    assert not out.ok and str(out.error) == CLOUD_HAS_ONE_LEVEL
    assert g2.ailab.stats()["counts"]["submit"] == 0
    assert core.snapshot(img._m) == before
    assert g2.leftovers() == []


def test_the_batch_passes_the_strengths_and_the_cloud_sends_nothing(g2):
    from PIL import Image

    src = os.path.join(g2.root, "in")
    os.makedirs(src)
    Image.fromarray(np.random.RandomState(5).randint(0, 256, (20, 24, 3)).astype(np.uint8)).save(
        os.path.join(src, "a.png"))
    refused = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), src, os.path.join(g2.root, "cloud"), 0.6,
                                    effects=NO_WARP)
    assert not refused.ok and [e for _, e in refused.failed] == [CLOUD_HAS_ONE_LEVEL]
    assert g2.ailab.stats()["counts"]["submit"] == 0
    with Client(g2.ailab.valid_key, g2.ailab.url, local=True) as client:
        done = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), src, os.path.join(g2.root, "local"), 0.6,
                                     client=client, effects=NO_WARP)
    assert done.ok, done.summary()
    assert [t["effects"] for t in g2.ailab.stats()["tasks"].values()] == [NO_WARP.as_dict()]

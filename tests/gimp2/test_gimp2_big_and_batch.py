# -*- coding: utf-8 -*-
"""Big layers composed at full size with GIMP's own operations, and the concurrent, resumable batch,
through the GIMP 2.10 adapter and the gimpfu stand-ins (single source: Python 2.7 + 3)."""
from __future__ import absolute_import, division, print_function

import math
import os

import numpy as np

import fakecore as core
import pytest
from smart_beauty.batch import LEDGER
from scenes import simple_engine, undo_balanced

W, H = 4300, 48   # over the 4096 px limit: sent at 4095 x 46


def textured(h, w, seed=7):
    """A smooth picture with fine grain: detail that a reduce-and-upscale loses."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 60 + 120 * (x / float(w)) + 30 * np.sin(y / 5.0)
    rgb = np.stack([base, base * 0.9 + 10, base * 0.8 + 20], axis=-1)
    return np.clip(rgb + rs.randint(-12, 13, size=(h, w, 3)), 0, 255).astype(np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def naive(src):
    """The old behaviour: the reduced result scaled straight back up."""
    small = core.resize(src, 4095, 46)
    return core.resize(small, src.shape[1], src.shape[0])


def big_scene(g2, pixels, ltype=core.RGB_IMAGE):
    img = g2.pdb.gimp_image_new(W + 10, H + 6, core.RGB)
    bg = g2.pdb.gimp_layer_new(img, W + 10, H + 6, core.RGB_IMAGE, "Background", 100.0, 28)
    g2.pdb.gimp_image_insert_layer(img, bg, None, 0)
    layer = g2.pdb.gimp_layer_new(img, W, H, ltype, "photo", 100.0, 28)
    layer._m.pixels[...] = pixels
    g2.pdb.gimp_image_insert_layer(img, layer, None, 0)
    g2.pdb.gimp_layer_set_offsets(layer, 4, 3)
    img._m.undo_steps = 0
    return img, layer


def test_untouched_areas_keep_the_original_not_the_blurred_upscale(g2):
    src = textured(H, W)
    img, layer = big_scene(g2, src)
    out = g2.layerjob.retouch_layer(g2.plugin.GimpHost(img), layer, 0.0)   # level 0: the engine changes nothing
    assert out.ok and out.scale < 1.0, out.error
    names = [lay.name for lay in img.layers]
    assert names == ["Smart Beauty (level 0.00)", "photo", "Background"]
    new = img.layers[0]
    assert (new.width, new.height) == (W, H) and new.offsets == (4, 3)
    assert new._m.mode == core.LAYER_MODE_NORMAL
    got = new._m.pixels[..., :3]             # real GIMP: a merged layer has an alpha channel
    assert (new._m.pixels[..., 3] == 255).all()
    assert np.abs(got.astype(int) - src.astype(int)).max() <= 1
    assert psnr(got, src) >= 45.0 and psnr(naive(src), src) < 40.0  # only 5 % smaller, still lossy
    assert np.array_equal(layer._m.pixels, src)
    assert undo_balanced(img._m) and img._m.undo_groups == 1
    assert g2.leftovers() == []


def test_the_retouch_is_applied_at_full_size_with_the_detail(g2):
    src = textured(H, W, seed=8)
    img, layer = big_scene(g2, src)
    assert g2.layerjob.retouch_layer(g2.plugin.GimpHost(img), layer, 0.8).ok
    got = img.layers[0]._m.pixels[..., :3].astype(int)
    exact = simple_engine(src, 0.8).astype(int)            # what the engine would do at full size
    composed_err = np.abs(got - exact).mean()
    naive_up = core.resize(simple_engine(core.resize(src, 4095, 46), 0.8), W, H)
    naive_err = np.abs(naive_up.astype(int) - exact).mean()
    assert composed_err < 2.0 and composed_err < naive_err / 2, (composed_err, naive_err)
    assert [lay.name for lay in img.layers] == ["Smart Beauty (level 0.80)", "photo", "Background"]


def test_a_big_layer_with_transparency_is_scaled_up_with_its_alpha(g2):
    rgba = np.dstack([textured(H, W), np.full((H, W), 200, np.uint8)])
    img, layer = big_scene(g2, rgba, core.RGBA_IMAGE)
    assert g2.layerjob.retouch_layer(g2.plugin.GimpHost(img), layer, 0.5).ok
    new = img.layers[0]
    assert (new.width, new.height) == (W, H) and (new._m.pixels[..., 3] == 200).all()
    assert len(img.layers) == 3


def test_a_failing_merge_leaves_the_image_unchanged(g2):
    src = textured(H, W)
    img, layer = big_scene(g2, src)
    before = core.snapshot(img._m)
    host = g2.plugin.GimpHost(img)

    def broken(layer):
        raise RuntimeError("merge failed")
    host.merge_down = broken
    out = g2.layerjob.retouch_layer(host, layer, 0.5)
    assert not out.ok and "merge failed" in str(out.error)
    after = core.snapshot(img._m)
    assert after["layers"] == before["layers"]
    assert undo_balanced(img._m)


def _write(path, rgb):
    from PIL import Image
    Image.fromarray(rgb).save(path)


def _overlap(tasks):
    marks = sorted([(t["submitted_at"], 1) for t in tasks] + [(t["ready_at"], -1) for t in tasks])
    best = cur = 0
    for _, step in marks:
        cur += step
        best = max(best, cur)
    return best


def test_batch_runs_jobs_at_once_resumes_and_composes_big_files(g2):
    g2.real_time()                      # overlap is measured in the server's (real) time
    g2.ailab.set_durations(job_seconds=2.0)   # real seconds (the server is a process): long
    # enough that a loaded machine still has every job of the first round submitted before one is ready
    # (0.5 s was not, in the nested run of README's ./test.sh inside the Debian 13 root)
    src = os.path.join(g2.root, "in")
    out = os.path.join(g2.root, "out")
    os.makedirs(src)
    for i in range(4):
        _write(os.path.join(src, "p%d.png" % i), textured(40, 30 + i, seed=i))
    big = textured(H, W, seed=9)
    _write(os.path.join(src, "wide.png"), big)
    g2.monkeypatch.setenv("SMART_BEAUTY_JOBS", "3")
    report = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), src, out, 0.0)
    assert report.ok, report.summary()
    assert sorted(os.listdir(out)) == [LEDGER, "p0.beauty.png", "p1.beauty.png", "p2.beauty.png",
                                       "p3.beauty.png", "wide.beauty.png"]
    assert _overlap(g2.ailab.stats()["tasks"].values()) == 3
    from PIL import Image
    wide = np.asarray(Image.open(os.path.join(out, "wide.beauty.png")).convert("RGB"))
    # the composite of the saved image: the new layer (level 0) over the original
    assert psnr(wide, big) >= 45.0
    rows = {os.path.basename(i.source): i for i in report.items}
    assert rows["wide.png"].scale < 1.0 and rows["p0.png"].scale == 1.0 and rows["p0.png"].request_id
    assert g2.session.live_images() == []
    assert g2.leftovers() == []
    # a second run skips what is done
    _write(os.path.join(src, "p9.png"), textured(20, 20, seed=5))
    again = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), src, out, 0.0)
    assert len(again.skipped) == 5 and len(again.done) == 1
    assert g2.ailab.stats()["counts"]["submit"] == 6
    assert "6 of 6" in g2.session.messages[-1] and "5 already done" in g2.session.messages[-1]


def _submits(g2):
    return g2.ailab.stats()["counts"]["submit"]


def test_batch_resumes_by_what_each_output_was_made_from_as_the_cli_does(g2):
    """The rule is the batch's (smart_beauty.batch, shared with the CLI): skip only an output made
    from the same file with the same options; redo when the file or the options changed; refuse,
    unsent, an output made from another file or that nothing recorded making."""
    src, other, out = (os.path.join(g2.root, d) for d in ("in", "other", "out"))
    os.makedirs(src)
    os.makedirs(other)
    for name in ("a", "b"):
        _write(os.path.join(src, name + ".png"), textured(20, 24, seed=ord(name)))
    run = lambda spec, level=0.5: g2.gimpbatch.run_batch(g2.plugin.GimpHost(), spec, out, level)  # noqa: E731
    first = run(src)
    assert len(first.done) == 2 and os.path.isfile(os.path.join(out, LEDGER))
    again = run(src)
    assert len(again.skipped) == 2 and not again.done and _submits(g2) == 2
    _write(os.path.join(src, "a.png"), textured(20, 24, seed=99))        # same name, new pixels
    changed = run(src)
    assert [os.path.basename(p) for p, _ in changed.done] == ["a.png"] and len(changed.skipped) == 1
    releveled = run(src, level=0.9)                                         # other options: redone
    assert len(releveled.done) == 2 and _submits(g2) == 5
    _write(os.path.join(other, "a.png"), textured(20, 24, seed=5))          # another file, same output name
    refused = run(other, level=0.9)
    assert not refused.ok and not refused.done and _submits(g2) == 5
    assert "was made from" in refused.failed[0][1] and "nothing was sent" in refused.failed[0][1]
    assert "--force" not in refused.failed[0][1]                            # no CLI option in GIMP's sentence
    assert "was made from" in g2.session.messages[-1]
    _write(os.path.join(out, "c.beauty.png"), textured(8, 8))               # an output nobody recorded
    _write(os.path.join(src, "c.png"), textured(20, 24, seed=3))
    unknown = run(src, level=0.9)
    assert [m for _p, m in unknown.failed if "no record of making it" in m] and _submits(g2) == 5
    assert len(unknown.skipped) == 2
    assert g2.leftovers() == []


def test_an_output_the_cli_made_from_the_same_file_is_redone_not_skipped(g2):
    from smart_beauty import batch
    src, out = os.path.join(g2.root, "in"), os.path.join(g2.root, "out")
    os.makedirs(src)
    os.makedirs(out)
    source = os.path.join(src, "a.png")
    _write(source, textured(20, 24))
    _write(os.path.join(out, "a.beauty.png"), textured(20, 24, seed=1))
    record = dict(batch.fingerprint(source), source=os.path.abspath(source),
                  recipe=batch.recipe(0.5, False, format="png", strip_metadata=False))   # what the CLI records
    batch.write_ledger(out, {"a.beauty.png": record}, 0o644)
    report = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), src, out, 0.5)
    assert len(report.done) == 1 and _submits(g2) == 1


@pytest.mark.parametrize("plant", ["symlink", "hardlink"])
def test_batch_never_writes_through_a_link_planted_at_the_temp_name(g2, plant):
    """GIMP's exporter opens by name: it writes into the item's private folder, and the file is copied
    into the exclusively created temp file through the helper the CLI uses, which follows no link."""
    from smart_beauty import batch
    if not hasattr(os, "symlink"):
        pytest.skip("no links here")
    src, out = os.path.join(g2.root, "in"), os.path.join(g2.root, "out")
    os.makedirs(src)
    _write(os.path.join(src, "a.png"), textured(20, 24))
    victim = os.path.join(g2.root, "victim.txt")
    with open(victim, "w") as f:
        f.write("the user's own file\n")
    real = batch._temp_output

    def planted(output):
        path = real(output)
        os.remove(path)           # someone who can write the folder swaps the file for a link
        (os.symlink if plant == "symlink" else os.link)(victim, path)
        return path

    g2.monkeypatch.setattr(batch, "_temp_output", planted)
    report = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), src, out, 0.5)
    with open(victim) as f:
        assert f.read() == "the user's own file\n"
    assert not report.done and "was replaced by" in report.failed[0][1]
    assert os.listdir(out) == []                      # no output, no temp file, no ledger entry
    assert g2.leftovers() == [] and g2.session.live_images() == []


def test_a_named_file_that_is_not_there_fails_alone_with_one_sentence(g2):
    """The batch takes a named file as given (the rule it shares with the CLI): one that is not there
    fails with the CLI's sentence, unsent; the others are retouched."""
    src, out = os.path.join(g2.root, "in"), os.path.join(g2.root, "out")
    os.makedirs(src)
    _write(os.path.join(src, "a.png"), textured(20, 24))
    missing = os.path.join(src, "gone.png")
    report = g2.gimpbatch.run_batch(g2.plugin.GimpHost(), os.pathsep.join([src, missing]), out, 0.5)
    assert [os.path.basename(p) for p, _ in report.done] == ["a.png"]
    assert report.failed == [(missing, "%s does not exist or is not a file." % missing)]
    assert _submits(g2) == 1 and g2.leftovers() == []

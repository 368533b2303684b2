"""Big layers composed at full size with GIMP's own operations, and the concurrent batch, through the
GIMP 3 adapter and the libgimp stand-in."""
import math
import os

import numpy as np
import pytest
from scenes import simple_engine, undo_balanced
from smart_beauty import batch
from smart_beauty.batch import LEDGER

W, H = 40, 4200   # over the 4096 px limit


def textured(h, w, seed=7):
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 60 + 120 * (y / float(h)) + 30 * np.sin(x / 5.0)
    rgb = np.stack([base, base * 0.9 + 10, base * 0.8 + 20], axis=-1)
    return np.clip(rgb + rs.randint(-12, 13, size=(h, w, 3)), 0, 255).astype(np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def big_scene(g3, pixels):
    Gimp = g3.Gimp
    img = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "photo", W, H, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    layer._m.pixels[...] = pixels
    img.insert_layer(layer, None, 0)
    layer.set_offsets(0, 0)
    img._m.undo_steps = 0
    return img, layer


def test_untouched_areas_keep_the_original_and_the_change_is_applied_at_full_size(g3):
    src = textured(H, W)
    img, layer = big_scene(g3, src)
    out = g3.layerjob.retouch_layer(g3.plugin.GimpHost(img), layer, 0.0)
    assert out.ok and out.scale < 1.0, out.error
    new = img.get_layers()[0]
    assert new.get_name() == "Smart Beauty (level 0.00)" and len(img.get_layers()) == 2
    assert new.get_mode() == g3.Gimp.LayerMode.NORMAL
    got = new._m.pixels[..., :3]             # real GIMP: a merged layer has an alpha channel
    assert (new._m.pixels[..., 3] == 255).all()
    assert np.abs(got.astype(int) - src.astype(int)).max() <= 1 and psnr(got, src) >= 45
    assert undo_balanced(img._m)
    img2, layer2 = big_scene(g3, src)
    assert g3.layerjob.retouch_layer(g3.plugin.GimpHost(img2), layer2, 0.8).ok
    err = np.abs(img2.get_layers()[0]._m.pixels[..., :3].astype(int) - simple_engine(src, 0.8).astype(int)).mean()
    assert err < 2.0
    assert g3.leftovers() == []


def test_batch_overlaps_jobs(g3):
    from PIL import Image
    g3.real_time()                      # overlap is measured in the server's (real) time
    g3.ailab.set_durations(job_seconds=2.0)   # real seconds (the server is a process): long
    # enough that a loaded machine still has every job of the first round submitted before one is ready
    # (0.5 s was not, in the nested run of README's ./test.sh inside the Debian 13 root)
    src = os.path.join(g3.root, "in")
    out = os.path.join(g3.root, "out")
    os.makedirs(src)
    for i in range(4):
        Image.fromarray(textured(30, 20 + i, seed=i)).save(os.path.join(src, "p%d.png" % i))
    report = g3.gimpbatch.run_batch(g3.plugin.GimpHost(), src, out, 0.5, jobs=4)
    assert report.ok, report.summary()
    assert sorted(os.listdir(out)) == [LEDGER] + ["p%d.beauty.png" % i for i in range(4)]
    tasks = list(g3.ailab.stats()["tasks"].values())
    assert max(sum(1 for t in tasks if t["submitted_at"] <= u["submitted_at"] < t["ready_at"]) for u in tasks) == 4
    assert g3.leftovers() == []


def _save(path, rgb):
    from PIL import Image
    Image.fromarray(rgb).save(path)


def test_batch_resumes_by_the_shared_rule(g3):
    src, other, out = (os.path.join(g3.root, d) for d in ("in", "other", "out"))
    os.makedirs(src)
    os.makedirs(other)
    _save(os.path.join(src, "a.png"), textured(20, 24, seed=1))

    def run(spec, level=0.5):
        return g3.gimpbatch.run_batch(g3.plugin.GimpHost(), spec, out, level)

    def submits():
        return g3.ailab.stats()["counts"]["submit"]

    assert len(run(src).done) == 1
    assert len(run(src).skipped) == 1 and submits() == 1                  # same file, same options
    assert len(run(src, level=0.8).done) == 1 and submits() == 2         # other options: redone
    _save(os.path.join(src, "a.png"), textured(20, 24, seed=2))
    assert len(run(src, level=0.8).done) == 1 and submits() == 3         # the file changed: redone
    _save(os.path.join(other, "a.png"), textured(20, 24, seed=3))
    host = g3.plugin.GimpHost()
    refused = g3.gimpbatch.run_batch(host, other, out, 0.8)                 # another file, same output name
    assert not refused.done and "was made from" in refused.failed[0][1] and submits() == 3
    assert host.failures == [refused.summary()] and "nothing was sent" in host.failures[0]
    assert g3.leftovers() == []


def test_batch_never_writes_through_a_symlink_planted_at_the_temp_name(g3, monkeypatch):
    if not hasattr(os, "symlink"):
        pytest.skip("no symlinks here")
    src, out = os.path.join(g3.root, "in"), os.path.join(g3.root, "out")
    os.makedirs(src)
    _save(os.path.join(src, "a.png"), textured(20, 24))
    victim = os.path.join(g3.root, "victim.txt")
    with open(victim, "w") as f:
        f.write("the user's own file\n")
    real = batch._temp_output

    def planted(output):
        path = real(output)
        os.remove(path)
        os.symlink(victim, path)
        return path

    monkeypatch.setattr(batch, "_temp_output", planted)
    report = g3.gimpbatch.run_batch(g3.plugin.GimpHost(), src, out, 0.5)
    with open(victim) as f:
        assert f.read() == "the user's own file\n"
    assert not report.done and "replaced by a link" in report.failed[0][1]
    assert os.listdir(out) == [] and g3.leftovers() == []

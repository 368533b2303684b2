"""A layer over the service limits, retouched for real in GIMP 3.0.4, 3.2.x and GIMP 2.10.22.

The plug-in is installed with install.sh into a throw-away profile (test_e2e_real_gimp's ``installed``
fixture) and ``python-fu-smart-beauty`` runs non-interactively against the local AILab server (the
``ailab`` fixture: SimpleEngine, out = in + ((255 - in) * m + 2000) // 4000, m = round(level * 1000)).
One GIMP run per GIMP retouches three 4300 x 240 layers placed at offsets (11, 17) in a bigger image:

* ``still``: fine texture, level 0 (the engine changes nothing): the new layer must be the source,
  bit for bit -- a naive upscale of the reduced result would blur the texture away;
* ``tex``: the same texture at level 0.8: the new layer must be S + up(R) - up(s), computed here in
  numpy from the exported source (s = S reduced as it was sent, R = SimpleEngine(s), ``up`` = GIMP's
  scaling as the stand-in models it, checked against real GIMP by test_stub_agreement.py), and much
  closer to it than the naive up(R);
* ``alpha``: a layer with transparency: scaled up as it is (no grain modes), the source's alpha exact.

The legacy grain extract / merge rounding is reported from the ``still`` case (exact means lower -
upper + 128 and lower + upper - 128 with no rounding bias); test_stub_agreement.py checks all 65536
value pairs.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hosts import GIMP3_EXPORT_LAYER, GIMPS, record_time
from PIL import Image
from test_e2e_real_gimp import ADAPTER, program

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "stubs"))
sys.path.insert(0, str(REPO / "lib"))
import fakecore as core  # noqa: E402 - GIMP's scaling as the stand-ins model it
from smart_beauty import imagefile  # noqa: E402

W, H = 4300, 240   # over the 4096 px limit; small enough for a GIMP run of a few seconds
OFFSETS = (11, 17)
CASES = (("still", "tex.png", 0.0), ("tex", "tex.png", 0.8), ("alpha", "alpha.png", 0.8))
REPORT = {}


def simple_engine(rgb, level):
    m = int(round(level * 1000))
    wide = rgb.astype(np.int64)
    return (wide + ((255 - wide) * m + 2000) // 4000).astype(np.uint8)


def textured(w, h, seed):
    """A smooth 'portrait-like' picture with fine grain (+-12) and a 1-px checker: detail an upscale loses."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 70 * np.sin(x / 300.0) * np.cos(y / 90.0), 110 + 60 * np.cos(x / 170.0 + y / 60.0),
                     120 + 50 * np.sin((x + y) / 240.0)], axis=-1)
    grain = rng.randint(-12, 13, size=(h, w, 3)) + 6 * (((x + y) % 2)[..., None] * 2 - 1)
    return np.clip(base + grain, 20, 235).astype(np.uint8)


def write_inputs(work):
    Image.fromarray(np.full((H + 40, W + 30, 3), 90, np.uint8), "RGB").save(work / "canvas.png")
    tex = textured(W, H, 3)
    Image.fromarray(tex, "RGB").save(work / "tex.png")
    alpha = np.full((H, W), 255, np.uint8)
    alpha[:, W // 2:] = np.linspace(255, 30, W - W // 2).astype(np.uint8)[None, :]
    Image.fromarray(np.dstack([textured(W, H, 4), alpha]), "RGBA").save(work / "alpha.png")


GIMP3_BIG = GIMP3_EXPORT_LAYER + r'''
import json
NI = Gimp.RunMode.NONINTERACTIVE
R = {}

def info(l):
    img = l.get_image()
    return {"name": l.get_name(), "offsets": list(l.get_offsets()[1:]), "size": [l.get_width(), l.get_height()],
            "alpha": bool(l.has_alpha()), "position": img.get_item_position(l)}

img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/canvas.png"))
proc = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
for key, fname, level in CASES:
    src = Gimp.file_load_layer(NI, img, Gio.File.new_for_path("/sb/work/" + fname))
    src.set_name(key)
    img.insert_layer(src, None, 0)
    src.set_offsets(*OFFSETS)
    export_layer(src, "/sb/work/%s_src.png" % key)
    cfg = proc.create_config()
    cfg.set_property("run-mode", NI)
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", [src])
    cfg.set_property("beauty-level", level)
    t0 = time.time()
    res = proc.run(cfg)
    r = {"seconds": time.time() - t0, "status": res.index(0).value_nick,
         "error": str(res.index(1)) if res.length() > 1 else None, "src": info(src)}
    pos = img.get_item_position(src)
    if pos > 0:
        new = img.get_layers()[pos - 1]
        r["new"] = info(new)
        export_layer(new, "/sb/work/%s_new.png" % key)
        new.set_visible(False)
    src.set_visible(False)
    R[key] = r
json.dump(R, open("/sb/work/result.json", "w"))
img.delete()
'''

GIMP2_BIG = r'''
import json
R = {}

def info(l):
    return {"name": l.name, "offsets": list(l.offsets), "size": [l.width, l.height], "alpha": bool(l.has_alpha),
            "position": pdb.gimp_image_get_item_position(l.image, l)}

def export_layer(l, path):
    pdb.file_png_save2(l.image, l, path, path, 0, 6, 0, 0, 0, 0, 0, 0, 1)

img = pdb.gimp_file_load("/sb/work/canvas.png", "/sb/work/canvas.png")
f = pdb["python-fu-smart-beauty"]
for key, fname, level in CASES:
    src = pdb.gimp_file_load_layer(img, "/sb/work/" + fname)
    src.name = key
    pdb.gimp_image_insert_layer(img, src, None, 0)
    src.set_offsets(*OFFSETS)
    export_layer(src, "/sb/work/%s_src.png" % key)
    args = [img, src, level, 0] + [0] * (len(f.params) - 5)   # run-mode is not passed
    t0 = time.time()
    try:
        f(*args)
        r = {"status": "success"}
    except Exception as e:
        r = {"status": "error", "error": str(e)}
    r["seconds"] = time.time() - t0
    r["src"] = info(src)
    pos = pdb.gimp_image_get_item_position(img, src)
    if pos > 0:
        new = img.layers[pos - 1]
        r["new"] = info(new)
        export_layer(new, "/sb/work/%s_new.png" % key)
        new.visible = False
    src.visible = False
    R[key] = r
json.dump(R, open("/sb/work/result.json", "w"))
gimp.delete(img)
'''


@pytest.fixture(scope="module", params=list(GIMPS))
def big_run(request, tmp_path_factory, ailab_session):
    """install.sh into a throw-away profile (as test_e2e_real_gimp's ``installed``), then one real GIMP
    run over the three cases; returns (results, work dir, GIMP version)."""
    installed = request.getfixturevalue(request.param + "_host")
    ver = installed.version
    ailab = ailab_session
    ailab.reset()
    host_work = tmp_path_factory.mktemp("big-" + ver.replace(".", ""))
    os.chmod(str(host_work), 0o755)
    installed.install_plugin(host_work)
    assert ADAPTER[installed.major].exists()
    for d in ("tmp", "config"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o777)
    write_inputs(host_work)
    body = GIMP3_BIG if installed.major == 3 else GIMP2_BIG
    code = "import time\n" + program(installed.version, body, CASES=CASES, OFFSETS=OFFSETS)
    env = {"AILAB_API_KEY": ailab.valid_key, "AILAB_API_BASE": ailab.url, "TMPDIR": "/sb/work/tmp",
           "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config"}
    t0 = time.monotonic()
    res = installed.batch(host_work, code, env=env, timeout=300)
    secs = time.monotonic() - t0
    record_time("GIMP %s: three %dx%d layers retouched (big-layer path)" % (ver, W, H), secs)
    rj = host_work / "result.json"
    assert rj.exists(), "the batch wrote no result (rc=%d):\n%s" % (res.returncode, res.output[-5000:])
    r = json.loads(rj.read_text())
    for key, _, _ in CASES:
        assert r[key]["status"] == "success", (key, r[key], res.output[-3000:])
    REPORT.setdefault(installed.version, {})["gimp_seconds"] = round(secs, 1)
    return r, host_work, installed.version


def rgba(path):
    return np.asarray(Image.open(path).convert("RGBA"))


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def reduced_size():
    return imagefile.scaled_size(W, H, imagefile.fit_scale(W, H))


def model(src_rgb, level):
    """(expected, naive): S + up(R) - up(s) with s = S reduced as sent, R = the engine on s; naive = up(R)."""
    w, h = reduced_size()
    s = core.resize(src_rgb, w, h)
    r = simple_engine(s, level)
    up_r, up_s = core.resize(r, W, H).astype(int), core.resize(s, W, H).astype(int)
    return np.clip(src_rgb.astype(int) + up_r - up_s, 0, 255), up_r


def check_new_layer(r, key):
    new, src = r[key]["new"], r[key]["src"]
    assert new["size"] == [W, H] == src["size"], new
    assert new["offsets"] == list(OFFSETS) == src["offsets"], new
    assert new["position"] == src["position"] - 1, "the new layer must sit directly above the source"
    assert new["name"].startswith("Smart Beauty"), new


def test_untouched_structure_is_the_source_bit_for_bit(big_run):
    r, work, ver = big_run
    check_new_layer(r, "still")
    src = rgba(work / "still_src.png")[..., :3]
    got = rgba(work / "still_new.png")
    assert (got[..., 3] == 255).all()
    diff = got[..., :3].astype(int) - src.astype(int)
    _, naive = model(src, 0.0)
    REPORT[ver]["still"] = {"max|new-S|": int(np.abs(diff).max()), "bias": float(diff.mean()),
                            "psnr naive upscale": round(psnr(naive, src), 1)}
    # S + up(s) - up(s): exact only if grain extract/merge are exactly -/+ 128 (no rounding bias)
    assert np.abs(diff).max() == 0, "legacy grain extract/merge round: %s" % REPORT[ver]["still"]
    assert psnr(naive, src) < 40, "the texture is too coarse to tell an upscale from the original"


def test_change_applied_at_full_size_with_the_texture(big_run):
    r, work, ver = big_run
    check_new_layer(r, "tex")
    src = rgba(work / "tex_src.png")[..., :3]
    got = rgba(work / "tex_new.png")[..., :3].astype(int)
    expected, naive = model(src, 0.8)
    ours, nv = np.abs(got - expected), np.abs(naive - expected)
    # the fine texture: high-pass (minus a 3x3 box mean) of the result vs the expected's
    def hp(a):
        a = a.astype(np.float64)
        p = np.pad(a, ((1, 1), (1, 1), (0, 0)), mode="edge")
        return a - sum(p[dy:dy + a.shape[0], dx:dx + a.shape[1]] for dy in range(3) for dx in range(3)) / 9.0
    corr = lambda a, b: float(np.corrcoef(hp(a).ravel(), hp(b).ravel())[0, 1])  # noqa: E731
    REPORT[ver]["tex"] = {"mean|ours-exp|": round(float(ours.mean()), 3), "p99": float(np.percentile(ours, 99)),
                          "max": int(ours.max()), "mean|naive-exp|": round(float(nv.mean()), 2),
                          "psnr ours": round(psnr(got, expected), 1), "psnr naive": round(psnr(naive, expected), 1),
                          "texture corr ours": round(corr(got, expected), 3),
                          "texture corr naive": round(corr(naive, expected), 3),
                          "mean change": round(float((got - src).mean()), 2)}
    rep = REPORT[ver]["tex"]
    assert rep["mean change"] > 15, "the retouch was not applied: %s" % rep
    assert ours.mean() < 1.0 and np.percentile(ours, 99) <= 4, rep
    assert ours.mean() * 5 < nv.mean(), rep
    assert rep["texture corr ours"] > 0.95 and rep["texture corr naive"] < rep["texture corr ours"] - 0.2, rep


def test_layer_with_alpha_is_scaled_up_with_its_alpha(big_run):
    r, work, ver = big_run
    check_new_layer(r, "alpha")
    src = rgba(work / "alpha_src.png")
    got = rgba(work / "alpha_new.png")
    assert r["alpha"]["new"]["alpha"] is True
    assert np.array_equal(got[..., 3], src[..., 3]), "the source's alpha is not restored exactly"
    opaque = src[..., 3] == 255
    w, h = reduced_size()
    naive = core.resize(simple_engine(core.resize(src[..., :3], w, h), 0.8), W, H).astype(int)
    d = np.abs(got[..., :3].astype(int) - naive)[opaque]
    REPORT[ver]["alpha"] = {"mean|new-up(R)| opaque": round(float(d.mean()), 3), "max": int(d.max())}
    assert d.mean() < 1.5, REPORT[ver]["alpha"]


def teardown_module(module):
    if REPORT:
        record_time("big-layer figures: %s" % json.dumps(REPORT, sort_keys=True), 0.0)

"""The layer-mask option in real GIMP 3.0.4, 3.2.6 and 2.10.22 (+ Python-Fu), headless, against the local AILab
server on loopback (the cloud path: the service returns only an image, so the mask comes from the result).

GIMP 3: python-fu-smart-beauty with layer-mask=TRUE; GIMP 2.10: python-fu-smart-beauty-masked. Checked through
files: the new layer has a mask; the image's composite (source + masked layer) equals the plain result within a
level; the mask is 255 wherever the retouch changed a channel by more than a level and 0 far from the face; with a
selection the mask stays inside it and the selection is the same afterwards; no helper layer or channel is left.
"""
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hosts import record_time
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lib"))
from smart_beauty import changemask  # noqa: E402

W, H = 200, 160
BOX = (70, 50, 130, 110)      # the "face": textured; the rest white, which the SimpleEngine leaves exactly
SELECTION = (0, 0, 100, H)    # the second run: the left half selected

GIMP3 = r'''
import json
NI = Gimp.RunMode.NONINTERACTIVE
R = {"runs": []}

def save(img, path):
    return Gimp.file_save(NI, img, Gio.File.new_for_path(path), None)

def export_plain(layer, path):      # the layer's own pixels, without its mask
    tmp = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
    cp = Gimp.Layer.new_from_drawable(layer, tmp)
    tmp.insert_layer(cp, None, 0)
    if cp.get_mask() is not None:
        cp.remove_mask(Gimp.MaskApplyMode.DISCARD)
    cp.set_offsets(0, 0)
    save(tmp, path)
    tmp.delete()

def export_mask(layer, path):
    tmp = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.GRAY)
    cp = Gimp.Layer.new_from_drawable(layer.get_mask(), tmp)
    tmp.insert_layer(cp, None, 0)
    save(tmp, path)
    tmp.delete()

proc = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
R["args"] = [a.name for a in proc.get_arguments()]
for i, select in enumerate([False, True]):
    img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/in.png"))
    src = img.get_layers()[0]
    if select:
        img.select_rectangle(Gimp.ChannelOps.REPLACE, *SELECTION)
    before = list(Gimp.Selection.bounds(img))
    cfg = proc.create_config()
    cfg.set_property("run-mode", NI)
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", [src])
    cfg.set_property("beauty-level", 0.8)
    cfg.set_property("layer-mask", True)
    res = proc.run(cfg)
    run = {"status": res.index(0).value_nick, "error": str(res.index(1)) if res.length() > 1 else None,
           "layers": [l.get_name() for l in img.get_layers()], "channels": len(img.get_channels()),
           "selection_before": before, "selection_after": list(Gimp.Selection.bounds(img))}
    new = img.get_layers()[0]
    run["mask"] = new.get_mask() is not None
    if run["mask"]:
        export_plain(new, "/sb/work/plain%d.png" % i)
        export_mask(new, "/sb/work/mask%d.png" % i)
        flat = img.duplicate()
        flat.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
        save(flat, "/sb/work/composite%d.png" % i)
        flat.delete()
    R["runs"].append(run)
    img.delete()
json.dump(R, open("/sb/work/result.json", "w"))
'''

GIMP2 = r'''
import json
R = {"runs": []}

def export_plain(layer, path):
    tmp = pdb.gimp_image_new(layer.width, layer.height, 0)
    cp = pdb.gimp_layer_new_from_drawable(layer, tmp)
    pdb.gimp_image_insert_layer(tmp, cp, None, 0)
    if pdb.gimp_layer_get_mask(cp) is not None:
        pdb.gimp_layer_remove_mask(cp, 1)
    pdb.file_png_save2(tmp, cp, path, path, 0, 9, 0, 0, 0, 0, 0, 0, 0)
    pdb.gimp_image_delete(tmp)

def export_mask(layer, path):
    mask = pdb.gimp_layer_get_mask(layer)
    pdb.file_png_save2(layer.image, mask, path, path, 0, 9, 0, 0, 0, 0, 0, 0, 0)

for i, select in enumerate([False, True]):
    img = pdb.gimp_file_load("/sb/work/in.png", "/sb/work/in.png")
    src = img.layers[0]
    if select:
        pdb.gimp_image_select_rectangle(img, 2, *SELECTION)
    before = list(pdb.gimp_selection_bounds(img))
    try:
        pdb.python_fu_smart_beauty_masked(img, src, 0.8, 0)
        status = "success"
    except RuntimeError as e:
        status = str(e)
    run = {"status": status, "layers": [l.name for l in img.layers], "channels": len(img.channels),
           "selection_before": before, "selection_after": list(pdb.gimp_selection_bounds(img))}
    new = img.layers[0]
    run["mask"] = pdb.gimp_layer_get_mask(new) is not None
    if run["mask"]:
        export_plain(new, "/sb/work/plain%d.png" % i)
        export_mask(new, "/sb/work/mask%d.png" % i)
        dup = pdb.gimp_image_duplicate(img)
        flat = pdb.gimp_image_merge_visible_layers(dup, 1)
        pdb.file_png_save2(dup, flat, "/sb/work/composite%d.png" % i, "/sb/work/composite%d.png" % i,
                           0, 9, 0, 0, 0, 0, 0, 0, 0)
        pdb.gimp_image_delete(dup)
    R["runs"].append(run)
    pdb.gimp_image_delete(img)
json.dump(R, open("/sb/work/result.json", "w"))
'''


def face_on_white():
    rgb = np.full((H, W, 3), 255, np.uint8)
    x0, y0, x1, y1 = BOX
    rng = np.random.RandomState(7)
    rgb[y0:y1, x0:x1] = rng.randint(0, 128, size=(y1 - y0, x1 - x0, 3))
    return rgb


def rgb(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


@pytest.mark.parametrize("root", ["gimp3", "gimp32", "gimp210"])
def test_real_gimp_adds_the_retouch_masked_to_where_it_changed(root, request, host_work, ailab):
    gimp = request.getfixturevalue(root + "_host")
    gimp.install_plugin(host_work)
    source = face_on_white()
    Image.fromarray(source, "RGB").save(host_work / "in.png")
    for d in ("tmp", "config"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o777)
    code = "SELECTION = %r\n" % (SELECTION,) + textwrap.dedent(GIMP3 if gimp.major == 3 else GIMP2)
    env = {"AILAB_API_KEY": ailab.valid_key, "AILAB_API_BASE": ailab.url, "TMPDIR": "/sb/work/tmp",
           "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config"}
    t0 = time.monotonic()
    res = gimp.batch(host_work, code, env=env, timeout=300)
    record_time("GIMP %s: two layer-mask runs (%dx%d)" % (gimp.version, W, H), time.monotonic() - t0)
    rj = host_work / "result.json"
    assert rj.exists(), res.output[-5000:]
    r = json.loads(rj.read_text())
    detail = "%s\n--- gimp\n%s" % (r, res.output[-3000:])
    if gimp.major == 3:
        assert r["args"][-1] == "layer-mask", detail
    grow, feather = changemask.radii(W, H)
    for i, run in enumerate(r["runs"]):
        assert run["status"] == "success" and run["mask"], detail
        assert run["layers"] == ["Smart Beauty (level 0.80)", "Background"], detail
        assert run["channels"] == 0 and run["selection_after"] == run["selection_before"], detail
        plain, mask, composite = (rgb(host_work / ("%s%d.png" % (n, i))) for n in ("plain", "mask", "composite"))
        mask = mask[..., 0]
        changed = np.abs(plain - source).max(axis=-1) > changemask.CHANGED_ABOVE
        x0, y0, x1, y1 = BOX
        assert changed[y0:y1, x0:x1].mean() > 0.9 and not changed[:y0].any(), detail
        if i == 0:
            # the layer with its mask over the source: the plain result, to within a level
            assert np.abs(composite - plain).max() <= 1, np.abs(composite - plain).max()
            assert (mask[changed] == 255).all()
            far = np.ones_like(changed)
            reach = grow + 2 * feather
            far[max(0, y0 - reach):y1 + reach, max(0, x0 - reach):x1 + reach] = False
            assert far.any() and (mask[far] == 0).all(), mask[far].max()      # untouched areas masked out
            edge = mask[y0 - reach:y0, (x0 + x1) // 2]
            assert edge[0] == 0 and 0 < edge[-1] < 255 and len(set(edge.tolist())) > 3, edge   # a soft edge
        else:    # within the selection (the left half) only: the result there, the source beyond it
            left = SELECTION[2]
            assert (mask[:, left:] == 0).all() and (mask[:, :left][changed[:, :left]] == 255).all()
            assert np.abs(composite[:, :left] - plain[:, :left]).max() <= 1
            assert np.array_equal(composite[:, left:], source[:, left:].astype(int))

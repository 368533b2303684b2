"""Behaviour of the offline engine on real photos (see samples/README.md for the images).

Bounds pinned here:
* outside the engine's face ROIs the output is bit-identical to the input (exact, not approximate);
* level 0 is bit-identical everywhere;
* on skin (mask > 0.8), the variance of blemish-scale detail (band 0.8-3 % of the face width) drops
  by >= 20 % at level 0.7 and mean L* rises by >= 1.5 (texture kept: see test_look.py);
* the mean change inside the ROI grows strictly with the level and is continuous (small level ->
  small change).
"""

import os

import numpy as np
import pytest

from smart_beauty_engine import NoFaceFound
from smart_beauty_engine.offline import OfflineEngine, _probe, available


def outside(mask_shape, regions):
    """Boolean mask: True outside all ``regions`` (x0, y0, x1, y1)."""
    out = np.ones(mask_shape[:2], bool)
    for x0, y0, x1, y1 in regions:
        out[y0:y1, x0:x1] = False
    return out


def skin_mask(engine, rgb):
    """Full-image skin mask (float32) of the largest face, from the engine's own mask builder."""
    from smart_beauty_engine.masks import build_masks, face_roi, upscale

    face = engine.find_faces(rgb)[0]
    x0, y0, x1, y1 = face_roi(face, rgb.shape)
    m = build_masks(rgb[y0:y1, x0:x1], face, (x0, y0))
    full = np.zeros(rgb.shape[:2], np.float32)
    full[y0:y1, x0:x1] = upscale(m.skin, (y1 - y0, x1 - x0))
    return full


def lab(rgb):
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def blemish_detail(rgb, face_width):
    import cv2

    L = lab(rgb)[..., 0]
    return cv2.GaussianBlur(L, (0, 0), 0.008 * face_width) - cv2.GaussianBlur(L, (0, 0), 0.03 * face_width)


def test_engine_installed_when_required():
    ok, reason = available()
    assert isinstance(reason, str) and reason.endswith(".")
    if os.environ.get("SB_REQUIRE_ENGINE") == "1":
        assert ok, reason
    elif not ok:
        pytest.skip("OFFLINE ENGINE NOT INSTALLED (set SB_REQUIRE_ENGINE=1 to make this fail): " + reason)


def test_available_says_not_installed_when_opencv_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 -> ImportError
    ok, reason = _probe()
    assert not ok
    assert "not installed" in reason and "OpenCV" in reason and "./install.sh --with-engine" in reason


def test_a_changed_model_file_is_refused_with_one_sentence(monkeypatch, tmp_path):
    import shutil

    from smart_beauty_engine import faces

    for name in faces.MODEL_SHA256:
        shutil.copy(str(faces.MODELS / name), str(tmp_path / name))
    monkeypatch.setattr(faces, "MODELS", tmp_path)
    assert _probe()[0]
    with open(str(tmp_path / "face_landmark.tflite"), "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01")
    ok, reason = _probe()
    assert not ok and "face_landmark.tflite is damaged" in reason and "reinstall" in reason
    (tmp_path / "face_landmark.tflite").unlink()
    ok, reason = _probe()
    assert not ok and "face_landmark.tflite is missing" in reason


def test_finds_the_face_on_the_portrait(engine, portrait):
    faces = engine.find_faces(portrait)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    # Eileen Collins's face: around x 178-272, y 68-178 in the 512 px photo
    assert 150 < x0 < 200 and 250 < x1 < 300 and 40 < y0 < 100 and 150 < y1 < 200
    assert faces[0].landmarks.shape == (468, 2)


def test_level_zero_is_identity(engine, portrait, group, family, garfield, phone, crowd):
    for img in (portrait, group, family, garfield, phone, crowd):
        out = engine(img, 0.0, True)
        assert out.dtype == np.uint8 and out.shape == img.shape
        assert np.array_equal(out, img)
        assert out is not img


def test_output_shape_and_dtype(engine, portrait):
    odd = np.ascontiguousarray(portrait[3:480, 5:500])  # odd size, face kept
    out = engine(odd, 0.6, False)
    assert out.shape == odd.shape and out.dtype == np.uint8


def test_pixels_outside_face_regions_unchanged(engine, portrait, hopper, group, family, garfield, phone,
                                               crowd):
    for img, multi in ((portrait, False), (hopper, False), (group, True), (group, False), (family, True),
                       (garfield, False), (phone, True), (crowd, True), (crowd, False)):
        regions = engine.face_regions(img, multi)
        out = engine(img, 1.0, multi)
        keep = outside(img.shape, regions)
        assert np.array_equal(out[keep], img[keep])
        # and each ROI is a box around its face, not the photo: < 3x the landmarks' bounding box
        # (3.1x: on the 57 px faces of the family photo whole-pixel rounding adds ~1 %)
        faces = engine.find_faces(img, every_face=multi)[:len(regions)]
        for face, (x0, y0, x1, y1) in zip(faces, regions):
            assert (x1 - x0) * (y1 - y0) < 3.1 * face.area


@pytest.mark.parametrize("name", ["portrait", "hopper"])
def test_skin_is_smoother_and_brighter(engine, request, name):
    img = request.getfixturevalue(name)
    out = engine(img, 0.7, False)
    skin = skin_mask(engine, img) > 0.8
    assert skin.sum() > 1500
    fw = engine.find_faces(img)[0].width
    var_in = blemish_detail(img, fw)[skin].var()
    var_out = blemish_detail(out, fw)[skin].var()
    assert var_out < 0.8 * var_in, (var_in, var_out)
    l_in = lab(img)[..., 0][skin].mean()
    l_out = lab(out)[..., 0][skin].mean()
    assert l_out > l_in + 1.5, (l_in, l_out)


def test_change_grows_monotonically_and_smoothly_with_level(engine, portrait):
    (x0, y0, x1, y1), = engine.face_regions(portrait, False)
    roi = portrait[y0:y1, x0:x1].astype(np.float32)
    levels = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.85, 1.0]
    changes = [np.abs(engine(portrait, lv, False)[y0:y1, x0:x1] - roi).mean() for lv in levels]
    assert all(a < b for a, b in zip(changes, changes[1:])), changes
    # continuity: a small level makes a small change, and no jump between neighbours
    assert changes[0] < 0.15 * changes[-1], changes
    steps = np.diff([0.0] + changes) / np.diff([0.0] + levels)
    assert steps.max() < 3.0 * (changes[-1] / 1.0), changes


def test_group_multi_face_touches_every_face(engine, group):
    regions = engine.face_regions(group, True)
    assert len(regions) == 4
    out = engine(group, 0.8, True)
    for x0, y0, x1, y1 in regions:
        change = np.abs(out[y0:y1, x0:x1].astype(int) - group[y0:y1, x0:x1]).mean()
        assert change > 1.0, ((x0, y0, x1, y1), change)


def test_group_single_face_touches_only_the_largest(engine, group):
    faces = engine.find_faces(group)
    assert len(faces) == 4
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)
    largest, = engine.face_regions(group, False)
    out = engine(group, 0.8, False)
    keep = outside(group.shape, [largest])
    assert np.array_equal(out[keep], group[keep])
    x0, y0, x1, y1 = largest
    assert np.abs(out[y0:y1, x0:x1].astype(int) - group[y0:y1, x0:x1]).mean() > 1.0
    # the largest face is Grace Hopper's at 75 % (top right of the collage)
    assert x0 > 520 and y1 < 452


def test_face_cut_by_the_frame_edge(engine, portrait):
    cut = np.ascontiguousarray(portrait[:, 200:])  # left part of the face outside the photo
    out = engine(cut, 1.0, False)
    assert out.shape == cut.shape


def test_no_face_raises(engine, noface):
    with pytest.raises(NoFaceFound):
        engine(noface, 0.7, True)
    flat = np.full((240, 320, 3), 128, np.uint8)
    with pytest.raises(NoFaceFound):
        engine(flat, 0.0, False)


@pytest.mark.parametrize("level", [-0.1, 1.5, float("nan")])
def test_bad_level_rejected(engine, portrait, level):
    with pytest.raises(ValueError):
        engine(portrait, level, False)


def test_bad_array_rejected(engine):
    with pytest.raises(ValueError):
        engine(np.zeros((10, 10), np.uint8), 0.5, False)
    with pytest.raises(ValueError):
        engine(np.zeros((10, 10, 3), np.float32), 0.5, False)


def test_engine_is_reusable_after_close(portrait):
    ok, reason = available()
    if not ok:
        pytest.skip("OFFLINE ENGINE NOT INSTALLED: " + reason)
    eng = OfflineEngine()
    a = eng(portrait, 0.5, False)
    eng.close()
    b = eng(portrait, 0.5, False)
    assert np.array_equal(a, b)

"""The engine's face finder (mediapipe's models run by OpenCV's DNN module) on real photos.

* It agrees with mediapipe 0.10.21 itself (recorded by scripts/mediapipe-reference.py into
  data/mediapipe-0.10.21-reference.json): same face, box and key points within a few pixels, the
  468-point mesh within a pixel (median) — the remaining difference is the anti-aliased shrink we do
  before sampling where mediapipe samples bilinearly.
* Group photos: every face at least 4 % of the photo's short side wide is found, each mesh on its
  own face, also when faces touch.
"""

import json
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def scaled(rgb, scale):
    from PIL import Image

    if scale == 1.0:
        return rgb
    h, w = rgb.shape[:2]
    return np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale)), Image.BILINEAR))


def reference_cases():
    with open(os.path.join(HERE, "data", "mediapipe-0.10.21-reference.json")) as f:
        return json.load(f)["cases"]


@pytest.mark.parametrize("case", reference_cases(), ids=lambda c: "%s-%gx%s" % (
    c["file"], c["scale"], "-mirrored" if c["mirrored"] else ""))
def test_agrees_with_mediapipe(engine, request, case):
    img = request.getfixturevalue(case["file"].split(".")[0])
    if case["mirrored"]:
        img = img[:, ::-1]
    img = np.ascontiguousarray(scaled(np.ascontiguousarray(img), case["scale"]))
    finder = engine._faces()
    dets = finder.detect(img, every_face=False)
    assert len(dets) == 1
    box_err = np.abs(np.array(dets[0].box) - np.array(case["box"])).max()
    kp_err = np.hypot(*(dets[0].keypoints - np.array(case["keypoints"])).T).max()
    faces = engine.find_faces(img, every_face=False)
    assert len(faces) == 1
    err = np.hypot(*(faces[0].landmarks - np.array(case["landmarks"], np.float32)).T)
    eye_distance = np.hypot(*(np.array(case["landmarks"][33]) - np.array(case["landmarks"][263])))
    # one pixel = ~1 % of the eye distance on these faces; mediapipe's own refine=False vs refine=True
    # meshes differ by about that much
    assert box_err < 0.04 * eye_distance + 1.0, box_err
    assert kp_err < 0.08 * eye_distance + 1.0, kp_err
    assert np.median(err) < 0.015 * eye_distance + 0.3, (np.median(err), eye_distance)
    assert np.percentile(err, 95) < 0.04 * eye_distance + 0.5, (np.percentile(err, 95), eye_distance)


def face_crop(rgb, face, margin):
    """A square crop around ``face`` (``margin`` x its width) and the face's box inside it."""
    lo, hi = face.landmarks.min(axis=0), face.landmarks.max(axis=0)
    c = (lo + hi) / 2
    half = margin * (hi - lo).max() / 2
    x0, y0 = int(max(0, c[0] - half)), int(max(0, c[1] - half))
    x1, y1 = int(min(rgb.shape[1], c[0] + half)), int(min(rgb.shape[0], c[1] + half))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


def paste(canvas, crop, x, y, width):
    from PIL import Image

    h = round(crop.shape[0] * width / crop.shape[1])
    part = np.asarray(Image.fromarray(crop).resize((width, h), Image.LANCZOS))
    canvas[y:y + h, x:x + width] = part
    return x, y, x + width, y + h


@pytest.fixture(scope="module")
def crops(engine, portrait, hopper):
    out = []
    for img in (portrait, hopper):
        face = engine.find_faces(img, every_face=False)[0]
        out.append(face_crop(img, face, 1.6))
    return out


def test_every_face_down_to_4_percent_of_the_short_side(engine, crops):
    """A 3000x2000 scene with eight real faces from 4.5 % to 25 % of the short side (2000 px): all found,
    each once, each mesh inside its own face; without multi_face only the largest is retouched."""
    rng = np.random.RandomState(5)
    canvas = (rng.normal(120, 18, (2000, 3000, 3)).clip(0, 255)).astype(np.uint8)
    import cv2

    canvas = cv2.GaussianBlur(canvas, (0, 0), 6)        # a soft, textured background
    places = []
    # face width ~ crop width / 1.6; crop widths chosen so faces are 90-500 px (4.5-25 % of 2000)
    spec = [(0, 145, 100, 120), (1, 150, 500, 150), (0, 200, 900, 200), (1, 260, 1300, 160),
            (0, 330, 1800, 300), (1, 420, 2300, 250), (0, 560, 200, 1000), (1, 800, 1000, 900)]
    for i, (which, width, x, y) in enumerate(spec):
        crop = crops[which] if i % 2 == 0 else np.ascontiguousarray(crops[which][:, ::-1])
        places.append(paste(canvas, crop, x, y, width))
    faces = engine.find_faces(canvas, every_face=True)
    assert len(faces) == len(places), [f.box for f in faces]
    for (x0, y0, x1, y1) in places:
        mine = [f for f in faces if x0 <= f.landmarks[:, 0].mean() <= x1 and y0 <= f.landmarks[:, 1].mean() <= y1]
        assert len(mine) == 1, ((x0, y0, x1, y1), [f.box for f in faces])
        lo, hi = mine[0].landmarks.min(axis=0), mine[0].landmarks.max(axis=0)
        # the whole mesh lies on this face's crop
        assert x0 - 2 <= lo[0] and hi[0] <= x1 + 2 and y0 - 2 <= lo[1] and hi[1] <= y1 + 2
    assert min(f.width for f in faces) < 0.05 * 2000
    regions = engine.face_regions(canvas, multi_face=False)
    assert len(regions) == 1
    big = places[-1]
    x0, y0, x1, y1 = regions[0]
    assert x0 <= (big[0] + big[2]) / 2 <= x1 and y0 <= (big[1] + big[3]) / 2 <= y1


@pytest.mark.parametrize("margin", [1.15, 1.3])
def test_touching_faces_each_get_their_own_mesh(engine, crops, margin):
    """Two real faces side by side, crops touching (so each face's 1.5x mesh crop holds part of the
    other): two meshes, one on each face; the retouch changes both faces, not one of them twice."""
    a, b = (face_crop_again(engine, c, margin) for c in crops)
    h = 400
    scene = np.full((h + 100, 2 * h + 40, 3), 110, np.uint8)
    left = paste(scene, a, 20, 50, h)
    right = paste(scene, b, 20 + h, 50, h)
    scene = scene[:max(left[3], right[3]) + 50]
    faces = engine.find_faces(scene, every_face=True)
    assert len(faces) == 2, [f.box for f in faces]
    centres = sorted(f.landmarks.mean(axis=0)[0] for f in faces)
    assert left[0] < centres[0] < left[2] and right[0] < centres[1] < right[2], centres
    out = engine(scene, 0.8, multi_face=True)
    diff = np.abs(out.astype(int) - scene.astype(int)).max(axis=-1) > 2
    assert diff[:, left[0]:left[2]].sum() > 1000 and diff[:, right[0]:right[2]].sum() > 1000


def face_crop_again(engine, crop, margin):
    face = engine.find_faces(crop, every_face=False)[0]
    return face_crop(crop, face, margin)


def test_tile_sides_end_for_every_photo_size():
    """The tile search is a short, shrinking list for every size (it once looped forever on 154 sizes,
    e.g. a short side of 356 or 1434 px, through float rounding at the last step)."""
    from smart_beauty_engine.faces import MIN_FACE, SEES_FROM, SEES_WHOLE, tile_sides

    for short in range(16, 6001):
        for ratio in (1.0, 4 / 3.0, 16 / 9.0, 3.0):
            sides = tile_sides(int(short * ratio), short)
            assert len(sides) <= 4 and sides == sorted(sides, reverse=True), (short, ratio, sides)
            if sides and short >= 200:
                # the last tiles see the smallest face looked for; each level overlaps the one before
                assert sides[-1] * SEES_FROM <= MIN_FACE * short + 1
                previous = [int(short * ratio)] + sides[:-1]
                assert all(SEES_WHOLE * s >= SEES_FROM * p - 1 for s, p in zip(sides, previous))


def family_strip(copies, short_side):
    """Synthetic layout of a real photo: ``copies`` of samples/family.jpg side by side (every other one
    mirrored) on a dark, softly textured backdrop ``short_side`` px high, like a row of people in a
    panoramic group photo; returns the image and the hand-drawn face boxes placed in it."""
    import cv2
    import look

    fam = look.load_rgb(os.path.join(look.SAMPLES, look.FAMILY + ".jpg"))
    h, w = fam.shape[:2]
    rng = np.random.RandomState(3)
    img = cv2.GaussianBlur(rng.normal(60, 12, (short_side, w * copies, 3)).clip(0, 255).astype(np.uint8), (0, 0), 5)
    top = (short_side - h) // 3
    boxes = []
    for i in range(copies):
        mirrored = i % 2 == 1
        img[top:top + h, i * w:(i + 1) * w] = fam[:, ::-1] if mirrored else fam
        for x0, y0, x1, y1 in look.FAMILY_FACES.values():
            if mirrored:
                x0, x1 = w - x1, w - x0
            boxes.append((i * w + x0, top + y0, i * w + x1, top + y1))
    return img, boxes


def family_tiling(rows, cols):
    """Synthetic layout of a real photo: samples/family.jpg tiled ``rows`` x ``cols``; returns the image and
    the hand-drawn face boxes placed in it."""
    import look

    fam = look.load_rgb(os.path.join(look.SAMPLES, look.FAMILY + ".jpg"))
    h, w = fam.shape[:2]
    img = np.ascontiguousarray(np.tile(fam, (rows, cols, 1)))
    boxes = [(c * w + x0, r * h + y0, c * w + x1, r * h + y1)
             for r in range(rows) for c in range(cols) for x0, y0, x1, y1 in look.FAMILY_FACES.values()]
    return img, boxes


def assert_each_face_once(faces, boxes):
    """Every box holds exactly one mesh centre, and no mesh lies outside the boxes."""
    centres = [f.landmarks.mean(axis=0) for f in faces]
    for x0, y0, x1, y1 in boxes:
        mine = [c for c in centres if x0 <= c[0] <= x1 and y0 <= c[1] <= y1]
        assert len(mine) == 1, ((x0, y0, x1, y1), [tuple(int(v) for v in c) for c in mine])
    assert len(faces) == len(boxes), (len(faces), len(boxes))


@pytest.mark.parametrize("share", [0.042, 0.045])
def test_a_row_of_faces_at_the_limit_each_get_one_mesh(engine, share):
    """Five copies of the real family photo in a row, the smallest face at 4.2 / 4.5 % of the short side
    (20 faces, heads touching): each person has one mesh. Before, detections of the wrong size that tiles
    of another scale found around a face (or across two touching ones) made a second, off-centre mesh:
    23 faces, three people retouched twice."""
    img, boxes = family_strip(5, int(round(57 / share)))
    assert_each_face_once(engine.find_faces(img, every_face=True), boxes)


def test_a_group_at_the_search_floor_is_searched_once_more_finer(engine):
    """Sixteen copies of the real family photo (4 x 4, 64 faces of 3.3-4.0 % of the short side, at the
    floor of the finest tiles): the faces found first lie near that floor, so one finer level runs and
    finds the two that the detector missed there (62 of 64 before)."""
    img, boxes = family_tiling(4, 4)
    assert_each_face_once(engine.find_faces(img, every_face=True), boxes)


def test_an_unsure_box_across_two_faces_does_not_take_them_with_it(engine):
    """The real family photo tiled 2 x 2: a coarse tile gave one box (score 0.53-0.55, 184 px) across Michelle
    and Malia Obama's faces (72 px) in both upper copies; taken for a big face, it dropped theirs as parts
    of it, then failed itself: four people not retouched. Only a confirmed face may drop others now, and
    a confirmation needs a face of the box's size."""
    img, boxes = family_tiling(2, 2)
    assert_each_face_once(engine.find_faces(img, every_face=True), boxes)


@pytest.mark.parametrize("look_name", ["desaturated", "sepia"])
def test_every_face_of_a_black_and_white_group_photo(engine, crowd, look_name):
    """The real crowd in black and white / sepia, 2 x 2 (1920 x 1280, as a scanned group photo): every face of
    at least 4 % of the short side (51 px) is found once and nothing else is. Near the finest tiles' floor
    the short-range detector misses many faces without colour: it found 6 (grey) and 17 (sepia) of the 28
    (in colour all 28), so the finer level did not run; the second opinion's look at the whole photo
    finds them."""
    import look

    img = np.ascontiguousarray(np.tile(getattr(look, look_name)(crowd), (2, 2, 1)))
    h, w = crowd.shape[:2]
    every = [(c * w + x0, r * h + y0, c * w + x1, r * h + y1)
             for r in range(2) for c in range(2) for x0, y0, x1, y1 in look.CROWD_FACES.values()]
    wanted = [b for b, name in zip(every, list(look.CROWD_FACES) * 4)
              if b[2] - b[0] >= 0.04 * min(img.shape[:2]) and name not in look.CROWD_MISSED]
    assert len(wanted) == 28
    faces = engine.find_faces(img, every_face=True)
    for box in wanted:
        assert len(look.face_in(faces, box)) == 1, (box, [f.box for f in faces])
    for f in faces:
        assert sum(bool(look.face_in([f], box)) for box in every) == 1, f.box


def test_the_second_look_gives_the_short_range_detectors_box(engine, portrait):
    """``second_look`` (YuNet on the whole photo) turns its box into the short-range detector's square and
    keeps its key points, eyes first: on the portrait both find the face, the boxes overlap well and the
    mesh made from either lies on the same face."""
    from smart_beauty_engine import faces as faces_mod

    finder = engine._faces()
    (mine,) = finder.detect(portrait, every_face=False)
    (second,) = finder.second_look(portrait)
    assert second.score >= faces_mod.CONFIRM_SCORE
    iou = faces_mod._iou(np.array(mine.box), np.array([second.box]))[0]
    assert iou > 0.7, (mine.box, second.box)
    assert np.abs(second.keypoints[:2] - mine.keypoints[:2]).max() < 0.1 * (mine.box[2] - mine.box[0])
    a, b = finder.landmarks(portrait, mine), finder.landmarks(portrait, second)
    assert a is not None and b is not None
    assert np.median(np.hypot(*(a - b).T)) < 0.05 * (mine.box[2] - mine.box[0])


def test_the_second_opinion_loads_when_first_asked_but_is_checked_at_once(engine, portrait, monkeypatch, tmp_path):
    """A portrait whose whole photo shows a sure face never asks the second opinion, so a fresh finder
    does not load it (~35 ms of every one-face run); a group photo does. Its file is still checked when
    the finder is made: a damaged one stops the engine there, not in a later retouch."""
    import shutil

    from smart_beauty_engine import faces as faces_mod

    finder = faces_mod.FaceFinder()
    try:
        assert len(finder.find(portrait, every_face=False)) == 1
        assert finder._confirmer is None and finder._looker is None
        assert len(finder.find(portrait, every_face=True)) == 1
        assert finder._looker is not None
    finally:
        finder.close()
    for name in faces_mod.MODEL_SHA256:
        shutil.copy(str(faces_mod.MODELS / name), str(tmp_path / name))
    with open(str(tmp_path / faces_mod.SECOND_OPINION), "r+b") as f:
        f.seek(5000)
        f.write(b"\x00\x01")
    monkeypatch.setattr(faces_mod, "MODELS", tmp_path)
    with pytest.raises(faces_mod.ModelError, match="yunet_s_640_640.onnx is damaged"):
        faces_mod.FaceFinder()


def test_a_box_of_the_wrong_size_around_a_face_is_not_confirmed(engine, portrait):
    """``confirmed`` wants a face of the detection's own size: the portrait's box grown 2.6 times around the
    face, or shrunk to a third of it, holds a face centred inside it, but is not that face's box."""
    from smart_beauty_engine.faces import Detection

    finder = engine._faces()
    (det,) = finder.detect(portrait, every_face=False)
    assert finder.confirmed(portrait, det)
    cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
    for k in (2.6, 1 / 3.0):
        half = k * (det.box[2] - det.box[0]) / 2
        wrong = Detection(box=(cx - half, cy - half, cx + half, cy + half), score=0.6, keypoints=det.keypoints)
        assert not finder.confirmed(portrait, wrong), k


@pytest.mark.parametrize("rows, cols", [(3, 4), (3, 5)])
def test_clasped_hands_are_no_face(engine, rows, cols):
    """The real family photo tiled 3 x 4 / 3 x 5 (synthetic layouts, faces 4.4-5.4 % of the short side):
    every face once and nothing else. In these layouts some tile showed Barack Obama's clasped hands at the
    edge of the detector's range (scores 0.53-0.58) and their mesh passed the face flag, so the hands were
    retouched as a face; run again at their own scale, the detector sees no face there."""
    img, boxes = family_tiling(rows, cols)
    assert_each_face_once(engine.find_faces(img, every_face=True), boxes)


@pytest.mark.parametrize("scale", [0.85, 0.5, 0.45])
def test_clasped_hands_in_a_small_copy_of_a_real_photo_are_not_a_face(engine, family, scale):
    """samples/family.jpg at 85 / 50 / 45 % of its size (544 / 320 / 288 px wide): Barack Obama's clasped
    hands on Michelle Obama's lap are not a face. The short-range detector scored them 0.57-0.72, run again
    at their own scale it found them again, and their mesh passed the face flag: the hands were retouched
    (whitened, slimmed) as a fifth face. The second opinion (YuNet) gives them 0.0-0.41 and each real
    face 0.87 or more."""
    import cv2
    import look

    img = np.ascontiguousarray(cv2.resize(family, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    boxes = [tuple(v * scale for v in box) for box in look.FAMILY_FACES.values()]
    assert_each_face_once(engine.find_faces(img, every_face=True), boxes)


def test_the_second_opinion_is_a_model_of_its_own_checked_like_the_others():
    """YuNet ships in models/ with its sha256 in MODEL_SHA256 (checked when loaded, as the others), its
    licence file and its row in models/README.md."""
    import hashlib

    from smart_beauty_engine import faces as faces_mod

    name = faces_mod.SECOND_OPINION
    data = (faces_mod.MODELS / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == faces_mod.MODEL_SHA256[name]
    readme = (faces_mod.MODELS / "README.md").read_text(encoding="utf-8")
    assert name in readme and faces_mod.MODEL_SHA256[name] in readme
    licence = (faces_mod.MODELS / "LICENSE.libfacedetection.train").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence
    assert hashlib.sha256(licence.encode("utf-8")).hexdigest() in readme


def test_a_detection_is_confirmed_only_where_a_face_is(engine, portrait):
    """``confirmed``: the portrait's own detection is confirmed by the second opinion; the same box on a
    plain grey photo is not."""
    finder = engine._faces()
    det = finder.detect(portrait, every_face=False)[0]
    assert finder.confirmed(portrait, det)
    x0, y0, x1, y1 = det.box
    backdrop = np.full_like(portrait, 128)
    assert not finder.confirmed(backdrop, det)


def test_an_unconfirmed_face_on_the_whole_photo_sends_a_one_face_search_to_the_tiles(engine, portrait, monkeypatch):
    """Only the largest face wanted: a whole-photo detection that is neither sure nor confirmed does not end
    the search (the tiles run, as when the whole photo shows nothing); a sure one does."""
    from smart_beauty_engine import faces as faces_mod

    finder = engine._faces()
    calls = []
    real = finder._detect_square
    monkeypatch.setattr(finder, "_detect_square", lambda *a: calls.append(a[-1]) or real(*a))
    assert len(finder.detect(portrait, every_face=False)) == 1 and len(calls) == 1   # sure: whole photo only
    calls.clear()
    monkeypatch.setattr(faces_mod, "SURE_SCORE", 1.01)
    monkeypatch.setattr(finder, "confirmed", lambda rgb, det: False)
    assert finder.detect(portrait, every_face=False) == [] and len(calls) > 1


def test_the_finer_level_runs_only_near_the_floor():
    """``finer_side``: no extra level when the smallest face found is well above the finest tiles'
    floor, or when none was found; near it, a level that reaches FINER_REACH of that face, never under half of
    the smallest face looked for and never as coarse as the level before."""
    from smart_beauty_engine.faces import FINER_REACH, MIN_FACE, NEAR_FLOOR, SEES_FROM, Detection, finer_side

    def det(width):
        return Detection(box=(100.0, 100.0, 100.0 + width, 100.0 + width), score=0.9,
                         keypoints=np.zeros((6, 2), np.float32))

    side, short = 735, 2022
    floor = SEES_FROM * side
    assert finer_side([], side, short) is None
    assert finer_side([det(200), det(NEAR_FLOOR * floor + 1)], side, short) is None
    near = finer_side([det(200), det(floor)], side, short)
    assert near is not None and near < side
    assert abs(near * SEES_FROM - FINER_REACH * floor) <= 1
    tiny = finer_side([det(10)], side, short)   # noise far below: not smaller than half of MIN_FACE
    assert tiny is not None and tiny * SEES_FROM >= 0.5 * MIN_FACE * short - 1
    assert finer_side([det(12)], 100, short) is None   # near its floor, but would not be finer than that level


def test_a_real_group_photo(engine):
    """samples/family.jpg (the Obama family, 2011, public domain): four real people sitting close, heads
    tilted and touching, faces 57-69 px (13-16 % of the 427 px short side). Every face is found once,
    each mesh lies on its own face (boxes drawn by hand, look.FAMILY_FACES), and with multi_face the
    retouch changes every face."""
    import look

    img = look.load_rgb(os.path.join(look.SAMPLES, look.FAMILY + ".jpg"))
    faces = engine.find_faces(img, every_face=True)
    assert len(faces) == len(look.FAMILY_FACES), [f.box for f in faces]
    short = min(img.shape[:2])
    out = engine(img, 0.8, multi_face=True)
    for name, (x0, y0, x1, y1) in look.FAMILY_FACES.items():
        assert (x1 - x0) >= 0.04 * short
        centres = [f.landmarks.mean(axis=0) for f in faces]
        mine = [f for f, c in zip(faces, centres) if x0 <= c[0] <= x1 and y0 <= c[1] <= y1]
        assert len(mine) == 1, (name, [f.box for f in faces])
        lo, hi = mine[0].landmarks.min(axis=0), mine[0].landmarks.max(axis=0)
        tol = 0.05 * (x1 - x0)
        assert x0 - tol <= lo[0] and hi[0] <= x1 + tol and y0 - tol <= lo[1] and hi[1] <= y1 + tol, (
            name, lo, hi)
        # the mesh spans its face (not a small patch of it, not two faces)
        assert 0.7 * (x1 - x0) <= hi[0] - lo[0] <= 1.05 * (x1 - x0), (name, lo, hi)
        # the retouch reached this face: its cheeks changed
        cheeks = look.cheek_region(img.shape, mine[0])
        assert np.abs(out[cheeks].astype(int) - img[cheeks]).mean() > 1.0, name


@pytest.mark.parametrize("height", [300, 200])
def test_a_row_of_every_real_portrait_gives_each_face_one_mesh(engine, height):
    """The fifteen real one-face photos side by side (synthetic: each scaled to ``height`` px high,
    biden-2021 first to 30 %), a wide group of men and women, older and young, dark, brown, East and South
    Asian, Native American and white faces, one in black and white: with every face asked for, each is
    found once, its mesh centred in the box found on its own photo and of that box's size; nothing else."""
    import cv2
    import look

    tiles, boxes, x = [], [], 0
    for name in look.REAL_PHOTOS:
        img = look.load_rgb(os.path.join(look.SAMPLES, name + ".jpg"))
        if name == "biden-2021":
            img = cv2.resize(img, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
        x0, y0, x1, y1 = engine.find_faces(img)[0].box
        s = height / float(img.shape[0])
        width = int(round(img.shape[1] * s))
        tiles.append(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA))
        boxes.append((name, (x + x0 * s, y0 * s, x + x1 * s, y1 * s)))
        x += width
    row = np.ascontiguousarray(np.concatenate(tiles, axis=1))
    faces = engine.find_faces(row, every_face=True)
    assert len(faces) == len(boxes), (len(faces), [f.box for f in faces])
    for name, box in boxes:
        mine = look.face_in(faces, box)
        assert len(mine) == 1, (name, box, [f.box for f in faces])
        span = mine[0].landmarks[:, 0].max() - mine[0].landmarks[:, 0].min()
        assert 0.75 <= span / (box[2] - box[0]) <= 1.15, (name, span, box)   # 0.87-1.02 (2026-12-02)


def test_a_face_looking_down_beside_a_hand(engine, phone):
    """samples/phone.jpg (White House, public domain): a man on the phone, head bowed, eyes lowered, a hand
    and the receiver against one cheek. One face is found (not the hand), its mesh lies on the face (box
    drawn by hand, look.PHONE_FACE) and spans it, and the retouch changes it."""
    import look

    faces = engine.find_faces(phone, every_face=True)
    assert len(faces) == 1, [f.box for f in faces]
    x0, y0, x1, y1 = look.PHONE_FACE
    lo, hi = faces[0].landmarks.min(axis=0), faces[0].landmarks.max(axis=0)
    tol = 0.05 * (x1 - x0)
    assert x0 - tol <= lo[0] and hi[0] <= x1 + tol and y0 - tol <= lo[1] and hi[1] <= y1 + tol, (lo, hi)
    assert 0.7 * (x1 - x0) <= hi[0] - lo[0] <= 1.05 * (x1 - x0), (lo, hi)
    # the mouth lies in the lower third of the drawn box (a mesh slid up the bowed face would not)
    mouth_y = faces[0].landmarks[[13, 14], 1].mean()
    assert y0 + 0.6 * (y1 - y0) <= mouth_y <= y1, mouth_y
    out = engine(phone, 0.8, multi_face=True)
    cheeks = look.cheek_region(phone.shape, faces[0])
    assert np.abs(out[cheeks].astype(int) - phone[cheeks]).mean() > 1.0


CLAPPER_MISSED = ("not found: about half of this face shows (~40 px of a ~55 px face, 6 % of the short side), "
                  "the frame cuts it at the right eye and a dark shoulder covers its lower right; the "
                  "detector gives no box there at MIN_SCORE 0.5, nor any box centred within 20 px of it with the "
                  "score threshold lowered to 0.02 (2026-12-01). The second opinion's look (YuNet) proposes it (0.77, "
                  "confirmed), but John Brennan's detection is centred inside that box and its mesh (x 897-952) would "
                  "cover his cheek (877-930): it is taken for his face (2026-12-02)")


def _crowd_cases():
    import look

    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=CLAPPER_MISSED))
            if name in look.CROWD_MISSED else name for name in look.CROWD_FACES]


@pytest.fixture(scope="module")
def crowd_found(engine, crowd):
    """(faces found on samples/crowd.jpg, its output at 0.8 with multi_face)."""
    return engine.find_faces(crowd, every_face=True), engine(crowd, 0.8, multi_face=True)


@pytest.mark.parametrize("name", _crowd_cases())
def test_every_face_of_a_real_crowd(crowd, crowd_found, name):
    """samples/crowd.jpg (the White House Situation Room, 1 May 2011, public domain): 13 people seated
    and standing in rows, faces 35-112 px (5.5-17 % of the 640 px short side), turned, looking down,
    a hand over a mouth, glasses, older faces. Each is found once, its mesh lies on its own face (boxes
    drawn by hand, look.CROWD_FACES) and spans it, and with multi_face the retouch changes it."""
    import look

    faces, out = crowd_found
    x0, y0, x1, y1 = look.CROWD_FACES[name]
    assert (x1 - x0) >= 0.04 * min(crowd.shape[:2])
    mine = look.face_in(faces, (x0, y0, x1, y1))
    assert len(mine) == 1, (name, [f.box for f in faces])
    lo, hi = mine[0].landmarks.min(axis=0), mine[0].landmarks.max(axis=0)
    tol = 0.05 * (x1 - x0)
    assert x0 - tol <= lo[0] and hi[0] <= x1 + tol and y0 - tol <= lo[1] and hi[1] <= y1 + tol, (name, lo, hi)
    assert 0.7 * (x1 - x0) <= hi[0] - lo[0] <= 1.05 * (x1 - x0), (name, lo, hi)
    cheeks = look.cheek_region(crowd.shape, mine[0])
    assert np.abs(out[cheeks].astype(int) - crowd[cheeks]).mean() > 1.0, name


def test_no_face_found_in_the_crowd_where_there_is_none(crowd_found):
    """Every face found on samples/crowd.jpg is one of the people (not the back of the head in the
    foreground, the pixelated document on the table or the seal on the wall)."""
    import look

    faces, _out = crowd_found
    assert len(faces) >= 12
    for f in faces:
        assert sum(bool(look.face_in([f], box)) for box in look.CROWD_FACES.values()) == 1, f.box

"""The look of the offline engine at level 0.8 on real photos (issue 12, section 2), in numbers.

Photos (samples/README.md has their sources and licences): ``portrait`` (Eileen Collins),
``hopper`` (Grace Hopper, glasses, older), ``obama`` (darker skin, neck showing), ``biden`` (older
man, head tilted a little down), ``garfield`` (a black-and-white photograph of an older man with a full
beard, head turned), ``gallego`` (a colour official portrait of a younger man with a short dark beard),
``curson`` (a colour official portrait of an older man with a full white beard and moustache),
``murphy``, ``haaland``, ``underwood``, ``lieu``, ``jayapal`` (colour official portraits: a younger East
Asian woman, an older Native American woman with fine lines, a younger Black woman with glasses, an East
Asian man, a South Asian woman whose face is ~100 px; lipstick, earrings and long hair beside the jaw),
``mceachin`` (an older man with darker skin, glasses, a moustache and an open smile, chin on his collar so
no neck shows), ``biden-2021`` (an official portrait cropped at full resolution: real skin texture on a
~730 px face), ``family`` (a real group photo: four people, dark skin, two women, a teenager and a
child, heads tilted and touching, faces 57-69 px), ``phone`` (a man on the phone looking down: head bowed
and rolled, eyes lowered, chin on the collar so no neck shows, a hand and the receiver against one
cheek), ``crowd`` (a real crowd: the White House Situation Room, 13 faces 35-112 px in rows, older faces,
glasses, a face looking down, a hand over a mouth). Synthetic variants, named as such:
``portrait-dark`` (the whole portrait darkened), ``obama-grey`` / ``biden-grey`` (desaturated: a
black-and-white photo of a man), ``obama-sepia`` (sepia-toned), ``portrait`` rotated 25 degrees, and each
real photo scaled so its face is 30 / 40 / 50 px wide.
Regions come from the landmarks (``look.py``).

Bounds pinned here (issue 12):
* whitening: |dL* cheeks - dL* neck| <= 3, and the cheeks do get >= 1.5 L* brighter (also on tight
  crops whose face box is 62 % of the frame; on the bearded man the region below the chin is beard;
  on the face looking down, whose chin hides the neck, the ear takes the neck's place);
  on the bearded man and the group photo, whose lifts are only ~3 L*, the neck (beard) also gets at
  least half of the cheeks' lift;
* lips: mean chroma gain in the mouth between 0.3 and 4 C* on colour photos, <= 0.3 on grey or sepia;
* warp: it moves >= 500 pixels, and <= 5 % of the pixels it changes lie outside the detector's
  face box grown by 15 % each side; the nose and the mouth do not move (< 0.05 px);
* texture: the finest detail (L* - its Gaussian blur, sigma 1 px) keeps >= 35 % of its variance on
  the cheeks; on 30 / 40 / 50 px faces >= 50 % (no soft focus); blemish-scale detail (band 0.8-3 % of the
  face width) still drops by >= 25 % on faces >= 90 px (it does smooth);
* background beside the jaw (20-40 % of the face width out): mean |dL*| < 0.5;
* seams: the colour change is < 0.5 L* within 3 px of the ROI border (its sides inside the photo),
  and the whitening (low-passed, sigma 2 px) never changes faster than 25 % of its own full strength
  per pixel (no mask edge).
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import look  # noqa: E402

LEVEL = 0.8
COLOUR = ("portrait", "hopper", "obama", "biden", "gallego", "biden-2021", "curson", "murphy", "haaland", "underwood",
          "lieu", "jayapal")
#: the face looking down (colour; no neck shows, so it is not in COLOUR's neck tests)
DOWN = "phone"
#: colour faces whose neck does not show (the chin on the collar): the visible ear stands in for it
NO_NECK = (DOWN, "mceachin")
REAL = COLOUR + ("garfield",) + NO_NECK
NECK_CASES = COLOUR + ("portrait-dark", "obama-grey", "biden-grey")


@pytest.fixture(scope="module")
def photos():
    return look.photos()


@pytest.fixture(scope="module")
def results(engine, photos):
    """name -> (input, output at LEVEL, largest face)."""
    out = {}
    for name, (img, _what) in photos.items():
        face = engine.find_faces(img)[0]
        out[name] = (img, engine(img, LEVEL, False), face)
    return out


@pytest.mark.parametrize("name", NECK_CASES)
def test_whitening_is_continuous_with_the_neck(results, name):
    img, out, face = results[name]
    d_cheek, d_neck, neck_px = look.whitening_gap(img, out, face)
    assert neck_px >= 200, "no neck skin measured on %s (%d px)" % (name, neck_px)
    assert d_cheek >= 1.5, (name, d_cheek)
    assert abs(d_cheek - d_neck) <= 3.0, (name, d_cheek, d_neck)


def test_whitening_is_continuous_with_the_beard(results):
    """The bearded man (a real black-and-white photograph): below the chin is beard, not neck skin; the
    face must not be lifted apart from it either."""
    img, out, face = results["garfield"]
    d_cheek, d_beard, beard_px = look.whitening_gap(img, out, face)
    assert beard_px >= 200, beard_px
    assert d_cheek >= 1.5 and abs(d_cheek - d_beard) <= 3.0, (d_cheek, d_beard)
    # with a lift of ~2.5 L* the gap bound alone would pass a face lifted on its own: the region below
    # the chin must get at least half of the cheeks' lift
    assert d_beard >= 0.5 * d_cheek, (d_cheek, d_beard)


@pytest.mark.parametrize("name", NO_NECK)
def test_whitening_is_continuous_with_the_ear_when_no_neck_shows(results, name):
    """The face looking down (samples/phone.jpg) and the older man whose chin sits on his collar
    (samples/mceachin.jpg): there is no neck to compare with; the visible ear (beside mesh point 234)
    must follow the cheeks instead."""
    img, out, face = results[name]
    _c, _n, neck_px = look.whitening_gap(img, out, face)
    assert neck_px < 50, neck_px  # the premise: no neck skin shows below the chin
    ear = look.ear_region(img, face, 234)
    assert ear.sum() >= 200, int(ear.sum())
    d = look.lab(out)[..., 0] - look.lab(img)[..., 0]
    d_cheek = float(d[look.cheek_region(img.shape, face)].mean())
    d_ear = float(d[ear].mean())
    assert d_cheek >= 1.5 and abs(d_cheek - d_ear) <= 3.0, (name, d_cheek, d_ear)
    # lifts here are ~3.5-4 L*: the ear must also get at least half of the cheeks' lift (no pasted-on face)
    assert d_ear >= 0.5 * d_cheek, (name, d_cheek, d_ear)


@pytest.mark.parametrize("name", COLOUR)
def test_whitening_is_continuous_in_a_tight_portrait(engine, photos, name):
    """Face box 62 % of the frame (synthetic crop): the ROI is the frame, the neck reaches its edge."""
    img = photos[name][0]
    tight = look.tight_crop(img, engine.find_faces(img)[0])
    face = engine.find_faces(tight)[0]
    out = engine(tight, LEVEL, False)
    d_cheek, d_neck, neck_px = look.whitening_gap(tight, out, face)
    assert neck_px >= 200, (name, neck_px)
    assert d_cheek >= 1.5 and abs(d_cheek - d_neck) <= 3.0, (name, d_cheek, d_neck)


@pytest.mark.parametrize("name", COLOUR + ("portrait-dark",) + NO_NECK)
def test_lips_gain_a_little_of_their_own_colour(results, name):
    img, out, face = results[name]
    c_before, gain = look.lip_chroma_gain(img, out, face)
    assert 0.3 <= gain <= 4.0, (name, c_before, gain)


@pytest.mark.parametrize("name", ["garfield", "obama-grey", "biden-grey"])
def test_no_lipstick_on_a_grey_photo(results, name):
    img, out, face = results[name]
    c_before, gain = look.lip_chroma_gain(img, out, face)
    assert c_before < 0.5
    assert gain <= 0.3, (name, gain)


@pytest.mark.parametrize("name", ["gallego", "curson", "garfield"])
def test_the_lip_tint_stays_off_the_beard(results, name):
    """The bearded men (a short and a full beard in colour, a full one in black and white): the beard
    between the lower lip and the chin gains no chroma (no lipstick bleeding into it; the whitening may
    take a little of its yellow away), and it is lifted with the face like the neck is."""
    img, out, face = results[name]
    lm, fw = face.landmarks, face.width
    y0, y1 = int(lm[17, 1] + 0.04 * fw), int(lm[152, 1] - 0.04 * fw)   # below the lower lip, above the chin
    x0, x1 = int(lm[61, 0]), int(lm[291, 0])                            # between the mouth corners
    assert (y1 - y0) * (x1 - x0) >= 500, (name, y0, y1, x0, x1)
    d_chroma = float((look.chroma(out)[y0:y1, x0:x1] - look.chroma(img)[y0:y1, x0:x1]).mean())
    d_light = float((look.lab(out)[y0:y1, x0:x1, 0] - look.lab(img)[y0:y1, x0:x1, 0]).mean())
    assert d_chroma <= 0.3, (name, d_chroma)
    assert d_light >= 1.0, (name, d_light)


def test_no_lipstick_on_a_sepia_photo(results):
    img, out, face = results["obama-sepia"]
    c_before, gain = look.lip_chroma_gain(img, out, face)
    assert c_before > 5  # toned: the lips do have chroma, the skin's hue
    assert gain <= 0.3, gain


@pytest.mark.parametrize("name", REAL + ("portrait-dark",))
def test_warp_moves_only_the_face(results, name):
    img, _out, face = results[name]
    warped = look.warp_only(img, face, LEVEL)
    n, outside_share = look.warp_outside_share(img, warped, face)
    assert n >= 500, (name, n)
    assert outside_share <= 0.05, (name, n, outside_share)


def _nose_mouth_moves(face, shape, level=LEVEL):
    from smart_beauty_engine.masks import face_roi
    from smart_beauty_engine.warp import displacement

    x0, y0, x1, y1 = face_roi(face, shape)
    dx, dy, s = displacement(face, (x0, y0), (y1 - y0, x1 - x0), level)
    pts = (face.landmarks[list(look.NOSE_AND_MOUTH)] - [x0, y0] + 0.5) * s - 0.5
    ix = np.clip(np.round(pts[:, 0]).astype(int), 0, dx.shape[1] - 1)
    iy = np.clip(np.round(pts[:, 1]).astype(int), 0, dx.shape[0] - 1)
    return float(np.hypot(dx[iy, ix], dy[iy, ix]).max())


@pytest.mark.parametrize("name", REAL)
def test_nose_and_mouth_stay_put(results, name):
    img, _out, face = results[name]
    assert _nose_mouth_moves(face, img.shape) < 0.05


def test_nose_and_mouth_stay_put_on_a_tilted_face(engine, photos):
    import cv2

    img = photos["portrait"][0]
    h, w = img.shape[:2]
    rot = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0), (w, h),
                         borderMode=cv2.BORDER_REFLECT)  # synthetic: a tilted head
    face = engine.find_faces(rot)[0]
    assert _nose_mouth_moves(face, rot.shape) < 0.05
    n, outside_share = look.warp_outside_share(rot, look.warp_only(rot, face, LEVEL), face)
    assert n >= 300 and outside_share <= 0.05, (n, outside_share)


#: a shortfall found with the photo (the bound wants a quarter of the band gone)
HAALAND_LINES = ("samples/haaland.jpg keeps 0.86 of its blemish band at level 0.8 (0.81 with smoothing alone, "
                 "0.78 at full smoothing): her skin's unevenness at that scale is mostly fine lines, which the "
                 "edge-keeping smoothing keeps (2026-12-02)")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=HAALAND_LINES))
                                  if n == "haaland" else n for n in REAL + ("portrait-dark",)])
def test_skin_keeps_its_texture_and_loses_blemishes(results, name):
    img, out, face = results[name]
    kept, ratio = look.skin_kept(img, out, face, LEVEL)
    assert kept >= 0.35, (name, kept)
    if face.width >= 90:
        assert ratio <= 0.75, (name, ratio)


def test_real_skin_at_full_resolution_keeps_its_pores(results):
    """The one real high-resolution face (samples/biden-2021.jpg: an official portrait cropped at full
    resolution, face ~730 px): viewed at 100 %, the finest detail (pores, fine lines) is all but untouched
    while the blemish-scale unevenness is smoothed."""
    img, out, face = results["biden-2021"]
    assert face.width >= 600, face.width
    kept, smoothed = look.skin_kept(img, out, face, LEVEL)
    assert kept >= 0.8 and smoothed <= 0.6, (kept, smoothed)


@pytest.mark.parametrize("width", [30, 40, 50])
@pytest.mark.parametrize("name", REAL)
def test_small_faces_are_not_soft_focus(engine, photos, name, width):
    img = photos[name][0]
    small = look.downscaled_to_face(img, engine.find_faces(img)[0], width)  # synthetic downscale
    face = engine.find_faces(small)[0]
    assert abs(face.width - width) < 0.2 * width
    out = engine(small, LEVEL, False)
    cheeks = look.cheek_region(small.shape, face)
    kept = look.fine_detail_var(out, cheeks) / look.fine_detail_var(small, cheeks)
    assert kept >= 0.5, (name, width, kept)
    assert np.abs(out.astype(int) - small).sum() > 0


@pytest.mark.parametrize("name", REAL + ("portrait-dark",))
def test_no_seams_in_the_colour_change(results, name):
    import cv2

    from smart_beauty_engine import masks, retouch

    img, _out, face = results[name]
    x0, y0, x1, y1 = masks.face_roi(face, img.shape)
    crop = np.ascontiguousarray(img[y0:y1, x0:x1])
    work = masks.build(crop, face, (x0, y0), img.shape)
    change = retouch.smoothing_change(work, face.width, LEVEL)
    change += retouch.whitening_change(work, work.small + change, LEVEL)
    colour = retouch.apply_change(crop, change)
    d = look.lab(colour)[..., 0] - look.lab(crop)[..., 0]
    # the ROI's sides inside the photo (where it is the photo's edge, nothing lies beyond)
    h, w = img.shape[:2]
    rim = np.zeros(d.shape, bool)
    if x0 > 0:
        rim[:, :3] = True
    if y0 > 0:
        rim[:3, :] = True
    if x1 < w:
        rim[:, -3:] = True
    if y1 < h:
        rim[-3:, :] = True
    assert np.abs(d[rim]).max() < 0.5, (name, np.abs(d[rim]).max())
    # the whitening alone (the low-frequency change a seam or a mask edge would show in)
    white = retouch.apply_change(crop, retouch.whitening_change(work, work.small, LEVEL))
    low = cv2.GaussianBlur(look.lab(white)[..., 0] - look.lab(crop)[..., 0], (0, 0), 2.0)
    gy, gx = np.gradient(low)
    step = float(np.hypot(gx, gy).max()) / max(1e-6, float(np.percentile(np.abs(low), 99)))
    assert step <= 0.25, (name, step)


@pytest.mark.parametrize("name", ["obama", "biden"])
def test_change_grows_with_the_level(engine, photos, name):
    from smart_beauty_engine.masks import face_roi

    img = photos[name][0]
    face = engine.find_faces(img)[0]
    x0, y0, x1, y1 = face_roi(face, img.shape)
    roi = img[y0:y1, x0:x1].astype(np.int16)
    levels = [0.0, 0.1, 0.3, 0.5, 0.8, 1.0]
    changes = [float(np.abs(engine(img, lv, False)[y0:y1, x0:x1] - roi).mean()) for lv in levels]
    assert changes[0] == 0.0
    assert all(a < b for a, b in zip(changes, changes[1:])), changes


def test_every_face_of_the_group_keeps_the_bounds(engine):
    """The 4-face collage (real portraits at 50-100 %), multi_face at 0.8: lips and warp bounds per face."""
    img = look.load_rgb(os.path.join(look.SAMPLES, "group.jpg"))
    faces = engine.find_faces(img)
    assert len(faces) == 4
    out = engine(img, LEVEL, True)
    for face in faces:
        _c, gain = look.lip_chroma_gain(img, out, face)
        assert 0.3 <= gain <= 4.0, (face.box, gain)
        n, outside_share = look.warp_outside_share(img, look.warp_only(img, face, LEVEL), face)
        assert n >= 200 and outside_share <= 0.05, (face.box, n, outside_share)


@pytest.mark.parametrize("name", REAL + ("portrait-dark",))
def test_background_beside_the_jaw_stays(results, name):
    """Beside each jaw angle (mesh 172 / 397), 20-40 % of the face width out: hair, collar or
    background. Its mean |dL*| stays < 0.5 (no halo, no whitening spill, nothing dragged by the warp)."""
    from smart_beauty_engine.masks import face_roi

    img, out, face = results[name]
    d = np.abs(look.lab(out)[..., 0] - look.lab(img)[..., 0])
    x0, y0, x1, y1 = face_roi(face, img.shape)
    fw = face.width
    for idx, side in ((172, -1), (397, 1)):
        x, y = face.landmarks[idx]
        lo, hi = sorted((int(x + side * 0.2 * fw), int(x + side * 0.4 * fw)))
        box = d[max(y0, int(y - 0.1 * fw)):min(y1, int(y + 0.1 * fw)), max(x0, lo):min(x1, hi)]
        assert box.size >= 200, (name, idx, box.size)
        assert box.mean() < 0.5, (name, idx, float(box.mean()))


@pytest.fixture(scope="module")
def family(engine):
    """The real group photo, retouched with multi_face at LEVEL: (input, output, faces left to right)."""
    img = look.load_rgb(os.path.join(look.SAMPLES, look.FAMILY + ".jpg"))
    faces = sorted(engine.find_faces(img, every_face=True), key=lambda f: f.box[0])
    assert len(faces) == len(look.FAMILY_FACES)
    return img, engine(img, LEVEL, True), faces


@pytest.mark.parametrize("index", range(len(look.FAMILY_FACES)))
def test_every_face_of_the_real_group_photo_keeps_the_bounds(family, index):
    """samples/family.jpg, each face (57-69 px; dark skin; a man, two women, a child): whitening as
    continuous with the neck as on a portrait, lips <= 4 C*, the warp inside the grown face box and off
    nose and mouth, fine texture kept as on small faces (>= 50 %)."""
    img, out, faces = family
    face = faces[index]
    d_cheek, d_neck, neck_px = look.whitening_gap(img, out, face)
    assert d_cheek >= 1.5, (index, d_cheek)
    # the necks are 60-210 px of skin at this size (chins on shoulders, a collar): measured where >= 50
    if neck_px >= 50:
        assert abs(d_cheek - d_neck) <= 3.0, (index, d_cheek, d_neck, neck_px)
        # lifts here are ~3 L*, so the gap bound alone would pass a face whitened without its neck
        assert d_neck >= 0.5 * d_cheek, (index, d_cheek, d_neck, neck_px)
    _c, gain = look.lip_chroma_gain(img, out, face)
    assert 0.3 <= gain <= 4.0, (index, gain)
    _small_face_warp_and_texture_hold(img, out, face, index)


def _small_face_warp_and_texture_hold(img, out, face, label):
    """The warp stays inside the face's grown box and off nose and mouth, and a small face keeps at
    least half of its fine cheek texture (the group photo's and the crowd's faces)."""
    n, outside_share = look.warp_outside_share(img, look.warp_only(img, face, LEVEL), face)
    assert n >= 200 and outside_share <= 0.05, (label, n, outside_share)
    assert _nose_mouth_moves(face, img.shape) < 0.05, label
    cheeks = look.cheek_region(img.shape, face)
    kept = look.fine_detail_var(out, cheeks) / look.fine_detail_var(img, cheeks)
    assert kept >= 0.5, (label, kept)


def test_the_real_group_photo_has_necks_to_measure(family):
    """At least three of the four family faces show enough neck skin for the whitening-gap bound above."""
    img, _out, faces = family
    assert sum(look.neck_region(img, f).sum() >= 50 for f in faces) >= 3


@pytest.fixture(scope="module")
def crowd(engine):
    """The real crowd (samples/crowd.jpg), retouched with multi_face at LEVEL: (input, output, faces)."""
    img = look.load_rgb(os.path.join(look.SAMPLES, look.CROWD + ".jpg"))
    return img, engine(img, LEVEL, True), engine.find_faces(img, every_face=True)


@pytest.mark.parametrize("name", [n for n in look.CROWD_FACES if n not in look.CROWD_MISSED])
def test_every_face_of_the_real_crowd_keeps_the_bounds(crowd, name):
    """samples/crowd.jpg, each face the engine finds (35-112 px; older faces, glasses, one looking
    down, one with a hand over the mouth, turned heads): whitening continuous with the neck where >= 50
    px of it shows, lips <= 4 C* (on the whole lip polygon where the eroded ring is under 20 px: closed
    lips of a 35-50 px face), the warp inside the grown face box and off nose and mouth, fine texture
    kept as on small faces (>= 50 %)."""
    img, out, faces = crowd
    (face,) = look.face_in(faces, look.CROWD_FACES[name])
    d_cheek, d_neck, neck_px = look.whitening_gap(img, out, face)
    assert d_cheek >= 1.5, (name, d_cheek)
    if neck_px >= 50:
        assert abs(d_cheek - d_neck) <= 3.0, (name, d_cheek, d_neck, neck_px)
        assert d_neck >= 0.5 * d_cheek, (name, d_cheek, d_neck, neck_px)
    mouth_px, _c, gain = look.lips_measured(img, out, face)
    assert mouth_px >= 20, (name, mouth_px)
    assert 0.3 <= gain <= 4.0, (name, mouth_px, gain)
    _small_face_warp_and_texture_hold(img, out, face, name)


def test_the_real_crowd_has_necks_to_measure(crowd):
    """At least four of the crowd's faces show >= 50 px of neck skin for the whitening-gap bound above."""
    img, _out, faces = crowd
    assert sum(look.neck_region(img, f).sum() >= 50 for f in faces) >= 4


def test_lips_stay_under_the_bound_at_full_strength(engine, photos, family, crowd):
    """Level 1 (the strongest a user can pick): the mean chroma gain of the mouth stays <= 4 C* too, on
    the colour portraits, on every face of the group photo (whose smiling lips are the most saturated)
    and on every face of the crowd."""
    for name in COLOUR + NO_NECK:
        img = photos[name][0]
        face = engine.find_faces(img)[0]
        _c, gain = look.lip_chroma_gain(img, engine(img, 1.0, False), face)
        assert 0.3 <= gain <= 4.0, (name, gain)
    img, _out, faces = family
    out = engine(img, 1.0, True)
    for face in faces:
        _c, gain = look.lip_chroma_gain(img, out, face)
        assert 0.3 <= gain <= 4.0, (face.box, gain)
    img, _out, faces = crowd
    out = engine(img, 1.0, True)
    for face in faces:
        _n, _c, gain = look.lips_measured(img, out, face)
        assert gain <= 4.0, (face.box, gain)

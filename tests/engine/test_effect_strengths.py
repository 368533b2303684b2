"""The engine's effects one by one (smart_beauty.effects.Effects): each strength drives its own effect only."""

import numpy as np
import pytest

from smart_beauty.effects import Effects
from smart_beauty_engine import landmarks as lm

NONE = Effects(0, 0, 0, 0, 0)


@pytest.fixture(scope="module")
def face(engine, portrait):
    return engine.find_faces(portrait)[0]


def changed(before, after, at_least=1):
    return np.abs(after.astype(int) - before.astype(int)).max(axis=2) >= at_least


def run(engine, rgb, **strengths):
    return engine(rgb, 1.0, effects=NONE.replace(**strengths))


def eye_distance(face, shape):
    """Distance of every pixel to the nearer eye centre, in eye widths."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    out = np.full(shape[:2], np.inf)
    for contour, (a, b) in ((lm.RIGHT_EYE, (33, 133)), (lm.LEFT_EYE, (263, 362))):
        c = face.landmarks[list(contour)].mean(axis=0)
        width = np.hypot(*(face.landmarks[a] - face.landmarks[b]))
        out = np.minimum(out, np.hypot(xs - c[0], ys - c[1]) / width)
    return out


def test_all_strengths_zero_is_the_identity(engine, portrait):
    assert np.array_equal(engine(portrait, 0.8, effects=NONE), portrait)


def test_a_level_means_every_effect_at_that_level(engine, portrait):
    assert np.array_equal(engine(portrait, 0.7), engine(portrait, 0.3, effects=Effects.from_level(0.7)))


def test_eyes_alone_move_only_around_the_eyes(engine, portrait, face):
    out = run(engine, portrait, eyes=1.0)
    moved = changed(portrait, out, 3)
    assert moved.sum() > 100
    assert eye_distance(face, portrait.shape)[moved].max() <= 1.2


def test_slimming_alone_moves_the_jaw_and_not_the_eyes(engine, portrait, face):
    out = run(engine, portrait, slim=1.0)
    moved = changed(portrait, out, 3)
    assert moved.sum() > 100
    assert eye_distance(face, portrait.shape)[moved].min() > 1.0
    eye_y = face.landmarks[list(lm.RIGHT_EYE + lm.LEFT_EYE)][:, 1].mean()
    assert np.nonzero(moved)[0].min() > eye_y          # all of it below the eyes


def test_no_reshaping_is_exactly_the_full_retouch_without_its_warp(engine, portrait):
    """slim = eyes = 0 leaves out the warp and nothing else: warping that result gives the full one."""
    from smart_beauty_engine.masks import face_roi
    from smart_beauty_engine.warp import warp_face

    full = engine(portrait, 1.0)
    colours = engine(portrait, 1.0, effects=Effects.from_level(1.0).replace(slim=0, eyes=0))
    assert not np.array_equal(colours, portrait) and not np.array_equal(colours, full)
    face = engine.find_faces(portrait, every_face=False)[0]     # the one a single-face retouch uses
    x0, y0, x1, y1 = face_roi(face, portrait.shape)
    rewarped = colours.copy()
    roi = np.ascontiguousarray(colours[y0:y1, x0:x1])
    warp_face(roi, face, (x0, y0), 1.0, 1.0, out=rewarped[y0:y1, x0:x1])
    assert np.array_equal(rewarped, full)


def test_tone_brightens_smoothing_does_not(engine, portrait):
    toned = run(engine, portrait, tone=1.0).astype(float)
    smoothed = run(engine, portrait, smooth=1.0).astype(float)
    base = portrait.astype(float)
    tone_changed = changed(portrait, toned.astype(np.uint8))
    smooth_changed = changed(portrait, smoothed.astype(np.uint8))
    assert (toned - base).mean(axis=2)[tone_changed].mean() > 3.0          # +6.8 levels on the portrait
    assert abs((smoothed - base).mean(axis=2)[smooth_changed].mean()) < 2.0  # -1.1: highlights evened out


def test_texture_keeps_more_of_the_finest_detail(engine, portrait):
    import cv2

    def fine_energy(img):
        grey = img.astype(np.float32).mean(axis=2)
        return np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))

    smooth_changed = changed(portrait, run(engine, portrait, smooth=1.0, texture=0.0))
    kept = fine_energy(run(engine, portrait, smooth=1.0, texture=1.0))[smooth_changed].mean()
    lost = fine_energy(run(engine, portrait, smooth=1.0, texture=0.0))[smooth_changed].mean()
    assert kept > lost * 1.1


def test_lips_alone_touch_only_the_mouth(engine, portrait, face):
    out = run(engine, portrait, lips=1.0)
    touched = changed(portrait, out)
    assert touched.any()
    mouth = face.landmarks[list(lm.LIPS_OUTER)]
    ys, xs = np.nonzero(touched)
    pad = 0.15 * face.width
    assert xs.min() >= mouth[:, 0].min() - pad and xs.max() <= mouth[:, 0].max() + pad
    assert ys.min() >= mouth[:, 1].min() - pad and ys.max() <= mouth[:, 1].max() + pad

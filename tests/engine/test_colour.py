"""The engine's own sRGB <-> L*a*b* (``smart_beauty_engine.colour``), checked against OpenCV's, which
it replaces in the engine so that no process starting the engine pays OpenCV's Lab tables (~0.2 s of
CPU on their first use)."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
colour = pytest.importorskip("smart_beauty_engine.colour")


def srgb_grid(n=17):
    """Every combination of ``n`` levels per channel, dark corners included, as float (n**3, 1, 3)."""
    v = np.linspace(0.0, 1.0, n, dtype=np.float32)
    return np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(-1, 1, 3)


def test_reference_colours():
    """White, black, grey and the sRGB primaries have their textbook D65 L*a*b* values."""
    expected = {
        (1.0, 1.0, 1.0): (100.0, 0.0, 0.0),
        (0.0, 0.0, 0.0): (0.0, 0.0, 0.0),
        (0.5, 0.5, 0.5): (53.39, 0.0, 0.0),
        (1.0, 0.0, 0.0): (53.24, 80.09, 67.20),
        (0.0, 1.0, 0.0): (87.73, -86.18, 83.18),
        (0.0, 0.0, 1.0): (32.30, 79.19, -107.86),
    }
    rgb = np.array(list(expected), np.float32)[:, None, :]
    got = colour.rgb_to_lab(rgb)[:, 0]
    np.testing.assert_allclose(got, np.array(list(expected.values())), atol=0.05)


def test_agrees_with_opencv_within_its_own_table_error():
    """On every colour of a 17-level grid, within the error of OpenCV's interpolation tables."""
    rgb = srgb_grid()
    ours, theirs = colour.rgb_to_lab(rgb), cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    assert np.abs(ours - theirs).max() < 0.6
    assert np.abs(ours - theirs).mean() < 0.05
    lab = theirs.copy()
    lab[..., 0] = np.clip(lab[..., 0] + 5.0, 0, 100)        # lifted, as whitening does: some leave the gamut
    lab[..., 1:] *= 1.3                                       # more chroma, as the lips get
    back, cv_back = colour.lab_to_rgb(lab), cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    assert np.abs(back - cv_back).max() < 0.5 / 255               # clipped to the gamut alike
    assert back.min() >= 0.0 and back.max() <= 1.0


def test_values_outside_the_range_are_clipped_like_opencv(recwarn):
    """A smoothed working copy can overshoot [0, 1] a little: clipped first, as OpenCV does, with no
    numpy warning (a negative value must not reach the power)."""
    rgb = np.array([[[1.2, 0.5, 0.5], [-0.1, 0.5, 0.5], [0.3, -0.3, 1.4]]], np.float32)
    clipped = np.clip(rgb, 0, 1)
    np.testing.assert_array_equal(colour.rgb_to_lab(rgb), colour.rgb_to_lab(clipped))
    assert np.abs(colour.rgb_to_lab(rgb) - cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)).max() < 0.6
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_round_trip_is_exact():
    """Lab and back returns every in-gamut colour to within 0.01 of a level of 255 (OpenCV's tables: ~1 level)."""
    rgb = srgb_grid(33)
    assert np.abs(colour.lab_to_rgb(colour.rgb_to_lab(rgb)) - rgb).max() * 255 < 0.01


def test_any_shape_of_pixels():
    """The engine converts images (H, W, 3) and lists of pixels (1, N, 3); the dtype is float32."""
    rng = np.random.default_rng(7)
    image = rng.random((5, 7, 3), dtype=np.float32)
    as_list = image.reshape(1, -1, 3)
    lab = colour.rgb_to_lab(image)
    assert lab.shape == image.shape and lab.dtype == np.float32
    np.testing.assert_array_equal(colour.rgb_to_lab(as_list).reshape(image.shape), lab)
    assert colour.lab_to_rgb(lab).shape == image.shape


def test_the_engine_never_asks_opencv_for_lab(engine, portrait, monkeypatch):
    """A whole retouch (whitening and lips included) converts colours with ``colour`` only."""
    codes = []
    convert = cv2.cvtColor

    def recording(src, code, *args, **kwargs):
        codes.append(code)
        return convert(src, code, *args, **kwargs)

    monkeypatch.setattr(cv2, "cvtColor", recording)
    out = engine(portrait, 0.8)
    lab_codes = {value for name, value in vars(cv2).items() if name.startswith("COLOR_") and "Lab" in name}
    assert codes, "the retouch made no colour conversion at all: the recording did not see the engine"
    assert not lab_codes & set(codes)
    assert not np.array_equal(out, portrait)

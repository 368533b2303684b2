"""The real engine's strengths through the whole path (issue #16 part 2): ``smart-beauty retouch
--backend local --slim 0 --eyes 0`` (the engine in the command's process) gives exactly the engine's
full retouch without its warp (compare tests/engine/test_effect_strengths.py)."""

import os

import numpy as np
import pytest
from PIL import Image

from smart_beauty import settings
from smart_beauty.effects import BUILTIN, Effects
from smart_beauty_cli import cli


@pytest.fixture
def local_cli(engine, local_service, monkeypatch, tmp_path):
    """The CLI's local backend on the session's engine; no key, a private config folder."""
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    local_service(engine)
    return tmp_path


SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "samples")


def retouch(folder, *args):
    """Retouch samples/portrait.jpg (the ``portrait`` fixture's file) through the CLI; the result's pixels."""
    src = os.path.join(SAMPLES, "portrait.jpg")
    assert cli.main(["retouch", src, "--backend", "local", "-o", str(folder), "--quiet"] + list(args)) == 0
    return np.asarray(Image.open(folder / "portrait.beauty.png").convert("RGB"))


def test_no_warp_from_the_cli_is_the_full_retouch_without_its_warp(local_cli, engine, portrait):
    from smart_beauty_engine.masks import face_roi
    from smart_beauty_engine.warp import warp_face

    colours = retouch(local_cli / "a", "--slim", "0", "--eyes", "0")
    full = retouch(local_cli / "b")
    assert np.array_equal(full, engine(portrait, 1.0))
    assert np.array_equal(colours, engine(portrait, 1.0, effects=Effects.from_level(1.0).replace(slim=0, eyes=0)))
    assert not np.array_equal(colours, full) and not np.array_equal(colours, portrait)
    face = engine.find_faces(portrait, every_face=False)[0]
    x0, y0, x1, y1 = face_roi(face, portrait.shape)
    rewarped = colours.copy()
    warp_face(np.ascontiguousarray(colours[y0:y1, x0:x1]), face, (x0, y0), 1.0, 1.0, out=rewarped[y0:y1, x0:x1])
    assert np.array_equal(rewarped, full)


def test_a_preset_by_name_is_the_engines_own_result_for_it(local_cli, engine, portrait):
    out = retouch(local_cli / "c", "--preset", "natural")
    assert np.array_equal(out, engine(portrait, 1.0, effects=BUILTIN["natural"]))
    assert not np.array_equal(out, engine(portrait, 1.0))


def test_the_mask_of_a_real_retouch_covers_the_face_and_nothing_far_from_it(local_cli, engine, portrait):
    """--mask with the real engine: the result over the original through the mask is the result within a
    level; the mask is 255 on every changed pixel, inside the face's region plus the grow and feather, 0
    beyond (the engine works there only)."""
    from smart_beauty import changemask
    from smart_beauty_engine.masks import face_roi

    result = retouch(local_cli / "m", "--mask").astype(int)
    mask = np.asarray(Image.open(local_cli / "m" / "portrait.beauty-mask.png")).astype(int)
    source = portrait.astype(int)
    changed = np.abs(result - source).max(axis=-1) > changemask.CHANGED_ABOVE
    assert changed.mean() > 0.01 and (mask[changed] == 255).all()
    composite = np.round(source + (result - source) * mask[..., None] / 255.0)
    assert np.abs(composite - result).max() <= 1
    x0, y0, x1, y1 = face_roi(engine.find_faces(portrait, every_face=False)[0], portrait.shape)
    grow, feather = changemask.radii(portrait.shape[1], portrait.shape[0])
    reach = grow + 2 * feather
    far = np.ones(mask.shape, bool)
    far[max(0, y0 - reach):y1 + reach, max(0, x0 - reach):x1 + reach] = False
    assert far.mean() > 0.5 and (mask[far] == 0).all()

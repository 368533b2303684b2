"""``smart-beauty retouch --mask``: NAME-mask.png beside each result, by the rule of smart_beauty.changemask,
over real HTTP with the local AILab server as the cloud (the service returns only an image: the mask is derived
from the result). The result over the original through the mask equals the result within a level; untouched
areas are 0; the report and the `->` line name the mask; resume (the batch's ledger) accounts for it."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from smart_beauty import changemask
from smart_beauty_cli import cli

W, H = 120, 90
BOX = (40, 30, 80, 60)


def face_on_white(alpha=False):
    """White (what the SimpleEngine leaves exactly as it is) around a textured "face" in BOX."""
    rgb = np.full((H, W, 3), 255, np.uint8)
    x0, y0, x1, y1 = BOX
    rgb[y0:y1, x0:x1] = np.random.RandomState(3).randint(0, 128, size=(y1 - y0, x1 - x0, 3))
    if alpha:
        a = np.full((H, W, 1), 255, np.uint8)
        a[:, :10] = 0
        return Image.fromarray(np.concatenate([rgb, a], axis=2), "RGBA")
    return Image.fromarray(rgb, "RGB")


def run(folder, *args):
    return cli.main(["retouch", str(folder / "in"), "-o", str(folder / "out"), "--quiet"] + list(args))


@pytest.fixture
def photos(service_env):
    (service_env / "in").mkdir()
    face_on_white().save(service_env / "in" / "face.png")
    return service_env


def rgb(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


@pytest.mark.parametrize("alpha", [False, True], ids=["rgb-sent-as-is", "rgba-recomposed"])
def test_the_mask_is_where_the_result_changed_and_composites_to_the_result(service_env, alpha, capsys):
    (service_env / "in").mkdir()
    face_on_white(alpha).save(service_env / "in" / "face.png")
    assert cli.main(["retouch", str(service_env / "in"), "-o", str(service_env / "out"), "--mask",
                     "--report", str(service_env / "r.json")]) == 0
    out, mask_file = service_env / "out" / "face.beauty.png", service_env / "out" / "face.beauty-mask.png"
    assert "face.beauty.png [png 8-bit" in capsys.readouterr().out and mask_file.exists()
    mask_image = Image.open(mask_file)
    assert mask_image.mode == "L" and mask_image.size == (W, H)
    mask = np.asarray(mask_image).astype(int)
    source, result = rgb(service_env / "in" / "face.png"), rgb(out)
    changed = np.abs(result - source).max(axis=-1) > changemask.CHANGED_ABOVE
    x0, y0, x1, y1 = BOX
    assert changed[y0:y1, x0:x1].mean() > 0.9 and changed.sum() == changed[y0:y1, x0:x1].sum()
    assert (mask[changed] == 255).all()
    composite = np.round(source + (result - source) * mask[..., None] / 255.0)
    assert np.abs(composite - result).max() <= 1                    # the result, within a level
    grow, feather = changemask.radii(W, H)
    reach = grow + 2 * feather
    far = np.ones((H, W), bool)
    far[y0 - reach:y1 + reach, x0 - reach:x1 + reach] = False
    assert (mask[far] == 0).all() and 0 < mask[y0 - 2, (x0 + x1) // 2] < 255       # 0 far off, soft edge
    row = json.loads((service_env / "r.json").read_text())[0]
    assert row["mask"] == str(mask_file) and row["status"] == "done"


def test_without_mask_no_mask_file_and_the_report_says_none(photos):
    assert run(photos, "--report", str(photos / "r.csv")) == 0
    assert sorted(os.listdir(photos / "out")) == [".smart-beauty-outputs.json", "face.beauty.png"]
    assert (photos / "r.csv").read_text().splitlines()[0].endswith(",mask")


def test_resume_accounts_for_the_mask(photos, ailab):
    out, mask = photos / "out" / "face.beauty.png", photos / "out" / "face.beauty-mask.png"
    submits = lambda: ailab.stats()["counts"]["submit"]   # noqa: E731
    assert run(photos, "--mask") == 0 and mask.exists() and submits() == 1
    assert run(photos, "--mask") == 0 and submits() == 1             # both there, same recipe: skipped
    mask.unlink()
    assert run(photos, "--mask") == 0 and mask.exists() and submits() == 2    # the mask was missing: redone
    assert run(photos) == 0 and submits() == 3 and out.exists()      # another recipe: redone ...
    assert not mask.exists()                                         # ... and its stale mask removed
    assert run(photos) == 0 and submits() == 3                       # skipped
    assert run(photos, "--mask") == 0 and mask.exists() and submits() == 4
    ledger = json.loads((photos / "out" / ".smart-beauty-outputs.json").read_text())
    assert ledger["face.beauty.png"]["extras"] == ["face.beauty-mask.png"]
    assert ledger["face.beauty.png"]["recipe"]["mask"] is True


def test_a_mask_that_cannot_be_written_fails_the_image_unsent(photos, ailab):
    (photos / "out").mkdir()
    (photos / "out" / "face.beauty-mask.png").mkdir()    # a folder where the mask would go
    assert run(photos, "--mask") == 1
    assert ailab.stats()["counts"]["submit"] == 0 and not (photos / "out" / "face.beauty.png").exists()


def test_help_names_the_mask_file(capsys):
    with pytest.raises(SystemExit):
        cli.main(["retouch", "--help"])
    assert "NAME-mask.png" in capsys.readouterr().out


def test_a_16_bit_original_gets_its_mask_at_its_own_depth(service_env):
    """The change is added to the 16-bit original (imaging.write_retouched's strip path): a pixel is changed
    when a channel moved by more than one 8-bit level (257 in 16 bits)."""
    from photofiles import png16

    from smart_beauty_cli import imaging
    (service_env / "in").mkdir()
    source = np.asarray(face_on_white()).astype(np.uint16) * 257 + 100 * (np.asarray(face_on_white()) < 255)
    png16(str(service_env / "in" / "face.png"), source)
    assert run(service_env, "--mask") == 0
    result, _alpha = imaging.read_rgb16(str(service_env / "out" / "face.beauty.png"))
    mask = np.asarray(Image.open(service_env / "out" / "face.beauty-mask.png")).astype(int)
    moved = np.abs(result.astype(int) - source.astype(int)).max(axis=-1)
    changed = moved > 257
    assert changed.sum() > 0.9 * (BOX[2] - BOX[0]) * (BOX[3] - BOX[1]) and (mask[changed] == 255).all()
    assert (moved[mask < 255] <= 257).all() and mask[:5].max() == 0

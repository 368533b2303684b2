"""The ``smart-beauty`` CLI against the local AILab server over real HTTP (Python 3)."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from smart_beauty import batch, settings
from smart_beauty_cli import cli, imaging

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def simple_engine(arr, level):
    milli = int(round(level * 1000))
    wide = arr.astype(np.int32)
    return (wide + (((255 - wide) * milli + 2000) // 4000)).astype(np.uint8)


def photo(width, height, seed=1):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)),
                     ((x + y) % 256)], axis=-1).astype(np.int32)
    noise = rng.integers(-20, 21, size=base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def env(ailab, monkeypatch, tmp_path):
    monkeypatch.setenv("AILAB_API_KEY", ailab.valid_key)
    monkeypatch.setenv("AILAB_API_BASE", ailab.url)
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def outputs(folder):
    """The files in an output folder, less the resume ledger (everything else counts: no .part)."""
    return sorted(n for n in os.listdir(folder) if n != batch.LEDGER)


def run(*args):
    return cli.main(list(args) + ["--quiet"] if args and args[0] == "retouch" else list(args))


def test_retouch_writes_name_beauty_png_beside_the_input_losslessly(env, ailab, capsys):
    src = env / "face.png"
    pixels = photo(64, 48)
    Image.fromarray(pixels).save(src)
    assert run("retouch", str(src), "--level", "0.6") == 0
    out = env / "face.beauty.png"
    result = np.asarray(Image.open(out))
    assert np.array_equal(result, simple_engine(pixels, 0.6))  # the PNG went up untouched
    assert stat.S_IMODE(os.stat(out).st_mode) & 0o044  # an ordinary file, not a private temp file
    assert "face.beauty.png" in capsys.readouterr().out
    assert os.listdir(env / "tmp") == []


def test_outdir_alpha_and_multi_face(env, ailab):
    src = env / "a.png"
    rgba = np.dstack([photo(40, 30), np.full((30, 40), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src)
    assert run("retouch", str(src), "-o", str(env / "out"), "--multi-face") == 0
    result = np.asarray(Image.open(env / "out" / "a.beauty.png"))
    assert result.shape == (30, 40, 4) and (result[:, :, 3] == 128).all()
    tasks = ailab.stats()["tasks"]
    assert [t["multi_face"] for t in tasks.values()] == [True]


def test_big_photo_is_reduced_for_the_service_and_recomposed_at_full_size(env, ailab):
    src = env / "big.png"
    pixels = photo(4600, 600, seed=3)
    Image.fromarray(pixels).save(src)
    assert run("retouch", str(src), "--level", "1") == 0
    result = np.asarray(Image.open(env / "big.beauty.png"))
    assert result.shape == pixels.shape
    prepared = imaging.prepare_upload(str(src), str(env))
    assert prepared.size == (4095, 534) and prepared.encoding in ("png", "jpeg q95 4:4:4")
    prepared.cleanup()
    # The change is smooth (+~quarter of the way to white); the original's fine detail survives:
    expected = simple_engine(pixels, 1.0).astype(np.int32)
    err = np.abs(result.astype(np.int32) - expected)
    assert np.mean(err) < 3.0


def test_failures_are_one_line_each_and_exit_non_zero_without_partial_output(env, ailab, capsys):
    good = env / "good.png"
    Image.fromarray(photo(32, 32)).save(good)
    flat = env / "flat.png"
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(flat)  # the test engine finds no face here
    missing = env / "missing.png"
    assert run("retouch", str(good), str(flat), str(missing), "-o", str(env / "o")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any(line.startswith(str(flat)) and "No face" in line for line in err)
    assert any(line.startswith(str(missing)) and "does not exist" in line for line in err)
    assert "2 of 3 image(s) failed" in err[-1]
    assert outputs(env / "o") == ["good.beauty.png"]
    assert os.listdir(env / "tmp") == []


def test_bad_key_message_never_contains_the_key(env, ailab, monkeypatch, capsys):
    key = ailab.fault_key("error", status=401, code="ERROR_USER_NOT_EXISTS")
    monkeypatch.setenv("AILAB_API_KEY", key)
    src = env / "f.png"
    Image.fromarray(photo(16, 16)).save(src)
    assert run("retouch", str(src)) == 1
    captured = capsys.readouterr()
    assert "API key was not accepted" in captured.err and key not in captured.err + captured.out
    assert not (env / "f.beauty.png").exists()


def test_api_base_flag_overrides_and_plain_http_elsewhere_is_refused(env, ailab, capsys):
    src = env / "f.png"
    Image.fromarray(photo(16, 16)).save(src)
    assert run("retouch", str(src), "--api-base", "http://example.com") == 1
    assert "plain http" in capsys.readouterr().err


def test_check_reports_limits(env, capsys):
    small = env / "s.png"
    Image.fromarray(photo(20, 10)).save(small)
    assert cli.main(["check", str(small)]) == 0
    assert "meets the service limits" in capsys.readouterr().out


def test_key_set_reads_stdin_and_stores_a_private_file(env, monkeypatch, capsys):
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("my-secret-key-123456\n"))
    assert cli.main(["key", "set"]) == 0
    path = env / "cfg" / "api-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "my-secret-key-123456" not in capsys.readouterr().out


def test_key_test_reports_credits(env, capsys):
    assert cli.main(["key", "test"]) == 0
    out = capsys.readouterr().out
    assert "works" in out and "remaining credits" in out


def test_installed_entry_point_runs(env, ailab):
    exe = os.path.join(os.path.dirname(sys.executable), "smart-beauty")
    src = env / "e.png"
    Image.fromarray(photo(24, 24)).save(src)
    proc = subprocess.run([exe, "retouch", str(src), "--level", "0.5"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (env / "e.beauty.png").exists()


def test_recompose_keeps_untouched_pixels_exactly_and_matches_a_whole_image_resize():
    original = photo(300, 200, seed=5)
    small = np.asarray(Image.fromarray(original).resize((150, 100), Image.LANCZOS))
    result = small.copy()
    result[40:60, 50:80] = np.clip(result[40:60, 50:80].astype(int) + 30, 0, 255).astype(np.uint8)
    out = imaging.recompose(original, small, result, strip_rows=37)
    far = np.ones(original.shape[:2], bool)
    far[60:140, 80:180] = False  # the changed box, doubled, plus the bicubic kernel's reach
    assert np.array_equal(out[far], original[far])
    whole = imaging.recompose(original, small, result, strip_rows=10_000)
    assert np.abs(out.astype(int) - whole.astype(int)).max() <= 1


def test_encode_to_fit_prefers_png_then_jpeg_without_subsampling():
    smooth = Image.fromarray(photo(64, 64))
    data, enc = imaging.encode_to_fit(smooth)
    assert enc == "png" and data[:4] == b"\x89PNG"
    textured = Image.fromarray(photo(600, 600, seed=2))
    png, _ = imaging.encode_to_fit(textured)
    data, enc = imaging.encode_to_fit(textured, limit=len(png) // 2)
    assert enc.startswith("jpeg") and "4:4:4" in enc and len(data) <= len(png) // 2
    layers = Image.open(__import__("io").BytesIO(data)).layer
    assert all(layer[1:3] == (1, 1) for layer in layers)  # every channel sampled 1x1: no subsampling


def test_batch_stops_at_a_refused_key_and_says_so(env, ailab, monkeypatch, capsys):
    monkeypatch.setenv("AILAB_API_KEY", "refused-key-9999")
    for i in range(5):
        Image.fromarray(photo(24, 16, seed=i)).save(env / ("p%d.png" % i))
    report = env / "report.json"
    code = cli.main(["retouch"] + [str(env / ("p%d.png" % i)) for i in range(5)]
                    + ["--jobs", "1", "-o", str(env / "out"), "--report", str(report)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("API key was not accepted") == 1, err
    assert "1 of 5 image(s) failed" in err and "4 not retouched (not sent: the batch stopped at p0.png)" in err
    rows = json.loads(report.read_text())
    assert [r["status"] for r in rows] == ["failed"] + ["cancelled"] * 4
    assert all("stopped at p0.png" in r["error"] for r in rows[1:])
    assert ailab.stats()["counts"]["submit"] == 1
    assert "refused-key-9999" not in err

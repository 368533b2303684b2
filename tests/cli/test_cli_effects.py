"""``smart-beauty retouch --preset/--smooth/...`` and ``smart-beauty presets`` (issue #16 part 2), over
the command's in-process engine (fixture ``local_service``) with a recording stand-in engine (the real
engine's own test is tests/engine/test_effects_cli.py), and the local AILab server, over real HTTP, as the
cloud."""
import csv
import json
import os

import numpy as np
import pytest
from PIL import Image

from smart_beauty import batch, effects, settings
from smart_beauty.effects import BUILTIN, Effects
from smart_beauty_cli import cli
from smart_beauty_server.simple import SimpleEngine


class Recorder:
    """The local backend's engine: records the strengths it is asked for, answers like SimpleEngine."""

    def __init__(self):
        self.calls = []

    def __call__(self, rgb, level, multi_face=False, effects=None):
        self.calls.append((level, effects))
        return SimpleEngine()(rgb, level, multi_face)


@pytest.fixture
def engine(local_service):
    """The local backend's engine for this test: a :class:`Recorder` (in the command's process)."""
    recorder = Recorder()
    local_service(recorder)
    return recorder


@pytest.fixture
def env(engine, monkeypatch, tmp_path):
    """No key (auto = the offline engine), a private config folder, a photo face.png; returns the folder."""
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.delenv("AILAB_API_BASE", raising=False)
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(tmp_path / "face.png")
    return tmp_path


def retouch(env, *args):
    return cli.main(["retouch", str(env / "face.png"), "-o", str(env / "out"), "--quiet"] + list(args))


def one_sentence(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("smart-beauty: ") and lines[0].endswith("."), err
    assert "Traceback" not in err
    return lines[0][len("smart-beauty: "):]


def test_help_says_what_each_strength_does(capsys):
    with pytest.raises(SystemExit):
        cli.main(["retouch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, description in effects.DESCRIPTIONS.items():
        assert "--%s F %s" % (name, description) in text
    assert "--preset NAME" in text and "natural" in text


def test_a_builtin_preset_by_name_reaches_the_engine(env, engine, capsys):
    assert retouch(env, "--preset", "Soft skin") == 0
    assert engine.calls == [(1.0, BUILTIN["soft-skin"])]
    assert "(preset soft-skin: smooth 0.90, tone 0.50, slim 0.20" in capsys.readouterr().out


def test_each_strength_overrides_the_preset_or_the_level(env, engine):
    assert retouch(env, "--preset", "natural", "--slim", "0.5", "--force") == 0
    assert retouch(env, "--level", "0.4", "--eyes", "0", "--texture", "0.9", "--force") == 0
    assert [e for _, e in engine.calls] == [BUILTIN["natural"].replace(slim=0.5),
                                                Effects.from_level(0.4).replace(eyes=0, texture=0.9)]


def test_a_plain_level_is_sent_as_the_services_request(env, engine, capsys):
    assert retouch(env, "--level", "0.4") == 0
    assert engine.calls == [(0.4, None)]
    assert "preset" not in capsys.readouterr().out


def test_a_saved_preset_is_listed_used_by_name_and_deleted(env, engine, capsys):
    assert cli.main(["presets", "save", "Studio light", "--preset", "portrait-studio", "--slim", "0"]) == 0
    mine = BUILTIN["portrait-studio"].replace(slim=0)
    assert "Saved your preset studio-light: %s." % mine.describe() in capsys.readouterr().out
    assert cli.main(["presets", "list"]) == 0
    listed = capsys.readouterr().out
    assert "natural" in listed and "studio-light       %s" % mine.describe() in listed
    assert retouch(env, "--preset", "studio-light") == 0
    assert engine.calls == [(1.0, mine)]
    assert cli.main(["presets", "delete", "studio-light"]) == 0
    capsys.readouterr()
    assert retouch(env, "--preset", "studio-light", "--force") == 1
    assert "There is no preset called 'studio-light'" in one_sentence(capsys.readouterr().err)
    assert len(engine.calls) == 1


def test_a_preset_saved_from_strengths_alone_starts_from_level_one(env, capsys):
    assert cli.main(["presets", "save", "mine", "--smooth", "0.3", "--slim", "0"]) == 0
    assert effects.preset("mine") == Effects(smooth=0.3, slim=0.0)


def test_builtin_presets_are_not_overwritten_or_deleted(env, capsys):
    assert cli.main(["presets", "save", "natural", "--smooth", "0.2"]) == 1
    assert "built-in preset" in one_sentence(capsys.readouterr().err)
    assert cli.main(["presets", "delete", "natural"]) == 1
    assert "built-in preset" in one_sentence(capsys.readouterr().err)
    assert effects.own_presets() == {}


@pytest.mark.parametrize("args, says", [
    (["--slim", "2"], "--slim (face slimming) must be a number from 0 to 1, not '2'."),
    (["--eyes", "abc"], "--eyes (larger eyes) must be a number from 0 to 1, not 'abc'."),
    (["--texture", "nan"], "--texture (skin texture kept"),
    (["--preset", "nosuch"], "There is no preset called 'nosuch'; the presets are: natural, no-reshaping"),
    (["--preset", "natural", "--level", "0.5"], "Give --preset or --level, not both"),
])
def test_bad_values_are_one_sentence_and_nothing_is_sent(env, engine, capsys, args, says):
    assert retouch(env, *args) == 1
    assert says in one_sentence(capsys.readouterr().err)
    assert engine.calls == [] and not (env / "out").exists()


@pytest.mark.parametrize("args", [["--preset", "natural"], ["--backend", "cloud", "--slim", "0"]])
def test_the_cloud_refuses_strengths_before_any_upload(env, engine, ailab, monkeypatch, capsys, args):
    monkeypatch.setenv("AILAB_API_KEY", ailab.valid_key)
    monkeypatch.setenv("AILAB_API_BASE", ailab.url)
    assert retouch(env, *args) == 1
    assert one_sentence(capsys.readouterr().err) == cli.CLOUD_HAS_ONE_LEVEL
    assert ailab.stats()["counts"]["submit"] == 0
    assert not (env / "out").exists() and engine.calls == []


def test_the_cloud_takes_strengths_that_are_a_plain_level(env, ailab, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", ailab.valid_key)
    monkeypatch.setenv("AILAB_API_BASE", ailab.url)
    strengths = ["--%s" % n for n in effects.EFFECTS]
    args = [a for name in strengths for a in (name, "0.3")]
    assert retouch(env, *args) == 0
    tasks = list(ailab.stats()["tasks"].values())
    assert [(t["level"], t["effects"]) for t in tasks] == [(0.3, None)]


def test_a_changed_strength_redoes_the_output_the_same_one_skips_it(env, engine):
    assert retouch(env, "--preset", "natural") == 0
    assert retouch(env, "--preset", "natural") == 0
    assert len(engine.calls) == 1                         # skipped: same file, same strengths
    assert retouch(env, "--preset", "natural", "--lips", "0.9") == 0
    assert len(engine.calls) == 2                         # redone: a strength changed
    with open(env / "out" / batch.LEDGER) as f:
        recipe = json.load(f)["face.beauty.png"]["recipe"]
    assert recipe["effects"] == BUILTIN["natural"].replace(lips=0.9).as_dict()
    assert retouch(env, "--preset", "natural", "--lips", "0.9") == 0
    assert len(engine.calls) == 2


@pytest.mark.parametrize("name", ["r.json", "r.csv"])
def test_the_report_says_which_preset_and_strengths(env, name):
    assert retouch(env, "--preset", "no-reshaping", "--smooth", "0.5", "--report", str(env / name)) == 0
    used = BUILTIN["no-reshaping"].replace(smooth=0.5)
    if name.endswith(".json"):
        with open(env / name) as f:
            row = json.load(f)[0]
        assert (row["preset"], row["effects"]) == ("no-reshaping", used.as_dict())
    else:
        with open(env / name, newline="") as f:
            row = list(csv.DictReader(f))[0]
        assert (row["preset"], row["effects"]) == ("no-reshaping", used.describe())
    assert row["status"] == "done"


def test_a_plain_level_report_has_no_strengths(env):
    assert retouch(env, "--level", "0.6", "--report", str(env / "r.json")) == 0
    with open(env / "r.json") as f:
        row = json.load(f)[0]
    assert (row["level"], row["preset"], row["effects"]) == (0.6, None, None)
    assert os.path.exists(env / "out" / "face.beauty.png")

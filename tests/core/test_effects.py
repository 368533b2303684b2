# -*- coding: utf-8 -*-
"""Effect strengths and presets (single source: Python 2.7 + 3)."""
from __future__ import absolute_import, division, print_function, unicode_literals

import io
import json
import os
import stat

import pytest

from smart_beauty import effects, errors, settings
from smart_beauty.compat import text_type
from smart_beauty.effects import BUILTIN, Effects


@pytest.fixture
def env(tmpdir):
    return {settings.ENV_CONFIG_DIR: str(tmpdir.join("cfg"))}


def test_a_level_sets_every_effect_and_keeps_the_default_texture():
    e = Effects.from_level(0.8)
    assert [getattr(e, n) for n in effects.EFFECTS] == [0.8] * 5
    assert e.texture == effects.TEXTURE_DEFAULT
    assert e.level() == 0.8
    assert e.replace(slim=0.0).level() is None          # no single level gives that
    assert e.replace(texture=0.9).level() is None


def test_strengths_outside_0_to_1_are_refused_in_one_sentence():
    for bad in (-0.1, 1.5, float("nan"), "lots", None):
        with pytest.raises(errors.BadInputError) as info:
            Effects(smooth=bad)
        assert "skin smoothing must be a number from 0 to 1" in str(info.value)
    with pytest.raises(errors.BadInputError):
        Effects.from_level(2)
    with pytest.raises(errors.BadInputError) as info:
        Effects().replace(blush=0.5)
    assert "no effect called" in str(info.value)


def test_effects_are_values():
    a = Effects(0.5, 0.4, 0.3, 0.2, 0.1, 0.9)
    assert a == Effects(smooth=0.5, tone=0.4, slim=0.3, eyes=0.2, lips=0.1, texture=0.9)
    assert a != a.replace(lips=0.2) and a.replace(lips=None) == a
    assert len(set([a, Effects(**a.as_dict())])) == 1
    with pytest.raises(AttributeError):
        a.smooth = 1.0
    assert "slim 0.30" in a.describe()


def test_builtin_presets_are_there_and_cannot_be_replaced_or_deleted(env):
    assert set(effects.presets(env)) >= set(["natural", "soft-skin", "portrait-studio", "no-reshaping"])
    assert BUILTIN["no-reshaping"].slim == 0.0 and BUILTIN["no-reshaping"].eyes == 0.0
    assert effects.preset("Portrait studio", env) == BUILTIN["portrait-studio"]
    for name in ("natural", "Soft skin"):
        with pytest.raises(errors.BadInputError):
            effects.save_preset(name, Effects(), env)
        with pytest.raises(errors.BadInputError):
            effects.delete_preset(name, env)


def test_own_presets_are_saved_privately_found_by_name_and_deleted(env):
    mine = Effects(0.7, 0.2, 0.0, 0.1, 0.3, 0.8)
    assert effects.save_preset("My Wedding_look", mine, env) == "my-wedding-look"
    path = os.path.join(settings.config_dir(env), effects.PRESETS_FILE)
    if os.name == "posix":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert effects.preset("my wedding look", env) == mine
    assert effects.own_presets(env) == {"my-wedding-look": mine}
    assert effects.delete_preset("my-wedding-look", env) is True
    assert effects.delete_preset("my-wedding-look", env) is False
    with pytest.raises(errors.BadInputError) as info:
        effects.preset("my-wedding-look", env)
    assert "no preset called" in str(info.value) and "natural" in str(info.value)


def test_a_hand_edited_preset_that_does_not_make_sense_is_left_out(env):
    effects.save_preset("good", Effects.from_level(0.5), env)
    path = os.path.join(settings.config_dir(env), effects.PRESETS_FILE)
    with io.open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    data["too-strong"] = dict(data["good"], smooth=3)
    data["half"] = {"smooth": 0.5}
    data["natural"] = dict(data["good"])          # cannot shadow a built-in
    with io.open(path, "w", encoding="utf-8") as f:
        f.write(text_type(json.dumps(data)))
    assert sorted(effects.own_presets(env)) == ["good"]
    assert effects.preset("natural", env) == BUILTIN["natural"]


def test_preset_names():
    assert effects.preset_name("  Soft   skin ") == "soft-skin"
    for bad in ("", "   ", "../x", "a" * 41, None):
        with pytest.raises(errors.BadInputError):
            effects.preset_name(bad)


def test_choose_a_level_a_preset_and_overrides(env):
    assert effects.choose(0.7) == (0.7, None, None)                       # a plain level, as always
    level, strengths, label = effects.choose(0.7, "Soft skin", env=env)    # a preset sets every strength
    assert strengths == BUILTIN["soft-skin"] and label == "preset soft-skin" and level == 0.7
    level, strengths, label = effects.choose(0.5, None, {"slim": 0, "eyes": None}, env)
    assert strengths == Effects.from_level(0.5).replace(slim=0) and label == "level 0.5, slim 0"
    level, strengths, label = effects.choose(0.4, None, {"texture": effects.TEXTURE_DEFAULT}, env)
    assert level == 0.4 and strengths.level() == 0.4                      # still one level: the cloud can
    for bad in ({"slim": 2}, {"blush": 0.1}):
        with pytest.raises(errors.BadInputError):
            effects.choose(0.5, None, bad, env)
    with pytest.raises(errors.BadInputError):
        effects.choose(0.5, "no-such-preset", None, env)

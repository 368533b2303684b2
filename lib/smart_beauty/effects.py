# -*- coding: utf-8 -*-
"""What a retouch does, effect by effect: the strengths, the one beauty level that sets them all, presets.

The AILab service has a single knob, ``beauty_level``. The offline engine has one strength per effect
(:data:`EFFECTS`), each in [0, 1], plus ``texture``: how much of the skin's finest detail (pores,
freckles) survives the smoothing. ``Effects.from_level(level)`` is what a beauty level means: every
effect at that level, texture at its default -- what the engine has always done with a level.

Presets are named :class:`Effects`: a few built in (:data:`BUILTIN`), and the user's own, kept in
``presets.json`` in the config folder (beside ``settings.json``).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import json
import math
import os
import re

from . import errors, settings

EFFECTS = ("smooth", "tone", "slim", "eyes", "lips")
#: what each strength does, for help texts and dialog labels
DESCRIPTIONS = {
    "smooth": "skin smoothing",
    "tone": "even, brighter skin tone",
    "slim": "face slimming",
    "eyes": "larger eyes",
    "lips": "lips: more of their own colour",
    "texture": "skin texture kept (pores, freckles) under the smoothing",
}
#: share of the finest skin detail kept under the smoothing unless a preset says otherwise
TEXTURE_DEFAULT = 0.6
PRESETS_FILE = "presets.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,39}\Z")


class Effects(object):
    """Strengths of the effects (``smooth``, ``tone``, ``slim``, ``eyes``, ``lips``) and ``texture``,
    each a number in [0, 1]. Immutable; compare with ``==``."""

    __slots__ = tuple(str(name) for name in EFFECTS + ("texture",))   # str: Python 2 wants native names

    def __init__(self, smooth=1.0, tone=1.0, slim=1.0, eyes=1.0, lips=1.0, texture=TEXTURE_DEFAULT):
        values = dict(smooth=smooth, tone=tone, slim=slim, eyes=eyes, lips=lips, texture=texture)
        for name in self.__slots__:
            object.__setattr__(self, name, _strength(name, values[name]))

    @classmethod
    def from_level(cls, level):
        """What one beauty level means: every effect at ``level``, texture at its default."""
        level = _strength("beauty level", level)
        return cls(level, level, level, level, level)

    def __setattr__(self, name, value):
        raise AttributeError("Effects are immutable; use replace()")

    def replace(self, **changes):
        """A copy with some strengths changed (``None`` values are ignored)."""
        values = self.as_dict()
        for name, value in changes.items():
            if name not in values:
                raise errors.BadInputError("There is no effect called %r; the effects are %s." % (
                    name, ", ".join(self.__slots__)))
            if value is not None:
                values[name] = value
        return Effects(**values)

    def as_dict(self):
        return dict((name, getattr(self, name)) for name in self.__slots__)

    def level(self):
        """The beauty level these strengths are, or None when no single level gives them (what the
        cloud service can do is a level only)."""
        first = self.smooth
        if all(getattr(self, name) == first for name in EFFECTS) and self.texture == TEXTURE_DEFAULT:
            return first
        return None

    def describe(self):
        return ", ".join("%s %.2f" % (name, getattr(self, name)) for name in self.__slots__)

    def __eq__(self, other):
        return isinstance(other, Effects) and self.as_dict() == other.as_dict()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(tuple(getattr(self, name) for name in self.__slots__))

    def __repr__(self):
        return "Effects(%s)" % ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__)


def _strength(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise errors.BadInputError("The %s must be a number from 0 to 1." % DESCRIPTIONS.get(name, name))
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise errors.BadInputError("The %s must be a number from 0 to 1 (got %g)." % (
            DESCRIPTIONS.get(name, name), value))
    return value


#: built-in presets, by name; their names cannot be taken by the user's own
BUILTIN = {
    "natural": Effects(smooth=0.5, tone=0.3, slim=0.2, eyes=0.15, lips=0.3, texture=0.75),
    "soft-skin": Effects(smooth=0.9, tone=0.5, slim=0.2, eyes=0.2, lips=0.3, texture=0.4),
    "portrait-studio": Effects(smooth=0.75, tone=0.6, slim=0.4, eyes=0.35, lips=0.5, texture=0.6),
    "no-reshaping": Effects(smooth=0.8, tone=0.6, slim=0.0, eyes=0.0, lips=0.5, texture=0.6),
}


def choose(level=1.0, preset_called=None, overrides=None, env=None):
    """What a run asked for, as ``(level, effects, label)``: from a beauty level, or a preset (which
    then sets every strength instead of the level), and strengths that override either (a dict; None
    values are left out). ``effects`` is None when only a level was asked for -- a plain level, as
    before strengths existed -- and ``level`` is what the service's ``beauty_level`` gets; ``label``
    says what was used ("preset natural, slim 0"). BadInputError (one sentence) for a bad name or value."""
    overrides = dict((name, _strength(name, value)) for name, value in (overrides or {}).items()
                     if value is not None)
    unknown = sorted(set(overrides) - set(Effects.__slots__))
    if unknown:
        raise errors.BadInputError("There is no effect called %r; the effects are %s." % (
            unknown[0], ", ".join(Effects.__slots__)))
    level = _strength("beauty level", 1.0 if level is None else level)
    if not preset_called and not overrides:
        return level, None, None
    if preset_called:
        base, label = preset(preset_called, env), "preset " + preset_name(preset_called)
    else:
        base, label = Effects.from_level(level), "level %g" % level
    if overrides:
        label += ", " + ", ".join("%s %g" % (n, overrides[n]) for n in Effects.__slots__ if n in overrides)
    strengths = base.replace(**overrides)
    plain = strengths.level()
    return (level if plain is None else plain), strengths, label


def preset_name(name):
    """``name`` as presets are stored: lower case, spaces and underscores as hyphens ("Soft skin" ->
    "soft-skin"); BadInputError for an empty or odd one."""
    text = (name or "").strip().lower()
    if not _NAME.match(text):
        raise errors.BadInputError("A preset name is 1 to 40 letters, digits, spaces or hyphens (got %r)." % name)
    return re.sub(r"[ _-]+", "-", text)


def presets(env=None):
    """Every preset by name: the built-in ones, then the user's own (sorted by name)."""
    own = _read_own(env)
    result = dict(BUILTIN)
    for name in sorted(own):
        result[name] = own[name]
    return result


def own_presets(env=None):
    return _read_own(env)


def preset(name, env=None):
    """The preset called ``name`` (built-in or the user's), or BadInputError naming the ones there are."""
    key = preset_name(name)
    found = presets(env)
    if key not in found:
        raise errors.BadInputError("There is no preset called %r; the presets are: %s." % (
            name, ", ".join(sorted(found))))
    return found[key]


def save_preset(name, effects, env=None):
    """Store ``effects`` as the user's preset ``name`` (replacing one of that name); returns the name
    it is stored under. The built-in names are refused."""
    key = preset_name(name)
    if key in BUILTIN:
        raise errors.BadInputError("%r is a built-in preset; save yours under another name." % key)
    data = _read_file(env)
    data[key] = effects.as_dict()
    settings.write_private(_path(env), json.dumps(data, indent=2, sort_keys=True))
    return key


def delete_preset(name, env=None):
    """Remove the user's preset ``name``; returns True if there was one."""
    key = preset_name(name)
    if key in BUILTIN:
        raise errors.BadInputError("%r is a built-in preset and cannot be deleted." % key)
    data = _read_file(env)
    if key not in data:
        return False
    del data[key]
    settings.write_private(_path(env), json.dumps(data, indent=2, sort_keys=True))
    return True


def _path(env):
    return os.path.join(settings.config_dir(env), PRESETS_FILE)


def _read_file(env):
    return settings.read_json(_path(env))


def _read_own(env):
    """The user's presets that are valid; one that is not (edited by hand) is left out, not fatal."""
    own = {}
    for name, values in _read_file(env).items():
        try:
            key = preset_name(name)
            if key not in BUILTIN and isinstance(values, dict) and all(k in values for k in EFFECTS):
                own[key] = Effects(**dict((str(k), values[k]) for k in Effects.__slots__ if k in values))
        except errors.BadInputError:
            continue
    return own

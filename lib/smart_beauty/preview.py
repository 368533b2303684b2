# -*- coding: utf-8 -*-
"""The Smart Beauty dialog's decisions, without any GUI: what its controls show and allow, where a
preview is computed, at what size, and a worker that always renders the newest request only.

The GIMP 3 dialog (``plug-ins/smart-beauty/smart_beauty_gimp3.py``) only translates these to GTK:

* :class:`Choice` -- the beauty level, a preset (or none) and the strengths the user set by hand. The
  six effect sliders show :meth:`Choice.shown`: a strength set by hand, else the preset's, else the
  level's. Choosing a preset resets the hand-set ones; moving the level keeps them. It is stored in
  the procedure's own arguments (``preset`` and the six strengths, -1 = not set by hand), so GIMP
  remembers it with the dialog's other settings, and a script gets exactly the same retouch.
* :func:`effect_controls` -- the per-effect controls and presets are for the offline engine; with the
  cloud they are shown disabled, with the reason (the AILab service has one beauty level).
* :func:`preview_plan` -- previews never spend credits: they always run on the offline engine, and
  say so when the retouch itself goes to the cloud; without the engine the preview is off, with why.
* :func:`preview_size` -- the reduced copy a preview works on (the final OK renders full size).
* :class:`Latest` -- one worker thread; a request replaces the one still waiting, a result whose
  request was overtaken is dropped: a busy engine never works through a queue of stale positions.
* :func:`render` -- one preview through the local server's synchronous mode (no polling).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import math
import threading

from . import effects as sb_effects
from . import errors

#: the reduced copy fits in this box (pixels): about 0.26 MP, the size the engine does in ~20 ms,
#: and the size of the dialog's preview pane (a bigger copy would only be shrunk again for display)
PREVIEW_BOX = (600, 450)
NOT_SET = -1.0      # a procedure's per-effect argument that was not set by hand
NO_PRESET_LABEL = "None (the beauty level sets every effect)"

CLOUD_ONE_LEVEL = ("The AILab service has one beauty level: presets and per-effect strengths need the "
                   "offline engine (Where to retouch: offline engine).")
PREVIEW_OTHER_ENGINE = "preview: offline engine; the service's result will differ"
PREVIEW_NO_ENGINE = ("No preview: previews run on the offline engine (never on the paid service), and it is "
                     "not installed.")


# -- the controls ---------------------------------------------------------------------------------

class Choice(object):
    """What the dialog's controls say: ``level``, ``preset`` (a name or None) and ``overrides`` (the
    strengths set by hand, name -> value)."""

    def __init__(self, level=0.8, preset=None, overrides=None):
        self.level = float(level)
        self.preset = preset or None
        self.overrides = dict(overrides or {})

    @classmethod
    def from_arguments(cls, level, preset, strengths, env=None):
        """From the procedure's arguments: ``strengths`` name -> value, < 0 meaning not set by hand.
        An unknown preset (deleted since) is forgotten, not an error: the dialog then shows none."""
        name = (preset or "").strip() or None
        if name is not None:
            try:
                name = sb_effects.preset_name(name)
                sb_effects.preset(name, env)
            except errors.BadInputError:
                name = None
        return cls(level, name, dict((n, float(v)) for n, v in strengths.items() if v is not None and v >= 0))

    def arguments(self):
        """``(preset, {name: value})`` for the procedure's arguments: "" for no preset, -1 for a
        strength not set by hand."""
        return self.preset or "", dict((n, self.overrides.get(n, NOT_SET)) for n in sb_effects.Effects.__slots__)

    def choose_preset(self, name):
        """A preset (or None): every strength follows it again."""
        self.preset = name or None
        self.overrides = {}

    def set_level(self, level):
        self.level = float(level)

    def set_strength(self, name, value):
        if name not in sb_effects.Effects.__slots__:
            raise errors.BadInputError("There is no effect called %r." % (name,))
        self.overrides[name] = float(value)

    def base(self, env=None):
        """The strengths before the hand-set ones: the preset's, else the level's."""
        if self.preset:
            try:
                return sb_effects.preset(self.preset, env)
            except errors.BadInputError:
                pass
        return sb_effects.Effects.from_level(self.level)

    def strengths(self, env=None):
        """The strengths the controls show: the preset's or the level's, with the hand-set ones (what
        "Save as preset..." stores)."""
        return self.base(env).replace(**self.overrides)

    def shown(self, env=None):
        """What each of the six sliders shows (name -> value)."""
        return self.strengths(env).as_dict()

    def request(self, backend, env=None):
        """``(level, effects)`` for a run on ``backend`` ("cloud" or "local", already resolved) by the
        core's rule (:func:`smart_beauty.effects.choose`). On the cloud the dialog shows the per-effect
        controls disabled (:func:`effect_controls`), so only the level is asked for."""
        if backend == "cloud":
            return sb_effects.choose(self.level, None, None, env)[:2]
        return sb_effects.choose(self.level, self.preset, self.overrides, env)[:2]


def effect_controls(backend):
    """``(enabled, reason)`` for the preset chooser, the six sliders and "Save as preset...":
    disabled with one sentence on the cloud (``backend`` already resolved)."""
    if backend == "cloud":
        return False, CLOUD_ONE_LEVEL
    return True, None


def preset_entries(env=None):
    """The preset chooser's rows, ``(name or "", label)``: none first, then the built-in ones, then
    the user's own (read each time the dialog opens: saved from the CLI too)."""
    own = sb_effects.own_presets(env)
    rows = [("", NO_PRESET_LABEL)]
    rows.extend((name, name) for name in sorted(sb_effects.BUILTIN))
    rows.extend((name, "%s (yours)" % name) for name in sorted(own))
    return rows


# -- the preview ----------------------------------------------------------------------------------

class Plan(object):
    """Where previews run: ``enabled``, and ``note``: the one line the dialog shows beside the toggle
    (why it is off, or that it is not the service's own result), or None."""

    def __init__(self, enabled, note=None):
        self.enabled, self.note = enabled, note

    def __eq__(self, other):
        return isinstance(other, Plan) and (self.enabled, self.note) == (other.enabled, other.note)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "Plan(%r, %r)" % (self.enabled, self.note)


def preview_plan(backend, engine_installed):
    """``backend`` as resolved ("cloud" or "local"); ``engine_installed``: the offline engine can be
    started. Previews always run on the offline engine: no credits are spent on them."""
    if not engine_installed:
        return Plan(False, PREVIEW_NO_ENGINE)
    if backend == "cloud":
        return Plan(True, PREVIEW_OTHER_ENGINE)
    return Plan(True, None)


def preview_size(width, height, box=PREVIEW_BOX):
    """``(w, h, scale)`` of the reduced copy of a ``width`` x ``height`` layer: as large as fits in
    ``box`` (in either orientation), never enlarged."""
    if width < 1 or height < 1:
        raise errors.BadInputError("The layer is empty.")
    long_side, short_side = max(box), min(box)
    fit = long_side / float(max(width, height))
    fit = min(fit, short_side / float(min(width, height)), 1.0)
    w, h = max(1, int(math.floor(width * fit + 0.5))), max(1, int(math.floor(height * fit + 0.5)))
    return w, h, fit


class Latest(object):
    """Renders the newest request only, on one worker thread.

    ``render(request)`` runs on the worker; ``deliver(number, request, result, error)`` is called (on
    the worker: a GTK host wraps it in ``GLib.idle_add``) for a request that is still the newest when
    its result is ready. A request made while another waits replaces it (the waiting one is dropped,
    never rendered); a result whose request was overtaken while it rendered is dropped. ``dropped``
    counts both kinds."""

    def __init__(self, render, deliver):
        self._render, self._deliver = render, deliver
        self._cond = threading.Condition()
        self._waiting = None        # (number, request)
        self._newest = 0
        self._closed = False
        self.dropped = 0
        self.rendered = 0
        self._thread = threading.Thread(target=self._run, name="smart-beauty-preview")
        self._thread.daemon = True
        self._thread.start()

    def request(self, request):
        """Ask for ``request``; returns its number."""
        with self._cond:
            self._newest += 1
            if self._waiting is not None:
                self.dropped += 1
            self._waiting = (self._newest, request)
            self._cond.notify()
            return self._newest

    def cancel(self):
        """Forget the waiting request and any result still rendering (preview switched off)."""
        with self._cond:
            self._newest += 1
            if self._waiting is not None:
                self.dropped += 1
            self._waiting = None

    def is_newest(self, number):
        with self._cond:
            return number == self._newest

    def close(self, wait=None):
        with self._cond:
            self._closed = True
            self._waiting = None
            self._newest += 1
            self._cond.notify()
        if wait is not None:
            self._thread.join(wait)

    def _run(self):
        while True:
            with self._cond:
                while self._waiting is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                number, request = self._waiting
                self._waiting = None
            result = error = None
            try:
                result = self._render(request)
            except Exception as e:  # noqa: BLE001 - handed to the dialog as its one line
                error = e
            with self._cond:
                self.rendered += 1
                current = number == self._newest and not self._closed
                if not current:
                    self.dropped += 1
            if current:
                self._deliver(number, request, result, error)


def render(client, png_bytes, level, multi_face, strengths):
    """One preview: ``png_bytes`` (the reduced copy) through the offline engine's server, returned as
    PNG bytes. Only a local client (our server with the offline engine): previews cost no credits."""
    if not getattr(client, "local", False):
        raise errors.BadInputError("Previews run on the offline engine only; the AILab service would charge "
                                   "for each one.")
    return client.retouch_now(png_bytes, level, multi_face, effects=strengths)


def error_line(error):
    """The one line the dialog shows when a preview failed."""
    text = getattr(error, "user_message", None) or "%s" % (error,) or type(error).__name__
    return "Preview failed: " + text.strip().splitlines()[0][:200]

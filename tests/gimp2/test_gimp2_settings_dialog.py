# -*- coding: utf-8 -*-
"""GIMP 2.10's Settings dialog (pygtk 2), driven through a scripted stand-in of the few gtk calls it
makes: Test key, then OK with a key typed and "Where to retouch" chosen. Real pygtk is not in the
test chroots (see gimp210-python-fu.md), so this pins the dialog's logic and its pygtk-2 API names.
Single source: Python 2.7 + 3."""
from __future__ import absolute_import, division, print_function

import json
import os
import stat
import sys
import types

import pytest


class _Widget(object):
    def __init__(self, *args):
        self.args = args
        self.text = args[0] if args else ""
        self.calls = []

    def __getattr__(self, name):  # set_visibility, set_line_wrap, show_all, ...: recorded no-ops
        def call(*a):
            self.calls.append((name, a))
        return call

    def set_text(self, text):
        self.text = text

    def get_text(self):
        return self.text


class _Entry(_Widget):
    pass


class _Combo(_Widget):
    def __init__(self):
        _Widget.__init__(self)
        self.items, self.active = [], -1

    def append_text(self, text):
        self.items.append(text)

    def set_active(self, index):
        self.active = index

    def get_active(self):
        return self.active


def fake_gtk(script):
    """A module with the pygtk-2 names the dialog uses. ``script(dialog)`` returns each response."""
    gtk = types.ModuleType("gtk")
    gtk.RESPONSE_OK, gtk.RESPONSE_CANCEL, gtk.DIALOG_MODAL = -5, -6, 1
    gtk.STOCK_OK, gtk.STOCK_CANCEL = "gtk-ok", "gtk-cancel"
    gtk.gdk = type("gdk", (), {"display_get_default": staticmethod(lambda: object())})
    gtk.widgets = []

    def make(cls):
        def factory(*args):
            w = cls(*args)
            gtk.widgets.append(w)
            return w
        return factory

    class Dialog(_Widget):
        def __init__(self, *args):
            _Widget.__init__(self, *args)
            self.vbox = _Widget()
            self.destroyed = False

        def run(self):
            return script(self, gtk)

        def destroy(self):
            self.destroyed = True

    gtk.Dialog = make(Dialog)
    gtk.Label = make(_Widget)
    gtk.Entry = make(_Entry)
    gtk.combo_box_new_text = make(_Combo)
    gtk.events_pending = lambda: False
    gtk.main_iteration = lambda: None
    return gtk


def widgets(gtk, cls):
    return [w for w in gtk.widgets if type(w) is cls]


def test_test_key_then_ok_stores_key_and_backend(g2, monkeypatch):
    monkeypatch.delenv("AILAB_API_KEY")
    responses = []

    def script(dialog, gtk):
        entry = widgets(gtk, _Entry)[0]
        assert ("set_visibility", (False,)) in entry.calls   # a password field
        combo = widgets(gtk, _Combo)[0]
        if not responses:
            entry.set_text(g2.ailab.valid_key)
            responses.append("test")
            return g2.plugin.TEST_RESPONSE
        assert combo.items and combo.active == 0       # "Automatic" preselected on first use
        combo.set_active(2)                            # "Offline engine on this computer"
        responses.append("ok")
        return gtk.RESPONSE_OK

    gtk = fake_gtk(script)
    monkeypatch.setitem(sys.modules, "gtk", gtk)
    g2.pdb.python_fu_smart_beauty_settings(run_mode=g2.gimpfu.RUN_INTERACTIVE)
    assert responses == ["test", "ok"]
    status_texts = [w.text for w in gtk.widgets if type(w) is _Widget and w.text and "Testing" not in w.text]
    assert any("works" in t or "accepted" in t or "credits" in t for t in status_texts), status_texts
    assert all(g2.ailab.valid_key not in t for t in status_texts)
    key_file = os.path.join(g2.config, "api-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with open(os.path.join(g2.config, "settings.json")) as f:
        assert json.load(f)["remembered"]["backend"] == "local"
    assert g2.session.messages == ["Smart Beauty: your AILab API key works."]


@pytest.mark.parametrize("env_backend", ["", "cloud"])
def test_cancel_changes_nothing_and_the_environment_wins_over_the_setting(g2, monkeypatch, env_backend):
    gtk = fake_gtk(lambda dialog, gtk: gtk.RESPONSE_CANCEL)
    monkeypatch.setitem(sys.modules, "gtk", gtk)
    g2.pdb.python_fu_smart_beauty_settings(run_mode=g2.gimpfu.RUN_INTERACTIVE)
    assert not os.path.exists(os.path.join(g2.config, "api-key"))
    from smart_beauty import settings as sb_settings
    sb_settings.Settings.load().remember(backend="local")
    monkeypatch.setenv("SMART_BEAUTY_BACKEND", env_backend)
    assert g2.plugin._backend(True) == (env_backend or "local")

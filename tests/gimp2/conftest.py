# -*- coding: utf-8 -*-
"""Fixtures for the GIMP 2.10 adapter through the gimpfu stand-ins (single source: Python 2.7 + 3).

``g2``: a fresh GIMP 2.10 session with plug-ins/gimp2/smart_beauty.py loaded and registered,
pointed at the local AILab server (``ailab`` fixture) through AILAB_API_KEY / AILAB_API_BASE, a
private Smart Beauty config folder and a private temp folder (to prove nothing is left behind).
"""
from __future__ import absolute_import, division, print_function

import os
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STUBS = os.path.join(REPO, "tests", "stubs")
PLUGIN = os.path.join(REPO, "plug-ins", "gimp2", "smart_beauty.py")
for _p in (STUBS, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def load_plugin(path, name):
    """Run the plug-in file like GIMP runs it (it registers the procedures and calls main()), in a
    fresh process as far as the plug-in can tell: its module (smart_beauty_gimp2) is imported anew.
    Returns that module (the host class and the procedures)."""
    import gimpfu
    gimpfu._registered_plugins_.clear()
    del gimpfu.ERROR_DIALOGS[:]
    for old in (name, "smart_beauty_gimp2"):
        sys.modules.pop(old, None)
    if sys.version_info[0] < 3:
        import imp
        imp.load_source(name, path)
    else:
        import importlib.util
        spec = importlib.util.spec_from_file_location(name, path)  # novermin
        mod = importlib.util.module_from_spec(spec)  # novermin
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules["smart_beauty_gimp2"]


class G2(object):
    """What a test needs: the gimp/gimpfu modules, the session model, the plug-in module, folders."""

    def __init__(self, tmpdir, ailab, monkeypatch, clock=None):
        """``clock``: the time the plug-in's jobs run on (its host carries it): a virtual clock unless
        a test needs the real one (the GIMP main thread's progress over a job that takes real time)."""
        from virtual_clock import VirtualClock
        self.clock = VirtualClock() if clock is None else clock
        import gimp
        import gimpfu
        from smart_beauty import gimpbatch, layerjob
        self.gimp, self.gimpfu, self.pdb, self.layerjob, self.gimpbatch = gimp, gimpfu, gimp.pdb, layerjob, gimpbatch
        self.root = str(tmpdir)
        self.tempdir = os.path.join(self.root, "tmp")
        self.config = os.path.join(self.root, "config")
        for d in (self.tempdir, self.config):
            os.makedirs(d)
        monkeypatch.setattr(tempfile, "tempdir", self.tempdir)
        monkeypatch.setenv("SMART_BEAUTY_CONFIG_DIR", self.config)
        # No test starts the offline engine by accident (backend auto without a key = local):
        # tests that want it point SMART_BEAUTY_CLI at the real command.
        monkeypatch.setenv("SMART_BEAUTY_CLI", os.path.join(self.root, "no-smart-beauty-command"))
        self.ailab = ailab
        if ailab is not None:
            monkeypatch.setenv("AILAB_API_KEY", ailab.valid_key)
            monkeypatch.setenv("AILAB_API_BASE", ailab.url)
        monkeypatch.setenv("SMART_BEAUTY_DEADLINE", "30")  # one job's limit, as a user may set it
        self.session = gimp._reset(os.path.join(self.root, "profile"), os.path.join(self.root, "gimp-tmp"))
        self.monkeypatch = monkeypatch
        self.plugin = self.reload()

    def reload(self):
        """A new run of the plug-in process (GIMP starts it for every call)."""
        self.plugin = load_plugin(PLUGIN, "smart_beauty_gimp2_plugin")
        self.plugin.GimpHost.clock = self.clock
        return self.plugin

    def real_time(self):
        """Run the plug-in's jobs on the real clock from now on (a test of what GIMP's main thread does
        while a job takes real time)."""
        from smart_beauty.clock import SYSTEM
        self.clock = self.plugin.GimpHost.clock = SYSTEM

    def fails(self, procedure, *args, **kwargs):
        """Call a procedure that must fail without a dialog (batch, Script-Fu, another plug-in): gimpfu
        lets our exception through, so the caller gets EXECUTION_ERROR (pygimp: "execution error"),
        and no gimpfu error dialog is involved. Returns the exception."""
        with pytest.raises(RuntimeError, match="execution error") as info:
            getattr(self.pdb, procedure)(*args, **kwargs)
        assert self.gimpfu.ERROR_DIALOGS == []
        return info.value

    def leftovers(self):
        """Files left in the temp folders (the library's and GIMP's)."""
        out = []
        for d in (self.tempdir, self.session.tempdir):
            if os.path.isdir(d):
                out.extend(os.listdir(d))
        return out


@pytest.fixture
def g2(tmpdir, ailab, monkeypatch):
    return G2(tmpdir, ailab, monkeypatch)


@pytest.fixture
def g2_offline(tmpdir, monkeypatch):
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.delenv("AILAB_API_BASE", raising=False)
    return G2(tmpdir, None, monkeypatch)

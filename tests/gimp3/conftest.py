"""Fixtures for the GIMP 3 adapter through the gi.repository.Gimp stand-ins (Python 3 only).

``g3``: a fresh GIMP 3 session with plug-ins/smart-beauty/smart-beauty.py queried and its procedures
installed in the stub PDB, pointed at the local AILab server through AILAB_API_KEY / AILAB_API_BASE,
with private config and temp folders.
"""
import os
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STUBS = os.path.join(REPO, "tests", "stubs")
PLUGIN = os.path.join(REPO, "plug-ins", "smart-beauty", "smart-beauty.py")
if STUBS not in sys.path:
    sys.path.insert(0, STUBS)


def load_plugin():
    """Run the plug-in file like GIMP does when it queries it (its last line is Gimp.main(...)), in a
    fresh process as far as the plug-in can tell: its module (smart_beauty_gimp3) is imported anew.
    Returns that module (the host class and the procedures)."""
    import importlib.util
    name = "smart_beauty_gimp3_plugin"
    for old in (name, "smart_beauty_gimp3"):
        sys.modules.pop(old, None)
    spec = importlib.util.spec_from_file_location(name, PLUGIN)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return sys.modules["smart_beauty_gimp3"]


class G3:
    def __init__(self, tmp_path, ailab, monkeypatch, clock=None):
        """``clock``: the time the plug-in's jobs run on (its host carries it): a virtual clock unless
        a test needs the real one (the GIMP main thread's progress over a job that takes real time)."""
        from virtual_clock import VirtualClock
        self.clock = VirtualClock() if clock is None else clock
        from gi.repository import Gimp, GimpUi
        from smart_beauty import gimpbatch, layerjob
        self.Gimp, self.GimpUi, self.layerjob, self.gimpbatch = Gimp, GimpUi, layerjob, gimpbatch
        self.root = str(tmp_path)
        self.tempdir = os.path.join(self.root, "tmp")
        self.config = os.path.join(self.root, "config")
        os.makedirs(self.tempdir)
        os.makedirs(self.config)
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
        monkeypatch.setattr(GimpUi, "RESPONDER", GimpUi.RESPONDER)
        del GimpUi.dialogs[:]
        self.session = Gimp._reset(os.path.join(self.root, "profile"), os.path.join(self.root, "gimp-tmp"))
        self.monkeypatch = monkeypatch
        self.plugin = self.reload()
        self.pdb = Gimp.get_pdb()

    def reload(self):
        """A new run of the plug-in process: query it again (its procedures replace the old ones)."""
        self.plugin = load_plugin()
        self.plugin.GimpHost.clock = self.clock
        return self.plugin

    def real_time(self):
        """Run the plug-in's jobs on the real clock from now on (a test of what GIMP's main thread does
        while a job takes real time)."""
        from smart_beauty.clock import SYSTEM
        self.clock = self.plugin.GimpHost.clock = SYSTEM

    def run(self, name, run_mode=None, **props):
        """Call a procedure like python-fu-eval does: lookup, create_config, set properties, run."""
        proc = self.pdb.lookup_procedure(name)
        config = proc.create_config()
        if run_mode is None:
            run_mode = self.Gimp.RunMode.NONINTERACTIVE
        config.set_property("run-mode", run_mode)
        for key, value in props.items():
            key = key.replace("_", "-")
            if key == "drawables":
                config.set_core_object_array("drawables", value)
            else:
                config.set_property(key, value)
        return proc.run(config)

    def leftovers(self):
        out = []
        for d in (self.tempdir, self.session.tempdir):
            if os.path.isdir(d):
                out.extend(os.listdir(d))
        return out


@pytest.fixture
def g3(tmp_path, ailab, monkeypatch):
    return G3(tmp_path, ailab, monkeypatch)


@pytest.fixture
def g3_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    monkeypatch.delenv("AILAB_API_BASE", raising=False)
    return G3(tmp_path, None, monkeypatch)

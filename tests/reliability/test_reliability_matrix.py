"""The fault matrix over the CLI (one file, a batch) and both GIMP adapters on their stand-ins.

For every fault of ``matrix.FAULTS`` and every entry point: the exact messages a user gets, the
image / output files unchanged, no temp file left, whether the failing call was retried (and that
this matches the client's policy), all against the local AILab server over real HTTP. The observed
cell must equal the one recorded in ``outcomes.json`` (which ``docs/reliability.md`` is rendered
from); ``SB_RELIABILITY_RECORD=1`` records instead. Real GIMP 3 cells: tests/hosts/test_reliability_real_gimp.py.
"""
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import matrix
import netfaults
import numpy as np
import pytest
import urllib3.util.connection
from PIL import Image

from virtual_clock import VirtualClock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUBS = os.path.join(REPO, "tests", "stubs")
if STUBS not in sys.path:
    sys.path.insert(0, STUBS)
BAD_KEY = "wrong-key-0123456789abcdef"
LEVEL = 0.8


_load = matrix.load_module


# ------------------------------------------------------------------ one cell's set-up
class Cell:
    """Where one run goes (base URL, key, deadline, temp folder) and what it observed."""

    def __init__(self, spec, ailab, net, root, monkeypatch):
        self.spec, self.ailab, self.net, self.root, self.monkeypatch = spec, ailab, net, root, monkeypatch
        base = spec["base"]
        if base is None:
            self.base = ailab.url
        elif base == "wrong_path":
            self.base = ailab.url + "/v9"
        else:
            self.base = net["bases"][base]
        self.key = BAD_KEY if spec["key"] == "bad" else ailab.valid_key
        self.deadline = spec["deadline"]
        self.tmp = os.path.join(root, "tmp")
        os.makedirs(self.tmp)
        self.connects = 0
        self.together = None      # a _Together while the files of a batch are to be sent together
        for name, params in spec["inject"]:
            ailab.inject(name, **params)
        net["tls"].reset()
        # connection attempts to the faulty address, to see transport-level retries
        real = urllib3.util.connection.create_connection
        port = self.base.rsplit(":", 1)[-1].split("/")[0]

        def counting(address, *a, **kw):
            if str(address[1]) == port or address[0] == "no-such-host.invalid":
                self.connects += 1
                if self.together is not None:
                    self.together.wait()
            return real(address, *a, **kw)
        monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
        # Every cell runs on a virtual clock (retry pauses and deadlines take no wall time): the CLI's is
        # handed to cli.main, the GIMP adapters' host carries it; the adapters take the deadline from the
        # environment.
        self.clock = VirtualClock()
        monkeypatch.setenv("SMART_BEAUTY_CONFIG_DIR", os.path.join(root, "config"))
        monkeypatch.setenv("SMART_BEAUTY_DEADLINE", str(self.deadline))
        monkeypatch.setenv("AILAB_API_KEY", self.key)
        monkeypatch.setenv("AILAB_API_BASE", self.base)

    def phase_reached(self):
        stats = self.ailab.stats()
        if self.spec["cancel"] == "polled":
            return stats["counts"]["poll"] >= 1
        return any(f["hits"] >= 1 for f in stats["faults"])

    def retried(self, n_files, succeeded):
        base = self.spec["base"]
        if base == "tls":
            return self.net["tls"].connections > n_files
        if base in ("refused", "dns", "connect_timeout"):
            return self.connects > n_files
        stats = self.ailab.stats()
        counts = stats["counts"]
        hits = [f["hits"] for f in stats["faults"] if f["name"] not in ("delay",) or self.spec["cancel"] is None]
        if any(h > n_files for h in hits):
            return True
        if succeeded and any(h >= 1 for h in hits):
            return True   # a fault was met and the run still succeeded: the call was repeated
        return max(counts["submit"], counts["other"], counts["download"]) > n_files

    def temp_left(self, directory=None):
        directory = directory or self.tmp
        return sorted(n for n in os.listdir(directory) if n != ".filler")

    def norm(self, text):
        return matrix.normalize(text, [(self.root, "<work>"), (self.tmp, "<tmp>")])


class _Together:
    """Holds each of the first ``n`` connection attempts until all ``n`` are asked for.

    A batch starts its files one after the other and looks for finished jobs in between; when the
    first file's answer is back before the second file is started (a busy machine), a refusal that
    stops the batch (a wrong key, no credits) leaves the second file unsent. Both are right, but a
    recorded cell must not depend on timing: so the batch cells send their files together, as they
    do on an idle machine (tests/core/test_batch.py and tests/cli/test_cli.py cover the stop itself).
    ``missed`` is set when fewer than ``n`` attempts came within ``timeout`` seconds."""

    def __init__(self, n, timeout=10.0):
        self._barrier = threading.Barrier(n, timeout=timeout)
        self._left = n
        self._lock = threading.Lock()
        self.missed = False

    def wait(self):
        with self._lock:
            if self._left == 0:
                return
            self._left -= 1
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            self.missed = True


def _texture(w, h, seed):
    rs = np.random.RandomState(seed)
    return rs.randint(0, 256, size=(h, w, 3)).astype(np.uint8)


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ------------------------------------------------------------------ entry points
def run_cli(cell, n_files, capsys):
    from smart_beauty_cli import cli

    src = os.path.join(cell.root, "in")
    out = os.path.join(cell.root, "out")
    os.makedirs(src)
    files = []
    for i in range(n_files):
        path = os.path.join(src, "p%d.png" % i)
        Image.fromarray(_texture(96, 72, i + 1)).save(path)
        files.append(path)
    before = {p: _digest(p) for p in files}
    argv = ["retouch"] + files + ["-o", out, "--backend", "cloud", "--api-base", cell.base,
                                  "--deadline", str(cell.deadline), "--quiet"]
    if cell.spec["cancel"]:
        rc, err = _cli_interrupted(cell, argv)
    else:
        cell.monkeypatch.setattr(tempfile, "tempdir", cell.tmp)
        capsys.readouterr()
        cell.together = _Together(n_files) if n_files > 1 else None
        rc = cli.main(argv, clock=cell.clock)
        err = capsys.readouterr().err
        assert cell.together is None or not cell.together.missed, "the files were not sent together"
        cell.together = None
    from smart_beauty.batch import LEDGER
    outputs = sorted(n for n in os.listdir(out) if n != LEDGER) if os.path.isdir(out) else []
    inputs_same = all(_digest(p) == d for p, d in before.items())
    succeeded = rc == 0
    if succeeded:
        image = "output written" if outputs == ["p%d.beauty.png" % i for i in range(n_files)] else (
            "WRONG OUTPUTS %s" % outputs)
    else:
        image = "no output, input unchanged" if not outputs and inputs_same else "CHANGED: outputs %s" % outputs
    lines = [cell.norm(line) for line in err.splitlines() if line.strip()]
    if n_files > 1:   # files run concurrently: per-file lines in file order, then the rest as printed
        per_file = sorted(line for line in lines if line.startswith("<work>/in/"))
        lines = per_file + [line for line in lines if not line.startswith("<work>/in/")]
    return {"result": "succeeded" if succeeded else "failed", "status": "exit %d" % rc, "messages": lines,
            "image": image, "temp_left": cell.temp_left(), "retried": cell.retried(n_files, succeeded)}


def _cli_interrupted(cell, argv):
    """Ctrl-C (SIGINT) to a real `smart-beauty` process once the phase is reached."""
    env = dict(os.environ, TMPDIR=cell.tmp, PYTHONPATH=os.path.join(REPO, "lib"))
    proc = subprocess.Popen([sys.executable, "-m", "smart_beauty_cli.cli"] + argv, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not cell.phase_reached():
            assert time.monotonic() < deadline and proc.poll() is None, "phase never reached"
            time.sleep(0.05)
        # The CLI's first Ctrl-C stops submitting and lets jobs in flight finish; the second abandons them.
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def run_gimp2(cell, tmp_path):
    g2mod = _load(os.path.join(REPO, "tests", "gimp2", "conftest.py"), "sb_reliability_gimp2_conftest")
    import fakecore as core
    from scenes import portrait, undo_balanced

    g2 = g2mod.G2(tmp_path / "g2", cell.ailab, cell.monkeypatch, clock=cell.clock)
    # G2 points at the server with the valid key; the cell's own settings win.
    cell.monkeypatch.setenv("AILAB_API_KEY", cell.key)
    cell.monkeypatch.setenv("AILAB_API_BASE", cell.base)
    cell.monkeypatch.setenv("SMART_BEAUTY_DEADLINE", str(cell.deadline))
    cell.monkeypatch.setattr(tempfile, "tempdir", cell.tmp)
    pdb = g2.pdb
    img = pdb.gimp_image_new(64, 48, core.RGB)
    bg = pdb.gimp_layer_new(img, 64, 48, core.RGB_IMAGE, "Background", 100.0, 28)
    bg._m.pixels[...] = portrait(48, 64, 2)
    pdb.gimp_image_insert_layer(img, bg, None, 0)
    face = pdb.gimp_layer_new(img, 40, 30, core.RGB_IMAGE, "face", 100.0, 28)
    face._m.pixels[...] = portrait(30, 40, 4)
    pdb.gimp_image_insert_layer(img, face, None, 0)
    pdb.gimp_layer_set_offsets(face, 7, 5)
    img._m.undo_steps = 0
    before = core.snapshot(img._m)
    error = None
    try:
        pdb.python_fu_smart_beauty(img, face, LEVEL, 0)
    except Exception as e:  # gimpfu: a raising plug-in is an "execution error" for the caller
        error = "%s: %s" % (type(e).__name__, e)
    after = core.snapshot(img._m)
    messages = [cell.norm(m) for m in g2.session.messages]
    succeeded = not messages and error is None
    if succeeded:
        image = "new layer added" if len(after["layers"]) == 3 and undo_balanced(img._m) else "WRONG RESULT"
    else:
        image = "unchanged" if after == before and undo_balanced(img._m) else "CHANGED"
    return {"result": "succeeded" if succeeded else "failed",
            # pygimp turns the exception gimpfu lets through into EXECUTION_ERROR for the caller
            "status": ("EXECUTION_ERROR" if error == "RuntimeError: execution error" else "raised %s" % error)
            if error else "returned; message shown" if messages else "returned",
            "messages": messages, "image": image, "temp_left": cell.temp_left() + g2.leftovers(),
            "retried": cell.retried(1, succeeded)}


def run_gimp3(cell, tmp_path):
    g3mod = _load(os.path.join(REPO, "tests", "gimp3", "conftest.py"), "sb_reliability_gimp3_conftest")
    import fakecore as core
    from scenes import portrait, undo_balanced

    g3 = g3mod.G3(tmp_path / "g3", cell.ailab, cell.monkeypatch, clock=cell.clock)
    cell.monkeypatch.setenv("AILAB_API_KEY", cell.key)
    cell.monkeypatch.setenv("AILAB_API_BASE", cell.base)
    cell.monkeypatch.setenv("SMART_BEAUTY_DEADLINE", str(cell.deadline))
    cell.monkeypatch.setattr(tempfile, "tempdir", cell.tmp)
    Gimp = g3.Gimp
    img = Gimp.Image.new(64, 48, Gimp.ImageBaseType.RGB)
    bg = Gimp.Layer.new(img, "Background", 64, 48, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    bg._m.pixels[...] = portrait(48, 64, 2)
    img.insert_layer(bg, None, 0)
    face = Gimp.Layer.new(img, "face", 40, 30, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    face._m.pixels[...] = portrait(30, 40, 4)
    img.insert_layer(face, None, 0)
    face.set_offsets(7, 5)
    img._m.undo_steps = 0
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face], beauty_level=LEVEL)
    status = Gimp.PDBStatusType(int(result.index(0)))
    error = result.index(1) if result.length() > 1 else None
    after = core.snapshot(img._m)
    messages = [cell.norm(m) for m in g3.session.messages]
    if error is not None and getattr(error, "message", None):
        messages.append("[error status] " + cell.norm(error.message))
    succeeded = status == Gimp.PDBStatusType.SUCCESS
    if succeeded:
        image = "new layer added" if len(after["layers"]) == 3 and undo_balanced(img._m) else "WRONG RESULT"
    else:
        image = "unchanged" if after == before and undo_balanced(img._m) else "CHANGED"
    return {"result": "succeeded" if succeeded else "failed", "status": status.name, "messages": messages,
            "image": image, "temp_left": cell.temp_left() + g3.leftovers(), "retried": cell.retried(1, succeeded)}


# ------------------------------------------------------------------ the matrix
ENTRY_POINTS = ["cli_single", "cli_batch", "gimp2", "gimp3"]


@pytest.mark.timeout(120)   # never hangs (the longest cell takes a few seconds)
@pytest.mark.parametrize("fid,entry", [(f, e) for f in matrix.FAULT_IDS for e in ENTRY_POINTS if matrix.applies(f, e)])
def test_fault_matrix(fid, entry, ailab, net, recorder, tmp_path, monkeypatch, capsys):
    spec = matrix.BY_ID[fid]
    if spec["disk_full"] and not netfaults.can_mount():
        pytest.skip("LOUD: disk-full cells need root to mount a tiny tmpfs")
    root = str(tmp_path)
    cell = Cell(spec, ailab, net, root, monkeypatch)
    if spec["disk_full"]:
        with netfaults.full_tmpfs(free_kib=0) as full:
            os.rmdir(cell.tmp)
            cell.tmp = full
            outcome = _run(entry, cell, capsys, tmp_path)
            outcome["temp_left"] = cell.temp_left(full) if not outcome["temp_left"] else outcome["temp_left"]
    else:
        outcome = _run(entry, cell, capsys, tmp_path)

    # invariants that hold for every cell, whatever was recorded
    text = " ".join(outcome["messages"])
    assert ailab.valid_key not in text and BAD_KEY not in text, text
    assert "Traceback" not in text, text
    assert outcome["temp_left"] == [], outcome
    if spec["expect"] is None:
        assert outcome["result"] == "succeeded", outcome
    else:
        assert outcome["result"] == "failed", outcome
        assert outcome["image"] in ("unchanged", "no output, input unchanged"), outcome
        assert outcome["messages"], outcome
        if entry in ("gimp2", "gimp3"):   # the user reads the sentence once, not twice
            assert len(outcome["messages"]) == 1, outcome
    assert outcome["retried"] == spec["retried"], (outcome, spec["why"])
    if spec["base"] == "tls":
        assert net["tls"].heads == [], "a request went through an untrusted TLS connection"
    recorder.check(fid, entry, outcome)


def _run(entry, cell, capsys, tmp_path):
    if entry == "cli_single":
        return run_cli(cell, 1, capsys)
    if entry == "cli_batch":
        return run_cli(cell, 2, capsys)
    if entry == "gimp2":
        return run_gimp2(cell, tmp_path)
    return run_gimp3(cell, tmp_path)

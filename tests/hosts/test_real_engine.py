"""The real offline engine where users are: a fresh Debian 13 (Python 3.13, GIMP 3.0.4), root ``d13``,
Debian sid (Python 3.14, GIMP 3.2.6), root ``gimp32``, and Debian 11 (Python 3.9, GIMP 2.10.22), root
``gimp210``; every test runs in each.

1. README's first command, read from README.md and run exactly as written with ``sh -c`` in a copy
   of the checkout inside the root, with a fresh HOME: install.sh makes the venv with the root's
   Python, installs the engine from PyPI, and the CLI retouches ``samples/portrait.jpg``.
2. Then the root's GIMP: the plug-in installed into a profile by the same checkout's install.sh,
   backend ``local``: GIMP starts ``smart-beauty serve`` from that venv (the real engine) through the
   menu procedure and the batch procedure; the new layer is retouched where the face is and nothing
   else moved.
3. README's second command (the whole test suite) in the same root, on its Python.

No SimpleEngine anywhere (the server reports which engine it ran).
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hosts import GIMP3_EXPORT_LAYER, REPO, Bind, mounted_below, record_time
from PIL import Image

PIP_CACHE = REPO / "tests" / "hosts" / "cache" / "pip-d13"   # PyPI downloads, kept between runs
# This workplace reaches PyPI through a TLS proxy whose CA only the host's trust store holds: each run
# sees the host's /etc/ssl/certs in place of the root's (a bind mount for that run; the root's own files
# are not changed), as a user's machine sees its own.
HOST_CERTS = Path("/etc/ssl/certs")
SHARED = REPO.parent / "shared"     # reference files some tests re-check when they are beside the checkout


def run_env(**more: str) -> dict:
    # PIP_CERT: pip on Python 3.9 cannot use the system trust store (its truststore support needs 3.10) and
    # verifies with its own certifi bundle, which lacks this workplace proxy's CA; pointed at the (host's)
    # system bundle, as on 3.13/3.14 where pip reads that store anyway. A machine without such a proxy
    # needs nothing of the kind.
    env = {"HOME": "/sb/work/home", "PIP_CACHE_DIR": "/sb/pipcache", "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"}
    env.update(more)
    return env


def binds(work: Path, system: bool = False) -> list:
    """``work`` at /sb/work (and its tmp/ at /tmp: the root stays as built), the pip cache, the host's CA
    store; with ``system`` also /proc, a read-only
    /sys and ../shared, which the whole test suite expects of a machine (mounts, an unwritable folder)."""
    (work / "tmp").mkdir(exist_ok=True)
    (work / "tmp").chmod(0o1777)
    b = [Bind(work, "/sb/work"), Bind(PIP_CACHE, "/sb/pipcache"), Bind(work / "tmp", "/tmp")]
    if HOST_CERTS.is_dir():
        b.append(Bind(HOST_CERTS, "/etc/ssl/certs", ro=True))
    if system:
        b += [Bind(Path("/proc"), "/proc"), Bind(Path("/sys"), "/sys", ro=True)]
        if SHARED.is_dir():
            b.append(Bind(SHARED, "/sb/work/shared", ro=True))
    return b


def readme_first_command() -> str:
    """The first line of README's 'Set up and try it' block (install + retouch)."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Set up and try it"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return block.strip().splitlines()[0]


def copy_checkout(dest: Path) -> None:
    """The files a clone of this checkout holds (tracked + new, not ignored), as in a fresh clone."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=str(REPO),
                           stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if not src.is_file():
            continue   # deleted in the work tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
        target.chmod(src.stat().st_mode & 0o777)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1) > 0


#: root -> (its Python, its GIMP, what it is)
ROOTS = {"d13": ("3.13", "3.0", "a fresh Debian 13"), "gimp32": ("3.14", "3.2", "Debian sid"),
         "gimp210": ("3.9", "2.10", "Debian 11")}


@pytest.fixture(scope="module", params=sorted(ROOTS))
def root(request):
    """(name, host runner) of each root in turn."""
    return request.param, request.getfixturevalue(request.param + "_host")


@pytest.fixture(scope="module")
def readme_install(root, tmp_path_factory):
    """Run README's first command in the root once; return (work dir, result, stop)."""
    name, host = root
    work = tmp_path_factory.mktemp(name)
    work.chmod(0o755)
    src, home = work / "src", work / "home"
    copy_checkout(src)
    home.mkdir()
    PIP_CACHE.mkdir(parents=True, exist_ok=True)
    cmd = readme_first_command()
    assert cmd.startswith("./install.sh --with-engine && ") and "smart-beauty retouch" in cmd, cmd
    t0 = time.monotonic()
    res = host.run(["sh", "-c", cmd], cwd="/sb/work/src", timeout=900, binds=binds(work), env=run_env())
    record_time("README's first command in %s (Python %s; pip cache warm or cold)" % (ROOTS[name][2], ROOTS[name][0]),
                time.monotonic() - t0)
    # the retouch ran the engine in its own process and left no server behind: 'serve --stop' finds none
    # (and would end one, so GIMP below starts its own and nothing of ours outlives the test in the root)
    stop = host.run([".venv/bin/smart-beauty", "serve", "--stop"], cwd="/sb/work/src", timeout=60,
                    binds=binds(work), env=run_env())
    return work, res, stop


def test_readme_first_command_in_a_fresh_root(root, readme_install):
    work, res, stop = readme_install
    res.check()
    out = res.output
    assert "offline engine (in this process)" in out, out[-3000:]
    assert "No offline engine server was running." in stop.output, stop.output
    assert "Python %s" % ROOTS[root[0]][0] in out, out[-3000:]     # the venv is the root's own Python
    assert "The local engine is installed (OpenCV 4." in out, out[-3000:]
    for noise in ("dependency conflicts", "Traceback", "XNNPACK", "W0000", "ERROR"):
        assert noise not in out, "%r in the output:\n%s" % (noise, out[-4000:])
    src = np.asarray(Image.open(work / "src" / "samples" / "portrait.jpg").convert("RGB"))
    got = np.asarray(Image.open(work / "src" / "out" / "portrait.beauty.png").convert("RGB"))
    assert got.shape == src.shape
    diff = changed(src, got)
    # retouched around Eileen Collins's face (x ~175-275, y ~75-180), nothing far from it
    assert diff[75:180, 175:275].mean() > 0.3, diff[75:180, 175:275].mean()
    ys, xs = np.nonzero(diff)
    assert 100 < xs.mean() < 350 and 60 < ys.mean() < 300
    assert not diff[:, :60].any() and not diff[:, 450:].any() and not diff[400:].any()


GIMP_PROGRAM = GIMP3_EXPORT_LAYER + r'''
import json
NI = Gimp.RunMode.NONINTERACTIVE
R = {}
pdb = Gimp.get_pdb()
img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/src/samples/portrait.jpg"))
src = img.get_layers()[0]
proc = pdb.lookup_procedure("python-fu-smart-beauty")
cfg = proc.create_config()
cfg.set_property("run-mode", NI)
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("beauty-level", 0.8)
cfg.set_property("backend", "local")
res = proc.run(cfg)
R["single"] = {"status": res.index(0).value_nick, "error": str(res.index(1)) if res.length() > 1 else None,
               "layers": [l.get_name() for l in img.get_layers()]}
export_layer(img.get_layers()[0], "/sb/work/layer.png")
export_layer(src, "/sb/work/source.png")
batch = pdb.lookup_procedure("python-fu-smart-beauty-batch")
cfg = batch.create_config()
cfg.set_property("run-mode", NI)
cfg.set_property("input", "/sb/work/photos")
cfg.set_property("output-folder", "/sb/work/retouched")
cfg.set_property("beauty-level", 0.8)
cfg.set_property("backend", "local")
res = batch.run(cfg)
R["batch"] = {"status": res.index(0).value_nick, "error": str(res.index(1)) if res.length() > 1 else None}
try:
    R["server"] = json.load(open("/sb/work/home/.config/smart-beauty/local-server.json"))
except Exception as e:
    R["server"] = repr(e)
json.dump(R, open("/sb/work/result.json", "w"))
'''


#: the same for GIMP 2.10 (Python-Fu, Python 2.7): one layer, then the batch procedure over a folder
GIMP210_PROGRAM = r'''
import json
R = {}
path = "/sb/work/src/samples/portrait.jpg"
img = pdb.gimp_file_load(path, path)
src = img.active_layer
try:
    pdb.python_fu_smart_beauty(img, src, 0.8, 0)
    R["single"] = {"status": "success", "error": None}
except RuntimeError as e:
    R["single"] = {"status": "execution error", "error": str(e)}
R["single"]["layers"] = [l.name for l in img.layers]
pdb.file_png_save_defaults(img, img.layers[0], "/sb/work/layer.png", "/sb/work/layer.png")
pdb.file_png_save_defaults(img, src, "/sb/work/source.png", "/sb/work/source.png")
try:
    pdb.python_fu_smart_beauty_batch("/sb/work/photos", "/sb/work/retouched", 0.8, 0)
    R["batch"] = {"status": "success", "error": None}
except RuntimeError as e:
    R["batch"] = {"status": "execution error", "error": str(e)}
try:
    R["server"] = json.load(open("/sb/work/home/.config/smart-beauty/local-server.json"))
except Exception as e:
    R["server"] = repr(e)
json.dump(R, open("/sb/work/result.json", "w"))
'''


def test_real_gimp_retouches_with_the_real_engine(root, readme_install):
    work, res, _stop = readme_install
    res.check()
    root_name, gimp = root
    python, gimp_version, _what = ROOTS[root_name]
    profile = gimp.new_profile(work / "profile")
    inst = gimp.run(["./install.sh", "--gimp-dir", "/sb/work/profile", "--gimp-version", gimp_version],
                    cwd="/sb/work/src", binds=binds(work), env=run_env(), timeout=300)
    inst.check()
    entry = ("smart_beauty", "smart_beauty.py") if gimp_version == "2.10" else ("smart-beauty", "smart-beauty.py")
    assert (profile / "plug-ins" / entry[0] / entry[1]).exists(), inst.output
    photos = work / "photos"
    photos.mkdir()
    for name in ("portrait.jpg", "hopper.jpg"):
        (photos / name).write_bytes((REPO / "samples" / name).read_bytes())
    (work / "retouched").mkdir()
    t0 = time.monotonic()
    program, env = GIMP_PROGRAM, run_env()
    if gimp_version == "2.10":   # gimpfu: its procedures keep the service's arguments; the backend from the environment
        program, env = GIMP210_PROGRAM, run_env(SMART_BEAUTY_BACKEND="local")
    run = gimp.batch(work, textwrap.dedent(program), timeout=600, env=env)
    record_time("GIMP %s + the real engine on Python %s (%s): one layer + a batch of 2" % (gimp_version, python,
                                                                                           root_name),
                time.monotonic() - t0)
    stop = gimp.run([".venv/bin/smart-beauty", "serve", "--stop"], cwd="/sb/work/src", timeout=60,
                    binds=binds(work), env=run_env())     # the server GIMP started: the CLI stops it too
    rj = work / "result.json"
    log = work / "home" / ".config" / "smart-beauty" / "local-server.log"
    detail = "%s\n--- server log\n%s\n--- gimp\n%s" % (
        rj.read_text() if rj.exists() else "-", log.read_text()[-3000:] if log.exists() else "-", run.output[-4000:])
    assert rj.exists(), detail
    r = json.loads(rj.read_text())
    assert r["single"]["status"] == "success", detail
    assert r["single"]["layers"][0] == "Smart Beauty (level 0.80)", detail
    assert len(r["single"]["layers"]) == 2, detail
    assert r["server"]["engine"] == "offline", detail            # the real engine, not the SimpleEngine
    assert "Stopped the offline engine's background server." in stop.output, stop.output
    source = np.asarray(Image.open(work / "source.png").convert("RGB"))
    layer = np.asarray(Image.open(work / "layer.png").convert("RGB"))
    diff = changed(source, layer)
    assert diff[75:180, 175:275].mean() > 0.3 and not diff[:, :60].any() and not diff[400:].any(), detail
    assert r["batch"]["status"] == "success", detail
    for name in ("portrait", "hopper"):
        out = work / "retouched" / ("%s.beauty.png" % name)
        assert out.exists(), detail
        a = np.asarray(Image.open(photos / ("%s.jpg" % name)).convert("RGB"))
        b = np.asarray(Image.open(out).convert("RGB"))
        assert a.shape == b.shape and changed(a, b).mean() > 0.01, name


def readme_test_command() -> str:
    """The second line of README's 'Set up and try it' block (the whole test suite)."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Set up and try it"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()[1]


@pytest.mark.timeout(2700)
def test_readme_test_command_in_the_root(root, readme_install):
    """README's second command in the same root, on its Python (3.13, 3.14): every tier but the real hosts
    (a chroot cannot build chroots; declared with SB_HOSTS_DISABLE, so they are skipped loudly, not
    silently), the offline engine's tests included (test.sh requires them to run). On Debian 11's Python 3.9
    (the product's oldest, older than the test tools allow) it refuses in one sentence."""
    work, res, _stop = readme_install
    res.check()
    name, host = root
    cmd = readme_test_command()
    assert cmd == "./test.sh", cmd
    t0 = time.monotonic()
    run = host.run(["sh", "-c", cmd + " -q -p no:cacheprovider"], cwd="/sb/work/src", timeout=2400,
                   binds=binds(work, system=True), env=run_env(SB_HOSTS_DISABLE="nested inside the %s root" % name))
    record_time("README's ./test.sh in %s (Python %s)" % (ROOTS[name][2], ROOTS[name][0]), time.monotonic() - t0)
    leaked = mounted_below(host.root)       # e.g. a disk-full test's tmpfs, had a test been killed
    for m in reversed(leaked):
        subprocess.run(["umount", "-l", m])
    assert not leaked, "mounts left inside the root: %s" % leaked
    out = run.output
    if ROOTS[name][0] == "3.9":
        # the venv README's first command made is on Python 3.9, which the product supports and the test
        # tools do not: one sentence, nothing installed
        assert run.returncode == 3, out[-6000:]
        assert "the test tools need Python 3.10 or newer (Smart Beauty itself runs on 3.9)" in out, out[-3000:]
        assert "installing the project" not in out and "Traceback" not in out, out[-3000:]
        return
    assert run.returncode == 0, out[-6000:]
    summary = [line for line in out.splitlines() if re.search(r"\d+ passed", line)]
    assert summary, out[-3000:]
    assert " failed" not in summary[-1] and " error" not in summary[-1], summary[-1]
    # the engine tier ran on the root's Python (test.sh's -ra lists every skip with its file)
    assert not [line for line in out.splitlines() if line.startswith("SKIPPED") and "tests/engine" in line], out
    assert "OFFLINE ENGINE NOT INSTALLED" not in out, out[-3000:]

"""The self-contained plug-in zips (scripts/build-plugin-zip.py), unzipped by hand into the real GIMPs.

No install.sh on the GIMP side: each zip is extracted into a fresh profile's ``plug-ins`` folder the way
``unzip`` or a file manager does it (modes kept), then python-fu-smart-beauty runs in the real GIMP
3.0.4, 3.2.x (smart-beauty-gimp3.zip) and 2.10.22 (smart-beauty-gimp2.10.zip) against the local AILab
server and must add its layer. The GIMP 3 chroots have no requests of their own (gimp3) or Debian's
(gimp32): the zip's vendor/ is what the plug-in loads first either way.
"""
import importlib.util
import os
import stat
import zipfile

import pytest
from hosts import GIMPS, REPO, WHEEL_CACHE
from test_e2e_real_gimp import FACE_OFFSETS, run_single, write_inputs


def _builder():
    spec = importlib.util.spec_from_file_location("build_plugin_zip", str(REPO / "scripts" / "build-plugin-zip.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    import sys
    out = tmp_path_factory.mktemp("zips")
    env = dict(os.environ, SB_WHEEL_CACHE=str(WHEEL_CACHE), SB_PYTHON=sys.executable)
    build = _builder().build
    return {"3": build("3", str(out), env=env), "2.10": build("2.10", str(out), env=env)}


def unzip_like_unzip(zip_path, dest):
    """Extract keeping each entry's Unix mode, as unzip(1) and file managers do (zipfile does not)."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = z.extract(info, str(dest))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                os.chmod(target, stat.S_IMODE(mode))


def test_zip_holds_one_plugin_folder_with_an_executable_plugin(zips):
    for gimp, folder in (("3", "smart-beauty"), ("2.10", "smart_beauty")):
        with zipfile.ZipFile(zips[gimp]) as z:
            names = z.namelist()
            assert {n.split("/")[0] for n in names} == {folder}, names[:5]
            plugin = z.getinfo("%s/%s.py" % (folder, folder))
            assert stat.S_IMODE(plugin.external_attr >> 16) == 0o755
            assert "%s/lib/smart_beauty/layerjob.py" % folder in names
            assert "%s/vendor/requests/__init__.py" % folder in names
            assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
            assert b"/work" not in z.read("%s/INSTALLED.txt" % folder)   # no builder paths


@pytest.mark.parametrize("root", list(GIMPS))
def test_unzipped_by_hand_into_a_profile_it_retouches(root, request, zips, host_work, ailab):
    gimp = request.getfixturevalue(root + "_host")
    profile = gimp.new_profile(host_work / "profile")
    (profile / "plug-ins").mkdir(exist_ok=True)
    unzip_like_unzip(zips["3" if gimp.major == 3 else "2.10"], profile / "plug-ins")
    write_inputs(host_work)
    r, res = run_single(gimp, host_work, ailab)
    assert r["status"] == "success", (r, res.output[-3000:])
    new = r["after"][r["new_index"]]
    assert new["name"].startswith("Smart Beauty") and new["offsets"] == list(FACE_OFFSETS), new
    assert r["tmp_left"] == []
    assert ailab.stats()["counts"]["submit"] >= 1

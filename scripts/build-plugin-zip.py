#!/usr/bin/env python3
"""Build self-contained plug-in zips, for installing by hand: unzip one into a GIMP profile's
``plug-ins`` folder and restart GIMP.

    python3 scripts/build-plugin-zip.py [--out dist] [--gimp 3] [--gimp 2.10]

``smart-beauty-gimp3.zip`` holds ``smart-beauty/`` (smart-beauty.py, lib/smart_beauty, vendor/ with
requests and its pure-Python set), for GIMP 3.0 and 3.2 on Linux, Windows and macOS;
``smart-beauty-gimp2.10.zip`` holds ``smart_beauty/`` (the gimpfu plug-in, lib/, the pinned Python 2.7
requests set). The folders are made by ``install.py --gimp-dir <scratch profile> --vendor always``, so
a zip holds exactly what an install puts in a profile. The plug-in file is stored with mode 0755 (GIMP
on Linux and macOS only runs executable plug-ins; ``unzip`` and file managers keep the mode). Entries
are sorted and dated 1980-01-01, so the same sources give the same bytes. Needs, unless the wheels are
cached (``SB_WHEEL_CACHE``), pip and PyPI to fetch the requests wheels.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = {"3": "smart-beauty", "2.10": "smart_beauty"}       # the plug-in folder = the plug-in file's name
STAMP = (1980, 1, 1, 0, 0, 0)


def build(gimp, out_dir, env=None):
    """Build the zip for GIMP ``gimp`` ("3" or "2.10") in ``out_dir``; returns its path."""
    folder = FOLDER[gimp]
    with tempfile.TemporaryDirectory(prefix="sb-zip-") as scratch:
        profile = os.path.join(scratch, "profile")
        os.makedirs(profile)
        subprocess.run([sys.executable, os.path.join(REPO, "install.py"), "--gimp-dir", profile, "--gimp-version",
                        "3.0" if gimp == "3" else "2.10", "--no-cli", "--vendor", "always"],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        src = os.path.join(profile, "plug-ins", folder)
        if not os.path.isfile(os.path.join(src, folder + ".py")):
            raise SystemExit("install.py made no %s/%s.py" % (folder, folder))
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "smart-beauty-gimp%s.zip" % gimp)
        entries = []
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if not name.endswith(".pyc"):
                    full = os.path.join(dirpath, name)
                    entries.append((os.path.relpath(full, profile + os.sep + "plug-ins"), full))
        tmp = path + ".part"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for arc, full in sorted(entries):
                info = zipfile.ZipInfo(arc.replace(os.sep, "/"), STAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                mode = 0o755 if arc == os.path.join(folder, folder + ".py") else 0o644
                info.external_attr = (0o100000 | mode) << 16
                with open(full, "rb") as f:
                    data = f.read()
                if os.path.basename(arc) == "INSTALLED.txt":
                    # what the installer notes, less the builder's path and clock (same sources, same zip)
                    keep = [ln for ln in data.decode("utf-8").splitlines() if ln.startswith(("commit=", "gimp="))]
                    data = ("\n".join(keep + ["source=%s" % os.path.basename(path)]) + "\n").encode("utf-8")
                z.writestr(info, data)
        os.replace(tmp, path)
        return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "dist"))
    ap.add_argument("--gimp", action="append", choices=sorted(FOLDER), help="default: both")
    a = ap.parse_args(argv)
    for gimp in a.gimp or ["3", "2.10"]:
        print(build(gimp, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

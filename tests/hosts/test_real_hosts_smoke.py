"""Smoke tiers: the real hosts work at all (before any Smart Beauty code is involved).

- real GIMP 3.0.4 and 3.2.x run a python-fu-eval batch (create an image, a layer, export a PNG);
- real GIMP 2.10.22 runs a gimpfu python-fu-eval batch and a gimpfu plug-in registered from a profile;
- real Python 2.7.18 runs pytest 4.6 with requests/numpy/Pillow and reaches a server on the host.
"""

import http.server
import json
import textwrap
import threading
import time

import pytest
from hosts import GIMPS, record_time
from PIL import Image

GIMP3S = [name for name, ver in GIMPS.items() if ver.startswith("3.")]


@pytest.fixture(params=GIMP3S)
def gimp3_any(request):
    """Each real GIMP 3 (3.0.4, 3.2.x)."""
    return request.getfixturevalue(request.param + "_host")


@pytest.fixture
def host_http_server():
    """A plain HTTP server on the host's loopback (chroots share it)."""

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b'{"hello": "from the host"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_gimp3_python_fu_eval_batch(gimp3_any, host_work):
    gimp3 = gimp3_any
    gimp3.new_profile(host_work / "profile")
    code = textwrap.dedent("""
        import json
        img = Gimp.Image.new(40, 30, Gimp.ImageBaseType.RGB)
        bg = Gimp.Layer.new(img, "bg", 40, 30, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
        img.insert_layer(bg, None, 0)
        Gimp.context_push()
        Gimp.context_set_foreground(Gegl.Color.new("rgb(1.0,0.0,0.0)"))
        bg.edit_fill(Gimp.FillType.FOREGROUND)
        Gimp.context_pop()
        ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path("/sb/work/out.png"), None)
        json.dump({"version": Gimp.version(), "saved": ok, "dir": Gimp.directory(),
                   "layers": [l.get_name() for l in img.get_layers()], "python": sys.version},
                  open("/sb/work/result.json", "w"))
        img.delete()
    """)
    t0 = time.monotonic()
    res = gimp3.batch(host_work, code).check()
    record_time("%s smoke batch" % gimp3.name, time.monotonic() - t0)
    r = json.loads((host_work / "result.json").read_text())
    assert r["version"].startswith(gimp3.version + "."), r
    assert r["saved"] is True and r["layers"] == ["bg"]
    assert r["dir"] == "/sb/work/profile"
    assert r["python"].startswith("3.")
    im = Image.open(host_work / "out.png")
    assert im.size == (40, 30)
    assert im.convert("RGBA").getpixel((5, 5)) == (255, 0, 0, 255)
    assert "batch command executed successfully" in res.output


def test_gimp3_batch_failure_exit_code(gimp3_any, host_work):
    gimp3_any.new_profile(host_work / "profile")
    res = gimp3_any.batch(host_work, "raise SystemExit('boom')\n")
    assert res.returncode == 64, res.output


def test_gimp3_reaches_host_loopback(gimp3_any, host_work, host_http_server):
    res = gimp3_any.run(["python3", "-c", "import sys, urllib.request; "
                         "print(urllib.request.urlopen(sys.argv[1]).read().decode())", host_http_server],
                        timeout=60).check()
    assert "from the host" in res.stdout


GIMPFU_PROBE = '''#!/usr/bin/env python2
# -*- coding: utf-8 -*-
from gimpfu import *


def sb_probe(image, drawable, name):
    layer = gimp.Layer(image, name, image.width, image.height, RGBA_IMAGE, 100, NORMAL_MODE)
    image.insert_layer(layer, position=0)
    gimp.set_foreground(0, 0, 255)
    pdb.gimp_edit_fill(layer, FOREGROUND_FILL)


register("python_fu_sb_probe", "probe", "probe", "t", "t", "2026", "SB _Probe...", "*",
         [(PF_IMAGE, "image", "Image", None), (PF_DRAWABLE, "drawable", "Drawable", None),
          (PF_STRING, "name", "Layer name", "probe")], [], sb_probe, menu="<Image>/Filters/Probe")
main()
'''


def test_gimp210_gimpfu_batch_and_plugin(gimp210_host, host_work):
    prof = gimp210_host.new_profile(host_work / "profile")
    plug = prof / "plug-ins" / "sb_probe" / "sb_probe.py"
    plug.parent.mkdir(parents=True)
    plug.write_text(GIMPFU_PROBE)
    plug.chmod(0o755)
    code = textwrap.dedent("""
        import json, sys
        img = pdb.gimp_image_new(32, 24, RGB)
        bg = gimp.Layer(img, "bg", 32, 24, RGB_IMAGE, 100, NORMAL_MODE)
        img.insert_layer(bg)
        pdb.python_fu_sb_probe(img, bg, "blue")
        names = [l.name for l in img.layers]
        flat = pdb.gimp_image_flatten(img)
        pdb.file_png_save_defaults(img, flat, "/sb/work/out.png", "out.png")
        json.dump({"version": list(gimp.version), "layers": names, "dir": gimp.directory,
                   "python": sys.version}, open("/sb/work/result.json", "w"))
        gimp.delete(img)
    """)
    t0 = time.monotonic()
    res = gimp210_host.batch(host_work, code).check()
    record_time("gimp210 smoke batch (+plug-in query)", time.monotonic() - t0)
    # GIMP 2.10's exit code is always 0: results are checked through files
    assert (host_work / "result.json").exists(), res.output
    r = json.loads((host_work / "result.json").read_text())
    assert r["version"][:2] == [2, 10], r
    assert r["layers"] == ["blue", "bg"]
    assert r["dir"] == "/sb/work/profile"
    assert r["python"].startswith("2.7.")
    im = Image.open(host_work / "out.png").convert("RGB")
    assert im.size == (32, 24) and im.getpixel((3, 3)) == (0, 0, 255)


def test_gimp210_failing_batch_is_visible_in_output(gimp210_host, host_work):
    gimp210_host.new_profile(host_work / "profile")
    res = gimp210_host.batch(host_work, "raise RuntimeError('boom-marker')\n")
    assert res.returncode == 0  # always 0 in GIMP 2.10
    assert "boom-marker" in res.output and "batch command experienced an execution error" in res.output


def test_py27_runs_pytest46(py27_host, host_work, host_http_server):
    (host_work / "test_py2_probe.py").write_text(textwrap.dedent('''
        # -*- coding: utf-8 -*-
        from __future__ import absolute_import, division, print_function, unicode_literals
        import os, sys
        import numpy, requests
        from PIL import Image

        def test_python2():
            assert sys.version_info[:2] == (2, 7)

        def test_numpy_pillow_pixels(tmpdir):
            a = numpy.zeros((4, 5, 3), dtype=numpy.uint8)
            a[1, 2] = (10, 20, 30)
            p = str(tmpdir.join("x.png"))
            Image.fromarray(a).save(p)
            b = numpy.asarray(Image.open(p))
            assert b.shape == (4, 5, 3) and tuple(b[1, 2]) == (10, 20, 30)
            assert numpy.__version__ == "1.16.6" and Image.__version__ == "6.2.2"

        def test_requests_to_host():
            r = requests.get(os.environ["SB_TEST_SERVER_URL"], timeout=10)
            assert r.json() == {"hello": "from the host"}
            assert requests.__version__ == "2.27.1"

        def test_py2_semantics():
            assert bytes(range(2)) != b"\\x00\\x01"   # the bug class vermin misses
    '''))
    t0 = time.monotonic()
    res = py27_host.run(["python2.7", "-m", "pytest", "-p", "no:cacheprovider", "-v", "test_py2_probe.py"],
                        binds=[(host_work, "/sb/work")], cwd="/sb/work",
                        env={"SB_TEST_SERVER_URL": host_http_server}, timeout=120).check()
    record_time("py27 smoke pytest", time.monotonic() - t0)
    assert "Python 2.7.18, pytest-4.6.11" in res.stdout
    assert "4 passed" in res.stdout

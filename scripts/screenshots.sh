#!/usr/bin/env bash
# Regenerate the README's GIMP pictures from the REAL GIMP 3 (Debian 13 chroot "gimp3x", see
# tests/hosts/README.md) running under Xvfb:
#   docs/images/gimp3-dialog.png        the Smart Beauty dialog, as GIMP 3 draws it
#   docs/images/gimp3-window.jpg        GIMP 3's window after OK: the new "Smart Beauty (level 0.80)" layer
#   docs/images/gimp3-before-after.jpg  the layer GIMP 3 exported before and after, side by side
# The retouch itself runs in the offline engine (the checkout's .venv, OpenCV) behind
# `smart-beauty serve` on the host's loopback, which the chroot shares; GIMP reaches it as its
# "cloud" service (AILAB_API_BASE), so the pixels are the real engine's.
#
# usage (as root, after ./install.sh --with-engine):  scripts/screenshots.sh [SAMPLE.jpg]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAMPLE=${1:-$REPO/samples/portrait.jpg}
PY=$REPO/.venv/bin/python
OUT=$REPO/docs/images
say() { printf '[screenshots] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { say "run as root (chroot)"; exit 1; }
[ -x "$PY" ] || { say "no $PY: run ./install.sh --with-engine first"; exit 1; }

ROOT=$(python3 "$REPO/tests/hosts/hosts.py" build gimp3x | awk '{print $1}')
say "root: $ROOT"
WORK=$(mktemp -d /tmp/sb-screens.XXXXXX)
SERVER_PID=
cleanup() {
    [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
[ -z "${SB_KEEP_WORK:-}" ] || trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; say "kept $WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/config" "$WORK/tmp" "$WORK/shots"
chmod 777 "$WORK/config" "$WORK/tmp" "$WORK/shots"

# the input: the sample, at most 900 px wide, as PNG
"$PY" - "$SAMPLE" "$WORK/in.png" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
im.thumbnail((900, 900))
im.save(sys.argv[2])
EOF

# the offline engine on the host's loopback (the chroot shares it)
"$REPO/.venv/bin/smart-beauty" serve --port 0 --engine offline >"$WORK/server.url" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/server.url" ] && break; sleep 0.1; done
URL=$(head -n1 "$WORK/server.url")
[ -n "$URL" ] || { cat "$WORK/server.log" >&2; say "the local server did not start"; exit 1; }
say "offline engine at $URL"

# a throw-away GIMP 3 profile with the plug-in installed by install.sh
PROFILE=$WORK/profile
cp -a "$ROOT/sb/profile-3.0" "$PROFILE"
bash "$REPO/install.sh" --gimp-dir "$PROFILE" --gimp-version 3.0 --no-cli --vendor never >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; exit 1; }

cat >"$WORK/gui.py" <<'EOF'
# runs inside the real GIMP 3 GUI (python-fu-eval batch command)
import json, os, time
NI = Gimp.RunMode.NONINTERACTIVE
R = {}
img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/in.png"))
src = img.get_layers()[0]
src.set_name("Portrait")
img.set_selected_layers([src])
Gimp.Display.new(img)
Gimp.displays_flush()
open("/sb/work/shots/ready", "w").close()
proc = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
cfg = proc.create_config()
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("beauty-level", 0.8)
res = proc.run(cfg)
R["status"] = res.index(0).value_nick
R["layers"] = [l.get_name() for l in img.get_layers()]
if R["status"] == "success":
    for name, layer in (("before", src), ("after", img.get_layers()[0])):
        tmp = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
        cp = Gimp.Layer.new_from_drawable(layer, tmp)
        tmp.insert_layer(cp, None, 0)
        Gimp.file_save(NI, tmp, Gio.File.new_for_path("/sb/work/shots/%s.png" % name), None)
        tmp.delete()
Gimp.displays_flush()
json.dump(R, open("/sb/work/shots/result.json", "w"))
open("/sb/work/shots/done", "w").close()
# wait for the window screenshot, then quit
for _ in range(300):
    if os.path.exists("/sb/work/shots/window.png"):
        break
    time.sleep(0.1)
img.clean_all()
Gimp.get_pdb().lookup_procedure("gimp-quit").run(Gimp.get_pdb().lookup_procedure("gimp-quit").create_config())
EOF

cat >"$WORK/gui.sh" <<'EOF'
#!/bin/sh
# inside the chroot: Xvfb, GIMP 3 with the batch program above, screenshots with xdotool + ImageMagick
set -u
S=/sb/work/shots
Xvfb :77 -screen 0 1280x860x24 -nolisten tcp >/sb/work/xvfb.log 2>&1 &
XPID=$!
export DISPLAY=:77
sleep 1
gimp-3.0 --no-splash --batch-interpreter=python-fu-eval -b 'exec(open("/sb/work/gui.py").read())' \
    >/sb/work/gimp.log 2>&1 &
GPID=$!
i=0
while [ ! -e $S/ready ] && [ $i -lt 900 ]; do sleep 0.2; i=$((i + 1)); done
# the dialog: a top-level window titled "Smart Beauty"
i=0; W=
while [ -z "$W" ] && [ $i -lt 300 ]; do
    W=$(xdotool search --onlyvisible --name '^Smart Beauty$' 2>/dev/null | head -n1); sleep 0.2; i=$((i + 1))
done
if [ -n "$W" ]; then
    sleep 1.5
    import -window "$W" $S/dialog.png
    xdotool windowactivate --sync "$W" 2>/dev/null || xdotool windowfocus "$W" 2>/dev/null || true
    xdotool key --window "$W" Return
else
    echo "no dialog window" >&2
    import -window root $S/nodialog.png
fi
i=0
while [ ! -e $S/done ] && [ $i -lt 900 ]; do sleep 0.2; i=$((i + 1)); done
sleep 2
import -window root $S/window.png
i=0
while kill -0 $GPID 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
kill $GPID 2>/dev/null
kill $XPID 2>/dev/null
exit 0
EOF
chmod 755 "$WORK/gui.sh"

say "running GIMP 3 under Xvfb in $ROOT"
python3 "$REPO/tests/hosts/hosts.py" run --bind "$WORK:/sb/work" --cwd /sb/work --timeout 400 \
    --env GIMP3_DIRECTORY=/sb/work/profile --env SMART_BEAUTY_CONFIG_DIR=/sb/work/config \
    --env TMPDIR=/sb/work/tmp --env AILAB_API_BASE="$URL" --env AILAB_API_KEY=sb-local-test-key \
    gimp3x -- sh /sb/work/gui.sh || true
cat "$WORK/shots/result.json" 2>/dev/null >&2 || { tail -n 40 "$WORK/gimp.log" "$WORK/xvfb.log" >&2; say "GIMP wrote no result"; exit 1; }
[ -f "$WORK/shots/dialog.png" ] || { tail -n 40 "$WORK/gimp.log" "$WORK/xvfb.log" >&2; say "no dialog screenshot"; exit 1; }

"$PY" - "$WORK/shots" "$OUT" <<'EOF'
import os, sys
from PIL import Image, ImageDraw
shots, out = sys.argv[1], sys.argv[2]
dialog = Image.open(os.path.join(shots, "dialog.png")).convert("RGB")
dialog.save(os.path.join(out, "gimp3-dialog.png"), optimize=True)
window = Image.open(os.path.join(shots, "window.png")).convert("RGB")
window = window.crop(window.convert("L").point(lambda v: 255 if v > 0 else 0).getbbox())  # no WM: black around
window.thumbnail((1000, 1000))
window.save(os.path.join(out, "gimp3-window.jpg"), quality=80, optimize=True)
before = Image.open(os.path.join(shots, "before.png")).convert("RGB")
after = Image.open(os.path.join(shots, "after.png")).convert("RGB")
# show the region the engine changed (the face), with a margin
import numpy as np
diff = np.abs(np.asarray(before, np.int16) - np.asarray(after, np.int16)).max(axis=2) > 6
ys, xs = np.nonzero(diff)
if len(xs):
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    mx, my = (x1 - x0) // 4 + 10, (y1 - y0) // 4 + 10
    box = (max(0, x0 - mx), max(0, y0 - my), min(before.width, x1 + mx), min(before.height, y1 + my))
    before, after = before.crop(box), after.crop(box)
h = 420
before = before.resize((round(before.width * h / before.height), h), Image.LANCZOS)
after = after.resize(before.size, Image.LANCZOS)
pair = Image.new("RGB", (before.width * 2 + 12, h + 28), "white")
pair.paste(before, (0, 28))
pair.paste(after, (before.width + 12, 28))
d = ImageDraw.Draw(pair)
d.text((6, 8), "before: the layer in GIMP 3.0.4", fill="black")
d.text((before.width + 18, 8), "after: the new Smart Beauty (level 0.80) layer", fill="black")
q = 88
while True:
    path = os.path.join(out, "gimp3-before-after.jpg")
    pair.save(path, quality=q, optimize=True)
    if os.path.getsize(path) <= 150 * 1024 or q <= 50:
        break
    q -= 6
for name in ("gimp3-dialog.png", "gimp3-window.jpg", "gimp3-before-after.jpg"):
    p = os.path.join(out, name)
    print("%s %d KB" % (p, os.path.getsize(p) // 1024))
EOF

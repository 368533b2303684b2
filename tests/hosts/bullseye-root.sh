#!/bin/sh
# Build (or reuse) the Debian 11 "bullseye" chroots used by the test suite. Prints the root's path.
#
#   py27     python2.7 + the pinned py2.7 wheel set (pytest 4.6.11, requests 2.27.1, ...) plus the
#            cp27mu manylinux1 wheels of Pillow 6.2.2 and numpy 1.16.6 (the gimpfu stubs hold real pixels).
#   gimp210  py27 + the real GIMP 2.10 (bullseye's gimp) + python3-venv/-pip (Python 3.9, for README's
#            commands) + real Python-Fu: GIMP's own pygimp C modules
#            (gimp, gimpcolor, _gimpenums) compiled from the gimp 2.10.34 orig tarball in the Debian pool
#            against PyGObject 3.32.2 + pycairo 1.18.2 (PyPI sdists, built by the chroot's python2.7),
#            gimpfu.py & co, a pygtk shim, pygimp.interp/env and the python-eval plug-in. Compilers and
#            -dev packages live only in a throw-away copy; the products are overlaid into a lean root.
#
# usage (as root):  sh tests/hosts/bullseye-root.sh py27|gimp210 [--force]
# cache:            ${SB_HOSTS_DIR:-/var/cache/smart-beauty-hosts}/<py27|gimp210>-<hash of this script>
# Non-interactive only: there is no pygtk/gimpui, so gimpfu dialogs cannot run in this root.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/hosts/lib.sh
. "$HERE/lib.sh"

NAME=${1:-}
case $NAME in
    py27 | gimp210) ;;
    *) die "usage: $0 py27|gimp210 [--force]" ;;
esac
FORCE=0
[ "${2:-}" = --force ] && FORCE=1
KEY=$(cache_key "$HERE/bullseye-root.sh" "$HERE/lib.sh")
ROOT=$SB_HOSTS_DIR/$NAME-$KEY

GIMP_ORIG=gimp_2.10.34.orig.tar.bz2
GIMP_ORIG_SHA256=84004642d351b398a4293cd7fd3592044a944f05bb52850ee6068f247c657aa3
PIP_PIN="pip==20.3.4 setuptools==44.1.1 wheel==0.37.1"
PINS="pytest==4.6.11 py==1.11.0 six==1.16.0 packaging==20.9 pyparsing==2.4.7 attrs==21.4.0
 atomicwrites==1.4.0 pluggy==0.13.1 importlib-metadata==2.1.3 zipp==1.2.0 configparser==4.0.2
 contextlib2==0.6.0.post1 wcwidth==0.2.13 backports.functools-lru-cache==1.6.6 more-itertools==5.0.0
 funcsigs==1.0.2 pathlib2==2.3.7.post1 typing==3.10.0.0
 requests==2.27.1 urllib3==1.26.20 idna==2.10 chardet==4.0.0 certifi==2021.10.8 werkzeug==1.0.1"
BINARY_PINS="Pillow==6.2.2 numpy==1.16.6"

done_marker() {
    case $NAME in
        py27) [ -f "$ROOT.ok" ] && [ -x "$ROOT/usr/bin/python2.7" ] ;;
        gimp210) [ -f "$ROOT.ok" ] && [ -x "$ROOT/usr/bin/gimp-console-2.10" ] ;;
    esac
}

if [ "$FORCE" = 0 ] && done_marker; then
    say "reusing $ROOT ($(cat "$ROOT.ok"))"
    printf '%s\n' "$ROOT"
    exit 0
fi

require_host
lock_name "$NAME"
if [ "$FORCE" = 0 ] && done_marker; then
    printf '%s\n' "$ROOT"
    exit 0
fi
MIRROR=$(debian_mirror)
TMP=$ROOT.tmp
BUILD=$ROOT.build
LOG=$SB_HOSTS_DIR/$NAME.log
: >"$LOG"
start=$(date +%s)
trap 'umount_below "$TMP"; umount_below "$BUILD"' EXIT
trap 'exit 130' INT TERM
rm -f "$ROOT.ok"
safe_rm_root "$TMP"
safe_rm_root "$BUILD"
safe_rm_root "$ROOT"
gc_old_roots "$NAME" "$KEY"

run_logged() {   # run_logged "what" cmd...   (output to $LOG; on failure show its tail)
    what=$1; shift
    say "$what"
    if ! "$@" >>"$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        die "$what failed (full log: $LOG)"
    fi
}

build_py27() {
    run_logged "debootstrap bullseye (minbase) into $TMP" \
        debootstrap --variant=minbase bullseye "$TMP" "$MIRROR"
    cp /etc/resolv.conf "$TMP/etc/resolv.conf" 2>/dev/null || true
    mount_apt "$TMP"
    run_logged "apt-get update" apt_in_root "$TMP" update
    run_logged "apt-get install python2.7" apt_in_root "$TMP" install -y --no-install-recommends python2.7

    # The wheel set is fetched by the HOST's pip: a closed, pinned set with --no-deps (pip would
    # evaluate dependency markers with the host's Python 3 otherwise).
    W=$TMP/wheels
    mkdir -p "$W"
    # shellcheck disable=SC2086
    run_logged "pip download: pinned pure-python py2.7 wheels" host_pip download -q --no-deps \
        --only-binary=:all: --python-version 2.7 --implementation cp --abi none --platform any \
        -d "$W" $PIP_PIN $PINS
    # shellcheck disable=SC2086
    run_logged "pip download: Pillow/numpy cp27mu manylinux1 wheels" host_pip download -q --no-deps \
        --only-binary=:all: --python-version 2.7 --implementation cp --abi cp27mu \
        --platform manylinux1_x86_64 -d "$W" $BINARY_PINS
    run_logged "pip download: scandir sdist (no py2 wheel; builds pure-python without gcc)" \
        host_pip download -q --no-deps --no-binary=:all: -d "$W" scandir==1.10.0

    # pip/setuptools first: the scandir sdist needs setuptools to build
    # shellcheck disable=SC2086
    run_logged "install pip/setuptools/wheel for python2.7" in_root "$TMP" python2.7 \
        /wheels/pip-20.3.4-py2.py3-none-any.whl/pip install -q --no-index --find-links /wheels $PIP_PIN
    # shellcheck disable=SC2086
    run_logged "install the py2.7 test set" in_root "$TMP" python2.7 -m pip install -q --no-index \
        --find-links /wheels $PINS $BINARY_PINS scandir==1.10.0
    run_logged "pip check" in_root "$TMP" python2.7 -m pip check
    run_logged "import check" in_root "$TMP" python2.7 -c \
        'import pytest, requests, werkzeug, numpy, PIL.Image; print(pytest.__version__, numpy.__version__, PIL.Image.__version__)'
    apt_in_root "$TMP" clean
    rm -rf "$TMP"/var/lib/apt/lists/* "$TMP"/root/.cache
    mkdir -p "$TMP/sb"
}

build_gimp210() {
    py27=$(sh "$HERE/bullseye-root.sh" py27) || die "could not build the py27 root"
    say "copying $py27 -> $TMP (runtime) and $BUILD (throw-away build copy)"
    cp -a "$py27" "$TMP"
    cp -a "$py27" "$BUILD"

    # runtime root: GIMP 2.10 + the shared libraries pygobject/pycairo need at run time
    mount_apt "$TMP"
    run_logged "runtime: apt-get update" apt_in_root "$TMP" update
    run_logged "runtime: apt-get install gimp libgirepository-1.0-1 gir1.2-glib-2.0 libffi7 libcairo2" \
        apt_in_root "$TMP" install -y --no-install-recommends gimp libgirepository-1.0-1 gir1.2-glib-2.0 libffi7 libcairo2
    # Debian 11's Python 3.9 with venv and pip: what README asks of a fresh machine, so README's first
    # command runs here too (tests/hosts/test_real_engine.py: the engine from PyPI on Python 3.9)
    run_logged "runtime: apt-get install python3-venv python3-pip" \
        apt_in_root "$TMP" install -y --no-install-recommends python3-venv python3-pip

    # build copy: compilers + headers
    mount_apt "$BUILD"
    run_logged "build: apt-get update" apt_in_root "$BUILD" update
    run_logged "build: apt-get install compilers and -dev packages" apt_in_root "$BUILD" install -y \
        --no-install-recommends libgimp2.0-dev python2.7-dev gcc make pkg-config libgtk2.0-dev \
        libcairo2-dev libgirepository1.0-dev libffi-dev gir1.2-glib-2.0

    # GIMP source from the Debian pool (never committed); checked against a fixed hash
    mkdir -p "$BUILD/src"
    run_logged "download $GIMP_ORIG from the Debian pool" \
        curl -fsSL --retry 3 -o "$BUILD/src/$GIMP_ORIG" "$MIRROR/pool/main/g/gimp/$GIMP_ORIG"
    echo "$GIMP_ORIG_SHA256  $BUILD/src/$GIMP_ORIG" | sha256sum -c - >/dev/null ||
        die "$GIMP_ORIG: sha256 mismatch"
    run_logged "unpack plug-ins/pygimp" tar -C "$BUILD/src" -xjf "$BUILD/src/$GIMP_ORIG" gimp-2.10.34/plug-ins/pygimp

    # pycairo + PyGObject (last py2 releases), downloaded and built by the chroot's pip 2.7.
    # Its pip cannot verify TLS by itself here: hand it the host's CA bundle.
    cp /etc/ssl/certs/ca-certificates.crt "$BUILD/root/host-ca.crt"
    run_logged "build: pip download pycairo 1.18.2 + PyGObject 3.32.2 sdists" in_root "$BUILD" \
        env PIP_CERT=/root/host-ca.crt python2.7 -m pip download -q --no-build-isolation --no-deps \
        --no-binary :all: -d /src/sdist pycairo==1.18.2 PyGObject==3.32.2
    run_logged "build: compile pycairo" in_root "$BUILD" sh -c \
        'python2.7 -m pip install -q --no-index --no-build-isolation --no-deps /src/sdist/pycairo-1.18.2.tar.gz'
    run_logged "build: compile PyGObject" in_root "$BUILD" sh -c \
        'python2.7 -m pip install -q --no-index --no-build-isolation --no-deps /src/sdist/PyGObject-3.32.2.tar.gz'

    cat >"$BUILD/src/gimp-2.10.34/plug-ins/pygimp/config.h" <<'EOF'
#define GETTEXT_PACKAGE "gimp20"
#define HAVE_BIND_TEXTDOMAIN_CODESET 1
#define ENABLE_NLS 1
/* pygobject 2 had init_pygobject(); PyGObject 3's pygobject.h has pygobject_init() */
#define init_pygobject() pygobject_init(-1, -1, -1)
EOF
    # NB: never link -lpython2.7: Debian's python2.7 is static, libpython2.7.so is only in -dev.
    cat >"$BUILD/src/build-pygimp.sh" <<'EOF'
set -eu
cd /src/gimp-2.10.34/plug-ins/pygimp
O=/overlay/usr/lib/gimp/2.0/python
mkdir -p "$O"
CF="-O2 -fPIC -fno-strict-aliasing -DHAVE_CONFIG_H -I. $(python2.7-config --includes) -I/usr/local/include/pygobject-3.0 $(pkg-config --cflags gimpui-2.0 gtk+-2.0 gegl-0.4)"
LIBS="$(pkg-config --libs gimpui-2.0 gimp-2.0 gegl-0.4)"
# shellcheck disable=SC2086
gcc -shared $CF -o "$O/gimp.so" gimpmodule.c pygimp-item.c pygimp-display.c pygimp-drawable.c \
    pygimp-image.c pygimp-parasite.c pygimp-pdb.c pygimp-tile.c pygimp-vectors.c $LIBS
# shellcheck disable=SC2086
gcc -shared $CF -o "$O/_gimpenums.so" gimpenumsmodule.c $LIBS
# shellcheck disable=SC2086
gcc -shared $CF -o "$O/gimpcolor.so" gimpcolormodule.c pygimp-colors.c $LIBS
cp gimpenums.py gimpfu.py gimpplugin.py gimpshelf.py gimpui.py "$O/"
printf '%s\n' '# pygtk shim: pygimp calls pygtk.require("2.0"); PyGObject 3 stands in for pygobject 2.' \
    'def require(version):' '    return None' >"$O/pygtk.py"
mkdir -p /overlay/usr/lib/gimp/2.0/environ /overlay/usr/lib/gimp/2.0/interpreters \
    /overlay/usr/lib/gimp/2.0/plug-ins/python-eval /overlay/usr/bin
echo ': PYTHONPATH=${gimp_plug_in_dir}/python' >/overlay/usr/lib/gimp/2.0/environ/pygimp.env
printf '%s\n' python=/usr/bin/python2.7 python2=/usr/bin/python2.7 /usr/bin/python=/usr/bin/python2.7 \
    ':Python:E::py::python2.7:' >/overlay/usr/lib/gimp/2.0/interpreters/pygimp.interp
install -m 755 plug-ins/python-eval.py /overlay/usr/lib/gimp/2.0/plug-ins/python-eval/python-eval.py
ln -sf python2.7 /overlay/usr/bin/python2
cd /usr/local/lib/python2.7/dist-packages
mkdir -p /overlay/usr/local/lib/python2.7/dist-packages
cp -a gi cairo PyGObject-3.32.2*-info pycairo-1.18.2*-info /overlay/usr/local/lib/python2.7/dist-packages/
EOF
    run_logged "build: compile pygimp (gimp, gimpcolor, _gimpenums)" in_root "$BUILD" sh /src/build-pygimp.sh
    say "overlay the build products into the runtime root"
    (cd "$BUILD/overlay" && tar cf - .) | (cd "$TMP" && tar xf -)
    umount_below "$BUILD"
    safe_rm_root "$BUILD"

    apt_in_root "$TMP" clean
    rm -rf "$TMP"/var/lib/apt/lists/*
    umount_below "$TMP"
    run_logged "check: import gimp modules under python2.7" in_root "$TMP" sh -c \
        'PYTHONPATH=/usr/lib/gimp/2.0/python python2.7 -c "import gimp, gimpcolor, gimpenums, gimpfu; print(gimp.version)"'
    # First run creates GIMP's user profile; keep it as the template for throw-away profiles.
    # (Always under timeout: gimp-console hangs forever if the Python interpreter fails to load.)
    say "check: python-fu-eval in gimp-console-2.10"
    out=$(in_root "$TMP" sh -c 'cd /root && timeout 180 gimp-console-2.10 -i -b "(python-fu-eval RUN-NONINTERACTIVE \"import gimp; gimp.message(\\\"pygimp ok %s\\\" % (gimp.version,))\")" -b "(gimp-quit 0)" 2>&1') ||
        { printf '%s\n' "$out" >&2; die "gimp-console-2.10 failed or timed out"; }
    printf '%s\n' "$out" >>"$LOG"
    case $out in
        *"pygimp ok (2, 10"*) ;;
        *) printf '%s\n' "$out" >&2; die "python-fu-eval did not run inside GIMP 2.10" ;;
    esac
    mkdir -p "$TMP/sb"
    cp -a "$TMP/root/.config/GIMP/2.10" "$TMP/sb/profile-2.10"
}

"build_$NAME"
umount_below "$TMP"
mounted_below "$TMP" && die "mounts left inside $TMP"
mv "$TMP" "$ROOT"
trap - EXIT
secs=$(( $(date +%s) - start ))
case $NAME in
    py27) what=$(in_root "$ROOT" python2.7 -c 'import sys; print("Python %d.%d.%d" % sys.version_info[:3])') ;;
    gimp210) what=$(in_root "$ROOT" gimp-console-2.10 --version | head -n1) ;;
esac
printf '%s; built in %ss; %s MiB\n' "$what" "$secs" "$(size_mib "$ROOT")" >"$ROOT.ok"
say "built $ROOT: $(cat "$ROOT.ok")"
printf '%s\n' "$ROOT"

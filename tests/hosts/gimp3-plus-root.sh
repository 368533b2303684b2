#!/bin/sh
# Build (or reuse) a copy of the gimp3 root (tests/hosts/gimp3-root.sh: Debian 13 + GIMP 3.0.4,
# Python 3.13) plus Debian packages for one purpose. Prints the root's path on stdout.
#   gimp3x  what the local AILab server needs from Debian (python3-numpy, -pil, -werkzeug, -tqdm,
#           -requests), so GIMP 3 inside can start `smart-beauty serve` itself (backend "local"), and
#           an X server and screenshot tools (xvfb, xdotool, imagemagick) for scripts/screenshots.sh
#   d13     only what README's first line asks of a fresh machine: python3-venv, python3-pip; nothing
#           of Smart Beauty is installed in it (tests/hosts/test_real_engine.py runs README's commands
#           on a copy of the checkout bound into it: the real engine from PyPI for Python 3.13)
#
# usage (as root):  sh tests/hosts/gimp3-plus-root.sh gimp3x|d13 [--force]
# cache:            ${SB_HOSTS_DIR:-/var/cache/smart-beauty-hosts}/<name>-<hash of this script, gimp3-root.sh, lib.sh>
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/hosts/lib.sh
. "$HERE/lib.sh"

NAME=${1:-}
case $NAME in
    gimp3x)
        PACKAGES="python3-numpy python3-pil python3-werkzeug python3-tqdm python3-requests xvfb xauth xdotool imagemagick fonts-dejavu-core"
        MARK=/usr/bin/Xvfb
        WHAT="server deps + Xvfb"
        CHECK='python3 -c "import numpy, PIL, werkzeug, tqdm, requests"' ;;
    d13)
        PACKAGES="python3-venv python3-pip"
        MARK=/usr/lib/python3/dist-packages/pip/__init__.py
        WHAT="python3-venv, python3-pip"
        CHECK='python3 -m venv /tmp/v && /tmp/v/bin/python -m pip --version && rm -rf /tmp/v' ;;
    *) die "usage: $0 gimp3x|d13 [--force]" ;;
esac
KEY=$(cache_key "$HERE/gimp3-plus-root.sh" "$HERE/gimp3-root.sh" "$HERE/lib.sh")
ROOT=$SB_HOSTS_DIR/$NAME-$KEY
FORCE=0
[ "${2:-}" = --force ] && FORCE=1

ready() { [ -f "$ROOT.ok" ] && [ -x "$ROOT/usr/bin/gimp-console-3.0" ] && [ -e "$ROOT$MARK" ]; }
if [ "$FORCE" = 0 ] && ready; then
    say "reusing $ROOT ($(cat "$ROOT.ok"))"
    printf '%s\n' "$ROOT"
    exit 0
fi

require_host
BASE=$(sh "$HERE/gimp3-root.sh" | tail -n1)
[ -x "$BASE/usr/bin/gimp-console-3.0" ] || die "the gimp3 root did not build"
lock_name "$NAME"
if [ "$FORCE" = 0 ] && ready; then
    printf '%s\n' "$ROOT"
    exit 0
fi

TMP=$ROOT.tmp
start=$(date +%s)
trap 'umount_below "$TMP"' EXIT
trap 'exit 130' INT TERM
rm -f "$ROOT.ok"
safe_rm_root "$TMP"
safe_rm_root "$ROOT"
gc_old_roots "$NAME" "$KEY"
mounted_below "$BASE" && die "the gimp3 root is in use (mounted); try again when its runs are done"

say "copying $BASE to $TMP"
cp -a "$BASE" "$TMP"
cp /etc/resolv.conf "$TMP/etc/resolv.conf" 2>/dev/null || true
printf 'deb %s trixie main\n' "$(debian_mirror)" >"$TMP/etc/apt/sources.list"
mount_apt "$TMP"
say "apt-get install $PACKAGES"
apt_in_root "$TMP" update >/dev/null
# shellcheck disable=SC2086
apt_in_root "$TMP" install -y --no-install-recommends $PACKAGES >"$SB_HOSTS_DIR/$NAME.apt.log" 2>&1 ||
    die "apt-get install failed, see $SB_HOSTS_DIR/$NAME.apt.log"
apt_in_root "$TMP" clean
rm -rf "$TMP"/var/lib/apt/lists/*
umount_below "$TMP"
in_root "$TMP" sh -c "$CHECK" >/dev/null || die "the new $NAME root fails its check: $CHECK"
mounted_below "$TMP" && die "mounts left inside $TMP"

mv "$TMP" "$ROOT"
trap - EXIT
secs=$(( $(date +%s) - start ))
printf '%s + %s (%s); built in %ss; %s MiB\n' "$(head -c 60 "$BASE.ok" | cut -d';' -f1)" "$WHAT" \
    "$(in_root "$ROOT" python3 --version 2>&1)" "$secs" "$(size_mib "$ROOT")" >"$ROOT.ok"
say "built $ROOT: $(cat "$ROOT.ok")"
printf '%s\n' "$ROOT"

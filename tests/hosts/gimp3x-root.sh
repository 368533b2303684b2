#!/bin/sh
# Build (or reuse) "gimp3x": a copy of the gimp3 root (tests/hosts/gimp3-root.sh) plus
#  - what the local AILab server needs from Debian (python3-numpy, -pil, -werkzeug, -tqdm, -requests),
#    so GIMP 3 inside the root can start `smart-beauty serve` itself (backend "local"), and
#  - an X server and screenshot tools (xvfb, xdotool, imagemagick) for scripts/screenshots.sh.
# Prints the root's path on stdout.
#
# usage (as root):  sh tests/hosts/gimp3x-root.sh [--force]
# cache:            ${SB_HOSTS_DIR:-/var/cache/smart-beauty-hosts}/gimp3x-<hash of this script, gimp3-root.sh, lib.sh>
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/hosts/lib.sh
. "$HERE/lib.sh"

NAME=gimp3x
KEY=$(cache_key "$HERE/gimp3x-root.sh" "$HERE/gimp3-root.sh" "$HERE/lib.sh")
ROOT=$SB_HOSTS_DIR/$NAME-$KEY
FORCE=0
[ "${1:-}" = --force ] && FORCE=1
PACKAGES="python3-numpy python3-pil python3-werkzeug python3-tqdm python3-requests xvfb xauth xdotool imagemagick fonts-dejavu-core"

ready() { [ -f "$ROOT.ok" ] && [ -x "$ROOT/usr/bin/gimp-console-3.0" ] && [ -x "$ROOT/usr/bin/Xvfb" ]; }
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
in_root "$TMP" python3 -c 'import numpy, PIL, werkzeug, tqdm, requests' ||
    die "the server's Python packages do not import in the new root"
mounted_below "$TMP" && die "mounts left inside $TMP"

mv "$TMP" "$ROOT"
trap - EXIT
secs=$(( $(date +%s) - start ))
printf '%s + server deps + Xvfb; built in %ss; %s MiB\n' "$(head -c 60 "$BASE.ok" | cut -d';' -f1)" "$secs" \
    "$(size_mib "$ROOT")" >"$ROOT.ok"
say "built $ROOT: $(cat "$ROOT.ok")"
printf '%s\n' "$ROOT"

#!/bin/sh
# Build (or reuse) "d13": a copy of the gimp3 root (Debian 13 "trixie" + GIMP 3.0.4, Python 3.13) plus
# what README's first line asks of a fresh machine: `apt install python3-venv python3-pip`. Nothing of
# Smart Beauty is installed in it; the tests run README's commands on a copy of the checkout bound into
# it (tests/hosts/test_real_engine.py): the offline engine installed from PyPI for Python 3.13 by
# install.sh, then used from the CLI and from GIMP 3.0.4 (backend "local").
# Prints the root's path on stdout.
#
# usage (as root):  sh tests/hosts/d13-root.sh [--force]
# cache:            ${SB_HOSTS_DIR:-/var/cache/smart-beauty-hosts}/d13-<hash of this script, gimp3-root.sh, lib.sh>
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/hosts/lib.sh
. "$HERE/lib.sh"

NAME=d13
KEY=$(cache_key "$HERE/d13-root.sh" "$HERE/gimp3-root.sh" "$HERE/lib.sh")
ROOT=$SB_HOSTS_DIR/$NAME-$KEY
FORCE=0
[ "${1:-}" = --force ] && FORCE=1
PACKAGES="python3-venv python3-pip"

ready() { [ -f "$ROOT.ok" ] && [ -x "$ROOT/usr/bin/gimp-console-3.0" ] && [ -f "$ROOT/usr/lib/python3/dist-packages/pip/__init__.py" ]; }
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
in_root "$TMP" sh -c 'python3 -m venv /tmp/v && /tmp/v/bin/python -m pip --version && rm -rf /tmp/v' >/dev/null ||
    die "python3 -m venv does not work in the new root"
mounted_below "$TMP" && die "mounts left inside $TMP"

mv "$TMP" "$ROOT"
trap - EXIT
secs=$(( $(date +%s) - start ))
printf '%s + python3-venv, python3-pip (%s); built in %ss; %s MiB\n' "$(head -c 60 "$BASE.ok" | cut -d';' -f1)" \
    "$(in_root "$ROOT" python3 --version 2>&1)" "$secs" "$(size_mib "$ROOT")" >"$ROOT.ok"
say "built $ROOT: $(cat "$ROOT.ok")"
printf '%s\n' "$ROOT"

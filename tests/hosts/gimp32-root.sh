#!/bin/sh
# Build (or reuse) a Debian sid chroot with the real GIMP 3.2.x and its Python 3 plug-in support,
# built the way gimp3-root.sh builds the 3.0.4 one. Prints the root's path on stdout.
#
# usage (as root):  sh tests/hosts/gimp32-root.sh [--force]
# cache:            ${SB_HOSTS_DIR:-/var/cache/smart-beauty-hosts}/gimp32-<hash of this script + lib.sh>
# needs:            root, a Debian host (debootstrap), the Debian archive (URI read from /etc/apt).
#
# Differences from the 3.0.4 root: suite sid (3.2.x, Python 3.14); the archive snapshot reachable
# here may serve a sid Release whose Valid-Until has passed, so the root's apt does not check it
# (trixie's Release has no Valid-Until); the binaries are gimp-console-3.2 / gimp-console-3 (no
# gimp-console-3.0) and the profile folder is GIMP/3.2. Like gimp3x (for 3.0.4), it also has Debian's
# python3-numpy/-pil/-werkzeug/-tqdm/-requests, so GIMP 3.2 can start the local server itself
# (backend "local"), and python3-venv/-pip, so README's first command runs there too: the real engine
# from PyPI for Python 3.14 (tests/hosts/test_real_engine.py); no X server (the dialog test borrows
# gimp3x's Xvfb over TCP).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/hosts/lib.sh
. "$HERE/lib.sh"

NAME=gimp32
SUITE=sid
CONSOLE=gimp-console-3.2
PACKAGES="gimp python3-numpy python3-pil python3-werkzeug python3-tqdm python3-requests python3-venv python3-pip"
KEY=$(cache_key "$HERE/gimp32-root.sh" "$HERE/lib.sh")
ROOT=$SB_HOSTS_DIR/$NAME-$KEY
FORCE=0
[ "${1:-}" = --force ] && FORCE=1

ready() { [ -f "$ROOT.ok" ] && [ -x "$ROOT/usr/bin/$CONSOLE" ] && [ -x "$ROOT/usr/bin/gimp-console-3" ]; }
if [ "$FORCE" = 0 ] && ready; then
    say "reusing $ROOT ($(cat "$ROOT.ok"))"
    printf '%s\n' "$ROOT"
    exit 0
fi

require_host
lock_name "$NAME"
# another build may have finished while we waited for the lock
if [ "$FORCE" = 0 ] && ready; then
    printf '%s\n' "$ROOT"
    exit 0
fi

MIRROR=$(debian_mirror)
TMP=$ROOT.tmp
start=$(date +%s)
trap 'umount_below "$TMP"' EXIT
trap 'exit 130' INT TERM
rm -f "$ROOT.ok"
safe_rm_root "$TMP"
safe_rm_root "$ROOT"
gc_old_roots "$NAME" "$KEY"

say "debootstrap $SUITE (minbase) into $TMP from the host's Debian mirror"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$TMP" "$MIRROR" \
    >"$SB_HOSTS_DIR/$NAME.debootstrap.log" 2>&1 ||
    die "debootstrap failed, see $SB_HOSTS_DIR/$NAME.debootstrap.log"
cp /etc/resolv.conf "$TMP/etc/resolv.conf" 2>/dev/null || true
# an expired sid Release (snapshot) would make apt-get update fail
printf 'Acquire::Check-Valid-Until "false";\n' >"$TMP/etc/apt/apt.conf.d/99sb-no-valid-until"
mount_apt "$TMP"

say "apt-get install $PACKAGES (GIMP 3.2 + python3-gi + gir1.2-gimp-3.0, the local server's packages)"
apt_in_root "$TMP" update >"$SB_HOSTS_DIR/$NAME.apt.log" 2>&1 ||
    die "apt-get update failed, see $SB_HOSTS_DIR/$NAME.apt.log"
# shellcheck disable=SC2086
apt_in_root "$TMP" install -y --no-install-recommends $PACKAGES >>"$SB_HOSTS_DIR/$NAME.apt.log" 2>&1 ||
    die "apt-get install failed, see $SB_HOSTS_DIR/$NAME.apt.log"
apt_in_root "$TMP" clean
rm -rf "$TMP"/var/lib/apt/lists/*

version=$(in_root "$TMP" "$CONSOLE" --version 2>/dev/null | head -n1) ||
    die "$CONSOLE does not run in the new root"
case $version in
    *" 3.2."*) ;;
    *) die "unexpected GIMP version (want 3.2.x): $version" ;;
esac
[ -x "$TMP/usr/bin/gimp-console-3" ] || die "no gimp-console-3 in the new root (README's GIMP 3 commands use it)"
in_root "$TMP" python3 -c 'import numpy, PIL, werkzeug, tqdm, requests' ||
    die "the server's Python packages do not import in the new root"
in_root "$TMP" sh -c 'python3 -m venv /tmp/v && /tmp/v/bin/python -m pip --version && rm -rf /tmp/v' >/dev/null ||
    die "python3 -m venv (with pip) does not work in the new root"
mkdir -p "$TMP/sb"   # mount points for the runners live under /sb
umount_below "$TMP"
# First run: python-fu-eval works headless, and its profile (plug-ins already queried) becomes the
# template for throw-away profiles. Always under timeout.
say "check: python-fu-eval in $CONSOLE (first run, creates the profile template)"
out=$(in_root "$TMP" env GIMP3_DIRECTORY=/sb/profile-3.2 timeout -k 10 300 "$CONSOLE" -i \
    --batch-interpreter=python-fu-eval -b 'print("pygimp3 ok", Gimp.version())' --quit 2>&1) ||
    { printf '%s\n' "$out" >&2; die "$CONSOLE python-fu-eval failed"; }
case $out in
    *"pygimp3 ok 3.2."*) ;;
    *) printf '%s\n' "$out" >&2; die "python-fu-eval did not run inside GIMP 3.2" ;;
esac
mounted_below "$TMP" && die "mounts left inside $TMP"

mv "$TMP" "$ROOT"
trap - EXIT
secs=$(( $(date +%s) - start ))
printf '%s; built in %ss; %s MiB\n' "$version" "$secs" "$(size_mib "$ROOT")" >"$ROOT.ok"
say "built $ROOT: $(cat "$ROOT.ok")"
printf '%s\n' "$ROOT"

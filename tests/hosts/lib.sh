# shellcheck shell=sh
# Shared helpers for the tests/hosts/*-root.sh scripts (sourced, not executed).
#
# Every root is cached as   $SB_HOSTS_DIR/<name>-<key>/        (the chroot)
#                      and  $SB_HOSTS_DIR/<name>-<key>.ok      (marker: build time, size)
# where <key> is a hash of the building script + this file, so editing either rebuilds.
# A root is built in <name>-<key>.tmp and renamed when complete: a killed build never
# leaves a root that looks finished.

SB_HOSTS_DIR=${SB_HOSTS_DIR:-/var/cache/smart-beauty-hosts}
APT_OPTS="-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3"
# Never let the host environment leak into a chroot (PIP_*, PYTHON*, proxies, ...).
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '[hosts] %s\n' "$*" >&2; }
die() { printf '[hosts] ERROR: %s\n' "$*" >&2; exit 1; }

# The Debian archive URI, read from the host's apt configuration at run time
# (never written into the repository). $SB_DEBIAN_MIRROR overrides.
debian_mirror() {
    if [ -n "${SB_DEBIAN_MIRROR:-}" ]; then printf '%s\n' "$SB_DEBIAN_MIRROR"; return; fi
    m=""
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
        m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
            /etc/apt/sources.list)
    fi
    [ -n "$m" ] || die "cannot find a Debian archive URI in /etc/apt (set SB_DEBIAN_MIRROR)"
    printf '%s\n' "${m%/}"
}

# Preconditions shared by all roots: root, Linux, Debian-like host with debootstrap.
require_host() {
    [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and bind mounts need it)"
    [ "$(uname -s)" = Linux ] || die "needs a Linux host"
    command -v chroot >/dev/null 2>&1 || die "chroot(8) not found"
    if ! command -v debootstrap >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "debootstrap missing and no apt-get to install it (not Debian?)"
        say "installing debootstrap on the host"
        # shellcheck disable=SC2086
        apt-get $APT_OPTS install -y debootstrap >/dev/null 2>&1 ||
            { apt-get $APT_OPTS update >/dev/null && apt-get $APT_OPTS install -y debootstrap >/dev/null; } ||
            die "could not install debootstrap"
    fi
}

# cache key: hash of the given files (the building script and this library)
cache_key() {
    cat "$@" | sha256sum | cut -c1-12
}

# is anything mounted at or below $1?
mounted_below() {
    awk -v p="$1" '$2 == p || index($2, p "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

# unmount everything at or below $1, deepest first
umount_below() {
    awk -v p="$1" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while IFS= read -r mp; do
            umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
        done
}

# remove a root directory, refusing while anything is mounted inside it
safe_rm_root() {
    [ -e "$1" ] || return 0
    umount_below "$1"
    if mounted_below "$1"; then die "refusing to delete $1: something is still mounted inside it"; fi
    rm -rf "$1"
}

# mount what apt/dpkg maintainer scripts want; undone by umount_below
mount_apt() {
    mount -t proc proc "$1/proc"
    mount -t sysfs sys "$1/sys"
    mount --bind /dev "$1/dev"
    mount --bind /dev/pts "$1/dev/pts" 2>/dev/null || true
}

# run a command inside a root with a scrubbed environment
in_root() {
    r=$1; shift
    chroot "$r" env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        PIP_NO_PYTHON_VERSION_WARNING=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 "$@"
}

apt_in_root() {
    r=$1; shift
    # shellcheck disable=SC2086
    in_root "$r" apt-get $APT_OPTS "$@"
}

# A python3 with pip on the host (for `pip download` of wheels for other interpreters).
host_pip() {
    for py in ${SB_PYTHON3:-} python3; do
        [ -n "$py" ] || continue
        if "$py" -m pip --version >/dev/null 2>&1; then
            "$py" -m pip "$@"
            return
        fi
    done
    die "no host python3 with pip (install python3-pip or set SB_PYTHON3)"
}

# du size of a root in MiB
size_mib() {
    du -sxm "$1" 2>/dev/null | cut -f1
}

# Take the per-name build lock (so two test runs never build the same root at once).
lock_name() {
    mkdir -p "$SB_HOSTS_DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$SB_HOSTS_DIR/.$1.lock"
        flock 9
    fi
}

# Drop roots of the same name built by older versions of the script (unless mounted).
gc_old_roots() {
    name=$1 keep=$2
    for d in "$SB_HOSTS_DIR/$name"-*; do
        [ -e "$d" ] || continue
        case $d in
            "$SB_HOSTS_DIR/$name-$keep" | "$SB_HOSTS_DIR/$name-$keep".*) continue ;;
        esac
        if [ -d "$d" ] && mounted_below "$d"; then
            say "keeping old $d (in use)"
            continue
        fi
        say "removing old $d"
        safe_rm_root "$d"
    done
}

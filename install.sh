#!/usr/bin/env bash
# Smart Beauty for GIMP — one-command installer.
#
# Finds every GIMP 2.10 / 3.x user profile on this machine and installs the matching plug-in
# plus the smart_beauty library (and the Python packages that GIMP's Python lacks) into each;
# sets up the `smart-beauty` command-line tool. Run `./install.sh --help` for the options.
set -euo pipefail

PROG=install.sh
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC3=$REPO/plug-ins/smart-beauty/smart-beauty.py
SRC2=$REPO/plug-ins/gimp2/smart_beauty.py
LIBSRC=$REPO/lib/smart_beauty

# Pinned: the last Python 2.7-compatible requests set (GIMP 2.10's Python-Fu is Python 2.7).
PY27_VENDOR="requests==2.27.1 urllib3==1.26.20 idna==2.10 chardet==4.0.0 certifi==2021.10.8"
# GIMP 3 (only when its Python lacks requests): a pinned, closed set of pure-Python wheels that
# still supports Python 3.9 (GIMP 3 builds ship 3.9-3.13); fetched with --no-deps like the py2 set.
PY3_VENDOR="requests==2.32.5 urllib3==2.5.0 idna==3.10 charset-normalizer==3.4.4 certifi==2025.10.5"

usage() {
    cat <<'EOF'
Usage: ./install.sh [options]

Installs Smart Beauty into every GIMP 2.10 and 3.x user profile found:
  Linux    ~/.config/GIMP/<ver>                      ($XDG_CONFIG_HOME/GIMP/<ver>)
  Flatpak  ~/.var/app/org.gimp.GIMP/config/GIMP/<ver>
  macOS    ~/Library/Application Support/GIMP/<ver>
  Windows  $APPDATA/GIMP/<ver>                        (Git Bash / MSYS)
  and the folders named by $GIMP3_DIRECTORY / $GIMP2_DIRECTORY.
GIMP 3.x:  <profile>/plug-ins/smart-beauty/smart-beauty.py + lib/ (+ vendor/ with requests if needed)
GIMP 2.10: <profile>/plug-ins/smart_beauty/smart_beauty.py + lib/ + vendor/ (py2.7 requests set)
It also sets up the `smart-beauty` command: a venv in <checkout>/.venv with `pip install -e .[cli]`,
linked as ~/.local/bin/smart-beauty.

Options:
  --gimp-dir DIR       install into exactly this GIMP profile folder (the one holding plug-ins/,
                       e.g. ~/.config/GIMP/3.0); may be given more than once
  --gimp-version VER   GIMP version for --gimp-dir when it cannot be told from the folder (2.10 or 3.0)
  --vendor MODE        GIMP 3 only: auto (default: vendor requests unless GIMP's Python has it),
                       always, never. GIMP 2.10 always gets the pinned py2.7 set.
  --wheel-cache DIR    where downloaded wheels are kept (default ~/.cache/smart-beauty/wheels)
  --no-cli             do not set up the smart-beauty command (venv + ~/.local/bin link)
  --with-engine        also install the offline engine (scripts/install-engine.sh)
  --no-engine          do not install the offline engine (default)
  --dry-run            print what would be done; change nothing
  --uninstall          remove Smart Beauty from every profile found (and the ~/.local/bin link)
  -h, --help           this help
Environment: SB_PYTHON (a Python 3.8+ with pip, used for pip download), GIMP3_DIRECTORY, GIMP2_DIRECTORY.
EOF
}

# ---------------------------------------------------------------- options
GIMP_DIRS=()
GIMP_VERSION=""
VENDOR_MODE=auto
DRY=0
UNINSTALL=0
CLI=1
ENGINE=0
WHEEL_CACHE=${SB_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smart-beauty/wheels}

while [ $# -gt 0 ]; do
    case $1 in
        --gimp-dir) [ $# -ge 2 ] || { echo "$PROG: --gimp-dir needs a folder" >&2; exit 2; }
            GIMP_DIRS+=("$2"); shift ;;
        --gimp-dir=*) GIMP_DIRS+=("${1#*=}") ;;
        --gimp-version) [ $# -ge 2 ] || { echo "$PROG: --gimp-version needs a version" >&2; exit 2; }
            GIMP_VERSION=$2; shift ;;
        --gimp-version=*) GIMP_VERSION=${1#*=} ;;
        --vendor) [ $# -ge 2 ] || { echo "$PROG: --vendor needs auto|always|never" >&2; exit 2; }
            VENDOR_MODE=$2; shift ;;
        --vendor=*) VENDOR_MODE=${1#*=} ;;
        --wheel-cache) [ $# -ge 2 ] || { echo "$PROG: --wheel-cache needs a folder" >&2; exit 2; }
            WHEEL_CACHE=$2; shift ;;
        --wheel-cache=*) WHEEL_CACHE=${1#*=} ;;
        --no-cli) CLI=0 ;;
        --with-engine) ENGINE=1 ;;
        --no-engine) ENGINE=0 ;;
        --dry-run | -n) DRY=1 ;;
        --uninstall) UNINSTALL=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "$PROG: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case $VENDOR_MODE in auto | always | never) ;; *) echo "$PROG: --vendor must be auto, always or never" >&2; exit 2 ;; esac
case $GIMP_VERSION in "" | 2.10 | 2.10.* | 3 | 3.*) ;;
    *) echo "$PROG: unsupported --gimp-version '$GIMP_VERSION' (use 2.10 or 3.0)" >&2; exit 2 ;; esac

DONE=()
SKIPPED=()
say() { printf '%s\n' "$*"; }
did() { DONE+=("$*"); say "  $*"; }
skip() { SKIPPED+=("$*"); say "  skipped: $*"; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
# run a command, or only show it in --dry-run
act() {
    if [ "$DRY" = 1 ]; then say "  would run: $*"; else "$@"; fi
}

# ---------------------------------------------------------------- helpers
# a Python 3.8+ (with pip) on this machine, for `pip download` and the CLI venv
find_python() {
    local c
    for c in ${SB_PYTHON:-} python3 python py; do
        [ -n "$c" ] || continue
        command -v "$c" >/dev/null 2>&1 || continue
        if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' >/dev/null 2>&1; then
            printf '%s\n' "$c"; return 0
        fi
    done
    return 1
}

# The offline engine (OpenCV's one abi3 wheel + numpy) needs CPython 3.9 or newer.
# With --with-engine the CLI venv is made with such a Python.
ENGINE_PY_RANGE="3.9 or newer"
engine_python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 9) else 1)' >/dev/null 2>&1
}
find_engine_python() {
    local c
    for c in ${SB_PYTHON:-} python3 python3.14 python3.13 python3.12 python3.11 python3.10 python3.9; do
        [ -n "$c" ] || continue
        command -v "$c" >/dev/null 2>&1 || continue
        if engine_python_ok "$c"; then printf '%s\n' "$c"; return 0; fi
    done
    return 1
}

to_posix() {   # Windows paths from $APPDATA under Git Bash/MSYS
    if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi
}

# normalise a GIMP version string to "2.10" or "3.x"; empty if unsupported
norm_version() {
    case $1 in
        2.10 | 2.10.*) echo 2.10 ;;
        3 ) echo 3.0 ;;
        3.*) echo "$1" | cut -d. -f1-2 ;;
        *) echo "" ;;
    esac
}

# version of a profile folder: from its name, else from its files, else --gimp-version
profile_version() {
    local dir=$1 v="" p
    v=$(norm_version "$(basename "$dir")")
    if [ -z "$v" ] && [ -f "$dir/gimprc" ]; then
        v=$(sed -n 's/^(config-version "\([0-9.]*\)").*/\1/p' "$dir/gimprc" | head -n1)
        v=$(norm_version "$v")
        if [ -z "$v" ]; then
            if grep -q '/gimp/2\.0/gimprc' "$dir/gimprc"; then v=2.10; fi
            if grep -q '/gimp/3\.0/gimprc' "$dir/gimprc"; then v=3.0; fi
        fi
    fi
    if [ -z "$v" ] && [ -f "$dir/pluginrc" ]; then
        # GIMP 2.10 writes (protocol-version 26), GIMP 3.0 (protocol-version 277)
        p=$(sed -n 's/^(protocol-version \([0-9]*\)).*/\1/p' "$dir/pluginrc" | head -n1)
        if [ -n "$p" ] && [ "$p" -lt 256 ]; then v=2.10; elif [ -n "$p" ]; then v=3.0; fi
    fi
    if [ -z "$v" ] && [ -n "$GIMP_VERSION" ]; then v=$(norm_version "$GIMP_VERSION"); fi
    printf '%s\n' "$v"
}

# Folders GIMP's first-run "user install" creates. GIMP skips that step when the profile folder
# already exists, so a profile we create (or one with only plug-ins/) must get them, or GIMP fails
# to save brushes, gradients, ... ("writable data folder ... does not exist").
PROFILE_DIRS="brushes curves dynamics environ filters fonts fractalexplorer gfig gflare gimpressionist
 gradients icons interpreters levels modules palettes patterns plug-ins scripts templates themes tmp tool-presets"

ensure_profile_dirs() {
    local dir=$1 d missing=""
    for d in $PROFILE_DIRS; do [ -d "$dir/$d" ] || missing="$missing $d"; done
    [ -n "$missing" ] || return 0
    if [ "$DRY" = 1 ]; then say "  would create profile folders:$missing"; return 0; fi
    for d in $missing; do mkdir -p "$dir/$d"; done
    did "created GIMP profile folders in $dir:$missing"
}

# ---------------------------------------------------------------- find profiles
PROFILES=()   # entries "version|dir|origin"
add_profile() {
    local dir=$1 ver=$2 origin=$3 p real
    real=$(cd "$dir" 2>/dev/null && pwd -P) || real=$dir
    for p in ${PROFILES[@]+"${PROFILES[@]}"}; do
        case $p in *"|$real|"*) return 0 ;; esac
    done
    PROFILES+=("$ver|$real|$origin")
}

scan_base() {   # scan_base <GIMP folder holding version subfolders> <origin label>
    local base=$1 origin=$2 d v
    [ -d "$base" ] || return 0
    for d in "$base"/*; do
        [ -d "$d" ] || continue
        v=$(norm_version "$(basename "$d")")
        if [ -z "$v" ]; then
            SKIPPED+=("$d: GIMP $(basename "$d") is not supported (2.10 and 3.x are)")
            continue
        fi
        add_profile "$d" "$v" "$origin"
    done
}

find_profiles() {
    local d v
    if [ ${#GIMP_DIRS[@]} -gt 0 ]; then
        for d in "${GIMP_DIRS[@]}"; do
            v=$(profile_version "$d")
            [ -n "$v" ] || die "cannot tell the GIMP version of $d (name it 2.10/3.0 or pass --gimp-version)"
            if [ ! -d "$d" ]; then
                if [ "$DRY" = 1 ]; then say "would create $d"; else mkdir -p "$d"; fi
            fi
            add_profile "$d" "$v" "--gimp-dir"
        done
        return 0
    fi
    if [ -n "${GIMP3_DIRECTORY:-}" ]; then
        v=$(profile_version "$GIMP3_DIRECTORY"); [ -n "$v" ] && [ "$v" != 2.10 ] || v=3.0
        add_profile "$GIMP3_DIRECTORY" "$v" "\$GIMP3_DIRECTORY"
    fi
    if [ -n "${GIMP2_DIRECTORY:-}" ]; then add_profile "$GIMP2_DIRECTORY" 2.10 "\$GIMP2_DIRECTORY"; fi
    scan_base "${XDG_CONFIG_HOME:-$HOME/.config}/GIMP" "Linux"
    [ -z "${XDG_CONFIG_HOME:-}" ] || scan_base "$HOME/.config/GIMP" "Linux"
    scan_base "$HOME/.var/app/org.gimp.GIMP/config/GIMP" "Flatpak"
    scan_base "$HOME/Library/Application Support/GIMP" "macOS"
    if [ -n "${APPDATA:-}" ]; then scan_base "$(to_posix "$APPDATA")/GIMP" "Windows"; fi
}

# A system GIMP on PATH (Linux packages) whose profile has not been created yet (GIMP never run):
# create ~/.config/GIMP/<ver> so the plug-in is there on the first start.
find_unstarted_gimps() {
    local b v cfg=${XDG_CONFIG_HOME:-$HOME/.config}/GIMP seen=" "
    # GIMP 3.2 has gimp-3.2/gimp-console-3.2/gimp-console-3 (no gimp-*-3.0); 3.0 also has gimp-console-3
    for b in gimp-3.2 gimp-console-3.2 gimp-3.0 gimp-console-3.0 gimp-3 gimp-console-3 gimp-2.10 gimp-console-2.10 gimp; do
        command -v "$b" >/dev/null 2>&1 || continue
        v=$("$b" --version 2>/dev/null | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -n1) || true
        v=$(norm_version "$v")
        [ -n "$v" ] || continue
        case $seen in *" $v "*) continue ;; esac
        seen="$seen$v "
        [ -d "$cfg/$v" ] && continue
        say "GIMP $v is installed ($b) but has never been started: preparing $cfg/$v"
        if [ "$DRY" = 0 ]; then mkdir -p "$cfg/$v"; fi
        add_profile "$cfg/$v" "$v" "Linux (new)"
    done
}

# ---------------------------------------------------------------- wheels
PY=""
need_python() {
    [ -n "$PY" ] && return 0
    PY=$(find_python) || die "no Python 3.8+ found (needed to download the Python packages GIMP lacks); install python3 or set SB_PYTHON"
    "$PY" -m pip --version >/dev/null 2>&1 ||
        die "$PY has no pip (Debian/Ubuntu: apt install python3-pip, or set SB_PYTHON to a Python with pip)"
}

# fetch_wheels <set name> <pip download args...> : cached under $WHEEL_CACHE/<set name>
fetch_wheels() {
    local name=$1 dest; shift
    dest=$WHEEL_CACHE/$name
    if [ -f "$dest/.complete" ]; then printf '%s\n' "$dest"; return 0; fi
    need_python
    rm -rf "$dest.part"
    mkdir -p "$dest.part"
    say "  downloading $name wheels with pip ..." >&2
    if ! "$PY" -m pip download -q --disable-pip-version-check --no-cache-dir -d "$dest.part" "$@" >&2; then
        rm -rf "$dest.part"
        die "pip download failed for the $name set (network? PyPI reachable?)"
    fi
    touch "$dest.part/.complete"
    rm -rf "$dest"
    mv "$dest.part" "$dest"
    printf '%s\n' "$dest"
}

py27_wheels() {
    # --no-deps + an explicit closed set: pip would evaluate dependency markers with this
    # machine's Python 3 and pull py3-only packages otherwise.
    # shellcheck disable=SC2086
    fetch_wheels py27-requests --no-deps --only-binary=:all: --python-version 2.7 --implementation cp \
        --abi none --platform any $PY27_VENDOR
}

py3_wheels() {
    # shellcheck disable=SC2086
    fetch_wheels py3-requests --no-deps --only-binary=:all: --python-version 3.9 --implementation py \
        --abi none --platform any $PY3_VENDOR
}

unpack_wheels() {   # unpack_wheels <wheel dir> <target dir>
    need_python
    mkdir -p "$2"
    "$PY" - "$1" "$2" <<'EOF'
import glob, os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
wheels = sorted(glob.glob(os.path.join(src, "*.whl")))
if not wheels:
    sys.exit("no wheels in " + src)
for w in wheels:
    with zipfile.ZipFile(w) as z:
        z.extractall(dst)
EOF
}

# does the Python that runs this GIMP 3 plug-in already have requests?
gimp3_has_requests() {
    local origin=$1 b
    [ "$VENDOR_MODE" = always ] && return 1
    [ "$VENDOR_MODE" = never ] && return 0
    case $origin in Linux | "Linux (new)" | "\$GIMP3_DIRECTORY") ;; *) return 1 ;; esac
    for b in gimp-3.2 gimp-console-3.2 gimp-3.0 gimp-console-3.0 gimp-3 gimp-console-3; do
        if command -v "$b" >/dev/null 2>&1; then
            # GIMP 3 runs Python plug-ins via `#!/usr/bin/env python3`
            python3 -c 'import requests' >/dev/null 2>&1 && return 0
            return 1
        fi
    done
    return 1
}

# ---------------------------------------------------------------- install / uninstall
copy_lib() {   # copy_lib <target lib dir>: the Python 2.7-safe core only, no caches
    mkdir -p "$1"
    cp -R "$LIBSRC" "$1/smart_beauty"
    find "$1" \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
}

install_into() {   # install_into <version> <profile dir> <origin>
    local ver=$1 prof=$2 origin=$3 name src dest stage old wheels
    if [ "$ver" = 2.10 ]; then name=smart_beauty; src=$SRC2; else name=smart-beauty; src=$SRC3; fi
    dest=$prof/plug-ins/$name
    say "GIMP $ver profile ($origin): $prof"
    ensure_profile_dirs "$prof"
    for old in "$prof/plug-ins/smart_beauty.py" "$prof/plug-ins/smart-beauty.py"; do
        if [ -e "$old" ]; then
            say "  warning: $old (an older manual install?) has the same name and may shadow the new plug-in; remove it"
        fi
    done
    if [ "$DRY" = 1 ]; then
        say "  would install $dest/$name.py (executable), $dest/lib/smart_beauty/"
        if [ "$ver" = 2.10 ]; then
            say "  would vendor into $dest/vendor: $PY27_VENDOR"
        elif gimp3_has_requests "$origin"; then
            say "  would not vendor requests (GIMP's Python 3 has it)"
        else
            say "  would vendor a current requests into $dest/vendor"
        fi
        [ ! -e "$dest" ] || say "  would replace the existing $dest"
        return 0
    fi
    # stage next to the target, then swap: never a half-installed plug-in
    mkdir -p "$prof/plug-ins"
    stage=$(mktemp -d "$prof/plug-ins/.$name.new.XXXXXX")
    trap "rm -rf '$stage'" EXIT   # expanded now: a die() further down runs the trap after this function's locals are gone
    cp "$src" "$stage/$name.py"
    chmod 755 "$stage/$name.py"
    copy_lib "$stage/lib"
    if [ "$ver" = 2.10 ]; then
        wheels=$(py27_wheels)
        unpack_wheels "$wheels" "$stage/vendor"
        did "vendored for Python 2.7: $PY27_VENDOR"
    elif gimp3_has_requests "$origin"; then
        skip "vendor/ for $prof (GIMP's Python 3 already has requests)"
    else
        wheels=$(py3_wheels)
        unpack_wheels "$wheels" "$stage/vendor"
        did "vendored for Python 3: $(find "$stage/vendor" -maxdepth 1 -name '*.dist-info' -exec basename {} .dist-info \; | sort | tr '\n' ' ')"
    fi
    {
        echo "source=$REPO"
        echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "gimp=$ver"
    } >"$stage/INSTALLED.txt"
    chmod 755 "$stage"
    if [ -e "$dest" ]; then
        old=$(mktemp -d "$prof/plug-ins/.$name.old.XXXXXX")
        mv "$dest" "$old/"
        mv "$stage" "$dest"
        rm -rf "$old"
        did "upgraded $dest/$name.py"
    else
        mv "$stage" "$dest"
        did "installed $dest/$name.py"
    fi
    trap - EXIT
}

uninstall_from() {   # uninstall_from <version> <profile dir> <origin>
    local ver=$1 prof=$2 origin=$3 d found=0
    say "GIMP $ver profile ($origin): $prof"
    for d in "$prof/plug-ins/smart-beauty" "$prof/plug-ins/smart_beauty" "$prof"/plug-ins/.smart-beauty.* \
        "$prof"/plug-ins/.smart_beauty.*; do
        [ -e "$d" ] || continue
        found=1
        if [ "$DRY" = 1 ]; then say "  would remove $d"; else rm -rf "$d"; did "removed $d"; fi
    done
    [ "$found" = 1 ] || skip "$prof: Smart Beauty is not installed there"
}

# ---------------------------------------------------------------- CLI
BIN_DIR=$HOME/.local/bin
setup_cli() {
    local venv=$REPO/.venv vpy vbin
    say "Command-line tool:"
    if [ "$DRY" = 1 ]; then
        say "  would create/update $venv (python3 -m venv), pip install -e $REPO[cli]"
        say "  would link $BIN_DIR/smart-beauty"
        return 0
    fi
    need_python
    local vpython=$PY
    if [ "$ENGINE" = 1 ]; then
        vpython=$(find_engine_python) || die "the offline engine needs Python $ENGINE_PY_RANGE and none was found ($("$PY" -c 'import sys; print("python3 is %d.%d" % sys.version_info[:2])')). Install one from your distribution or python.org and run again, or set SB_PYTHON to it; without --with-engine everything else works, with an AILab API key."
    fi
    if [ -x "$venv/bin/python" ]; then vpy=$venv/bin/python; vbin=$venv/bin
    elif [ -x "$venv/Scripts/python.exe" ]; then vpy=$venv/Scripts/python.exe; vbin=$venv/Scripts
    else
        "$vpython" -m venv "$venv" || die "$vpython -m venv failed (Debian/Ubuntu: apt install python3-venv)"
        if [ -x "$venv/bin/python" ]; then vpy=$venv/bin/python; vbin=$venv/bin
        else vpy=$venv/Scripts/python.exe; vbin=$venv/Scripts; fi
        did "created $venv ($("$vpy" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])'))"
    fi
    if [ "$ENGINE" = 1 ] && ! engine_python_ok "$vpy"; then
        die "$venv uses $("$vpy" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])'), which the offline engine cannot use (it needs $ENGINE_PY_RANGE); remove $venv and run ./install.sh --with-engine again"
    fi
    "$vpy" -m pip install -q --disable-pip-version-check -e "$REPO[cli]" || die "pip install -e $REPO[cli] failed"
    did "pip install -e $REPO[cli] into $venv"
    mkdir -p "$BIN_DIR"
    if [ -e "$vbin/smart-beauty" ]; then
        ln -sfn "$vbin/smart-beauty" "$BIN_DIR/smart-beauty"
        did "linked $BIN_DIR/smart-beauty -> $vbin/smart-beauty"
    else
        skip "no $vbin/smart-beauty to link (Windows: use $vbin/smart-beauty.exe)"
    fi
    case ":$PATH:" in
        *":$BIN_DIR:"*) ;;
        *) say "  note: $BIN_DIR is not on your PATH; add it (e.g. in ~/.profile: export PATH=\"\$HOME/.local/bin:\$PATH\")" ;;
    esac
    record_cli "$vbin"
}

# The plug-ins start the offline engine with this command (smart_beauty.localserver reads cli-path).
sb_config_dir() {
    if [ -n "${SMART_BEAUTY_CONFIG_DIR:-}" ]; then printf '%s\n' "$SMART_BEAUTY_CONFIG_DIR"
    elif [ "$(uname -s)" = Darwin ]; then printf '%s\n' "$HOME/Library/Application Support/smart-beauty"
    elif [ -n "${APPDATA:-}" ]; then printf '%s\n' "$APPDATA/smart-beauty"
    else printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/smart-beauty"; fi
}
record_cli() {
    local vbin=$1 cmd cfg
    cfg=$(sb_config_dir)
    if [ -x "$vbin/smart-beauty" ]; then cmd=$vbin/smart-beauty
    elif [ -x "$vbin/smart-beauty.exe" ]; then cmd=$vbin/smart-beauty.exe
    else return 0; fi
    (umask 077 && mkdir -p "$cfg" && printf '%s\n' "$cmd" >"$cfg/cli-path") || { skip "could not write $cfg/cli-path"; return 0; }
    did "recorded $cmd in $cfg/cli-path (the plug-ins start the offline engine with it)"
}

remove_cli_link() {
    local link=$BIN_DIR/smart-beauty target
    [ -L "$link" ] || { skip "$link: not present"; return 0; }
    target=$(readlink "$link")
    case $target in
        "$REPO"/*)
            if [ "$DRY" = 1 ]; then say "  would remove $link"; else rm -f "$link"; did "removed $link"; fi ;;
        *) skip "$link points to $target (not this checkout), left alone" ;;
    esac
    local rec
    rec="$(sb_config_dir)/cli-path"
    if [ -f "$rec" ] && case $(cat "$rec") in "$REPO"/*) true ;; *) false ;; esac; then
        if [ "$DRY" = 1 ]; then say "  would remove $rec"; else rm -f "$rec"; did "removed $rec"; fi
    fi
    say "  note: $REPO/.venv and your saved settings (API key) are left in place"
}

# ---------------------------------------------------------------- engine
setup_engine() {
    local script=$REPO/scripts/install-engine.sh
    say "Offline engine:"
    [ -f "$script" ] || die "--with-engine: $script is not in this checkout"
    act bash "$script"
    [ "$DRY" = 1 ] || did "offline engine installed ($script)"
}

# ---------------------------------------------------------------- main
[ -d "$LIBSRC" ] || die "$LIBSRC is missing: run install.sh from a complete Smart Beauty checkout"
[ "$DRY" = 0 ] || say "(dry run: nothing will be changed)"

find_profiles
[ ${#GIMP_DIRS[@]} -gt 0 ] || [ "$UNINSTALL" = 1 ] || find_unstarted_gimps

if [ "$UNINSTALL" = 1 ]; then
    for p in ${PROFILES[@]+"${PROFILES[@]}"}; do
        IFS='|' read -r v d o <<<"$p"
        uninstall_from "$v" "$d" "$o"
    done
    [ "$CLI" = 0 ] || { say "Command-line tool:"; remove_cli_link; }
else
    # check every source we are about to need before touching any profile
    for p in ${PROFILES[@]+"${PROFILES[@]}"}; do
        case ${p%%|*} in
            2.10) [ -f "$SRC2" ] || die "the GIMP 2.10 plug-in ${SRC2#"$REPO"/} is missing from this checkout" ;;
            *) [ -f "$SRC3" ] || die "the GIMP 3 plug-in ${SRC3#"$REPO"/} is missing from this checkout" ;;
        esac
    done
    for p in ${PROFILES[@]+"${PROFILES[@]}"}; do
        IFS='|' read -r v d o <<<"$p"
        install_into "$v" "$d" "$o"
    done
    [ "$CLI" = 0 ] || setup_cli
    [ "$ENGINE" = 0 ] || setup_engine
fi

say ""
if [ ${#PROFILES[@]} -eq 0 ]; then
    say "No GIMP 2.10 or 3.x profile found. Start GIMP once (it creates its profile folder) and run"
    say "./install.sh again, or name the folder: ./install.sh --gimp-dir ~/.config/GIMP/3.0"
fi
say "Summary: ${#DONE[@]} done, ${#SKIPPED[@]} skipped."
for s in ${SKIPPED[@]+"${SKIPPED[@]}"}; do say "  skipped: $s"; done
if [ "$UNINSTALL" = 0 ] && [ ${#PROFILES[@]} -gt 0 ] && [ "$DRY" = 0 ]; then
    say "Restart GIMP, then use Filters > Enhance > Smart Beauty... (set your key in Smart Beauty Settings...)."
    say "If anything is missing: Filters > Enhance > Smart Beauty > Check Setup... or 'smart-beauty doctor'."
fi
if [ "$ENGINE" = 0 ] && [ "$UNINSTALL" = 0 ]; then
    say "Offline engine not installed (add --with-engine to install it)."
fi
[ ${#PROFILES[@]} -gt 0 ] || [ "$CLI" = 1 ] || exit 3
exit 0

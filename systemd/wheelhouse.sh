#!/bin/sh
# Build the offline wheelhouse a charger installs from (see docs/deployment.md):
#   sh systemd/wheelhouse.sh OUT_DIR ARCH...     e.g. wheelhouse aarch64 armv7l
#   WHEEL_LINKS=DIR: more wheels to take (e.g. cffi for armv7l, built on a Pi: see below)
# OUT_DIR/<arch>/ gets the project's wheel and a binary wheel of every dependency for
# CPython 3.11 on Debian 12 (glibc 2.36) on that arch, downloaded with pip --platform.
# Dependencies published only as an sdist (tailer, under dsmr-parser) are built here with
# `pip wheel --no-deps`, and taken only if that gives a pure-Python (py3-none-any) wheel;
# an sdist with C code stops the build with its name: no silent gaps on the charger.
# armv7l (32-bit Pi OS): PyPI has no armv7l wheel of cffi (under cryptography); build one
# on a 32-bit Pi (`pip wheel cffi`) and pass its folder as WHEEL_LINKS. aarch64 (64-bit
# Pi OS, Pi 3/4/5) needs nothing else.
set -eu
OUT=$1; shift
PY=${PYTHON:-python3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
GLIBC_MINOR=${GLIBC_MINOR:-36}   # Debian 12 / Raspberry Pi OS bookworm
# Wheels that an environment marker hides from pip download (it evaluates
# platform_machine on THIS machine, not on the target): named here per arch.
extra_for() {
    case $1 in aarch64|armv7l) echo "lgpio>=0.2.2.0" ;; esac
}
mkdir -p "$OUT"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
# the project's wheel, built from a copy (no build/ or egg-info left in the checkout)
mkdir "$WORK/src"
(cd "$SRC" && tar -cf - --exclude=__pycache__ pyproject.toml README.md ncpa hal simulator) \
    | tar -xf - -C "$WORK/src"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/project" "$WORK/src"
# sdist-only dependencies: resolve once for this machine, build the pure ones
"$PY" -m pip download --quiet --dest "$WORK/any" "$WORK"/project/*.whl
mkdir -p "$WORK/pure"
for sdist in "$WORK"/any/*.tar.gz "$WORK"/any/*.zip; do
    [ -e "$sdist" ] || continue
    "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/built" "$sdist"
    for w in "$WORK"/built/*.whl; do
        case $w in
            *-none-any.whl) mv "$w" "$WORK/pure/"
                echo "wheelhouse: built $(basename "$w") from its sdist (pure Python)" ;;
            *) echo "wheelhouse: $(basename "$sdist") has C code and no wheel on PyPI" >&2
                exit 1 ;;
        esac
    done
done
for arch in "$@"; do
    dest="$OUT/$arch"; mkdir -p "$dest"
    cp "$WORK"/project/*.whl "$dest/"
    cp "$WORK"/pure/*.whl "$dest/" 2>/dev/null || true
    plats="--platform manylinux2014_$arch"
    # 32-bit Pi OS: some wheels (lgpio's) are published as linux_armv7l, built on a Pi
    [ "$arch" = armv7l ] && plats="$plats --platform linux_armv7l"
    m=17; while [ "$m" -le "$GLIBC_MINOR" ]; do plats="$plats --platform manylinux_2_${m}_$arch"; m=$((m + 1)); done
    links="--find-links $dest"
    [ -n "${WHEEL_LINKS:-}" ] && links="$links --find-links $WHEEL_LINKS"
    # shellcheck disable=SC2086 # $plats, $links and extra_for are word lists
    if ! "$PY" -m pip download --quiet --only-binary=:all: $plats --python-version 3.11 \
            --implementation cp --abi cp311 $links --dest "$dest" \
            "$dest"/ncpa-*.whl $(extra_for "$arch") 2> "$WORK/err"; then
        # pip says "conflict"; name the packages that have no wheel for this arch instead
        missing=""
        for f in "$WORK"/any/*; do
            name=$(basename "$f" | sed 's/-[0-9].*//')
            # shellcheck disable=SC2086
            "$PY" -m pip download --quiet --no-deps --only-binary=:all: $plats \
                --python-version 3.11 --implementation cp --abi cp311 $links \
                --dest "$WORK/probe" "$name" 2>/dev/null || missing="$missing $name"
        done
        echo "wheelhouse/$arch: FAILED, no $arch wheel for:${missing:- (see below)}" >&2
        [ -n "$missing" ] || cat "$WORK/err" >&2
        echo "  build them on a $arch board (pip wheel NAME) and pass WHEEL_LINKS=folder" >&2
        failed="${failed:-} $arch"
        continue
    fi
    echo "wheelhouse/$arch: $(ls "$dest" | wc -l) wheels in $dest"
done
[ -z "${failed:-}" ] || exit 1

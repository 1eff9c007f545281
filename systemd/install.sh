#!/bin/sh
# Install NCPA on a Raspberry Pi (Raspberry Pi OS / Debian 12 bookworm), as root, with no
# network: the Python packages come from the wheelhouse (`make wheelhouse`, see
# docs/deployment.md), nothing else of the checkout is copied.
#   sudo sh systemd/install.sh [WHEELHOUSE]       default: wheelhouse/$(uname -m)
# Creates the users and groups, /opt/ncpa/venv (root-owned code), /etc/ncpa (config, keys),
# /var/lib/ncpa (data), the polkit rule for the hotspot, and enables the service. Running
# it again changes nothing, or upgrades the venv from a newer wheelhouse.
# DESTDIR=/some/root puts every file under that root (the install test uses it).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
ROOT=${DESTDIR:-}
WHEELHOUSE=${1:-${WHEELHOUSE:-$SRC/wheelhouse/$(uname -m)}}
PREFIX=/opt/ncpa
VENV=$PREFIX/venv
APT_PACKAGES="python3 python3-venv network-manager polkitd"

die() { echo "install.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root: sudo sh systemd/install.sh"
ls "$WHEELHOUSE"/ncpa-*.whl >/dev/null 2>&1 ||
    die "no wheelhouse in $WHEELHOUSE (build it with: make wheelhouse WHEEL_ARCHS=$(uname -m))"

# -- system packages: only those missing (a Pi OS image has them: no network needed)
missing=""
for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt-get update
    # shellcheck disable=SC2086 # a word list
    apt-get install -y --no-install-recommends $missing
fi

# -- users and groups: gpio as on Raspberry Pi OS, where it is missing (plain Debian)
getent group gpio >/dev/null || groupadd --system gpio
getent group ncpa >/dev/null || groupadd --system ncpa
id ncpa >/dev/null 2>&1 || useradd --system --gid ncpa --home-dir /var/lib/ncpa \
    --no-create-home --shell /usr/sbin/nologin --comment "NCPA charge-point agent" ncpa
for g in dialout gpio; do
    id -nG ncpa | tr ' ' '\n' | grep -qx "$g" || usermod -aG "$g" ncpa
done
NCPA_UID=$(id -u ncpa)
NCPA_GID=$(getent group ncpa | cut -d: -f3)

# -- directories: code root-owned, config readable by the service, data its own
install -d -o root -g root -m 755 "$ROOT$PREFIX"
install -d -o root -g "$NCPA_GID" -m 750 "$ROOT/etc/ncpa" "$ROOT/etc/ncpa/keys"
install -d -o "$NCPA_UID" -g "$NCPA_GID" -m 750 "$ROOT/var/lib/ncpa" "$ROOT/var/lib/ncpa/lgpio"

# -- an install by the old script kept a copy of the checkout (with .git and the
# development keys) in /opt/ncpa/src: never used now, removed
[ ! -e "$ROOT$PREFIX/src" ] || rm -rf "$ROOT$PREFIX/src"

# -- the venv, from the wheelhouse only (no index, no pip.conf, no cache)
for v in $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
[ -x "$ROOT$VENV/bin/python" ] || python3 -m venv "$ROOT$VENV"
"$ROOT$VENV/bin/python" -m pip install --quiet --no-index --find-links "$WHEELHOUSE" \
    --upgrade ncpa

# -- config (kept if there), unit, polkit rule, GPIO access
[ -f "$ROOT/etc/ncpa/ncpa.toml" ] ||
    install -o root -g "$NCPA_GID" -m 640 "$SRC/docs/ncpa.example.toml" "$ROOT/etc/ncpa/ncpa.toml"
install -d -m 755 "$ROOT/etc/systemd/system"
install -o root -g root -m 644 "$HERE/ncpa.service" "$ROOT/etc/systemd/system/ncpa.service"
[ -d "$ROOT/etc/polkit-1/rules.d" ] || install -d -m 755 "$ROOT/etc/polkit-1/rules.d"
install -o root -g root -m 644 "$HERE/ncpa-hotspot.rules" \
    "$ROOT/etc/polkit-1/rules.d/50-ncpa-hotspot.rules"
# Raspberry Pi OS gives /dev/gpiochip* to group gpio; elsewhere this rule does
if [ -f "$ROOT/etc/udev/rules.d/60-ncpa-gpio.rules" ] ||
        ! grep -qs gpiochip "$ROOT"/etc/udev/rules.d/*.rules "$ROOT"/usr/lib/udev/rules.d/*.rules \
            "$ROOT"/lib/udev/rules.d/*.rules; then
    install -d -m 755 "$ROOT/etc/udev/rules.d"
    printf '%s\n' "# NCPA: the GPIO chips for group gpio (the agent's supplementary group)" \
        'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' \
        > "$ROOT/etc/udev/rules.d/60-ncpa-gpio.rules"
    chmod 644 "$ROOT/etc/udev/rules.d/60-ncpa-gpio.rules"
fi

systemctl daemon-reload
systemctl enable ncpa.service
cat <<NEXT
Installed $("$ROOT$VENV/bin/python" -I -m ncpa --version). Next (docs/deployment.md):
  keys:     sudo $VENV/bin/ncpa keys create-device; sudo $VENV/bin/ncpa keys import-issuer FILE ...
  config:   sudo editor /etc/ncpa/ncpa.toml
  wiring:   sudo -u ncpa $VENV/bin/ncpa hw-check --config /etc/ncpa/ncpa.toml
  start:    sudo systemctl start ncpa && journalctl -u ncpa -f
NEXT

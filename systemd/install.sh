#!/bin/sh
# Install NCPA on a Raspberry Pi (Raspberry Pi OS / Debian 12, run as root from a checkout):
#   sudo sh systemd/install.sh
# Creates the ncpa user, the factory install in /opt/ncpa, /etc/ncpa (config, keys) and
# /var/lib/ncpa (data), and enables the service. Running it again upgrades in place.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/ncpa

apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc network-manager
id ncpa >/dev/null 2>&1 || useradd --system --home /var/lib/ncpa --shell /usr/sbin/nologin ncpa
for g in dialout gpio; do getent group "$g" >/dev/null && usermod -aG "$g" ncpa; done

install -d -o root -g root -m 755 "$PREFIX"
rm -rf "$PREFIX/src" && cp -a "$SRC" "$PREFIX/src" && rm -rf "$PREFIX/src/.venv"
python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet "$PREFIX/src"

install -d -o root -g ncpa -m 750 /etc/ncpa /etc/ncpa/keys
[ -f /etc/ncpa/ncpa.toml ] || install -o root -g ncpa -m 640 "$SRC/docs/ncpa.example.toml" /etc/ncpa/ncpa.toml
install -d -o ncpa -g ncpa -m 750 /var/lib/ncpa

install -m 644 "$SRC/systemd/ncpa.service" /etc/systemd/system/ncpa.service
systemctl daemon-reload
systemctl enable ncpa.service
echo "Installed. Put the keys in /etc/ncpa/keys (see README), edit /etc/ncpa/ncpa.toml,"
echo "check the wiring with: sudo -u ncpa $PREFIX/venv/bin/ncpa hw-check --config /etc/ncpa/ncpa.toml"
echo "then: systemctl start ncpa && journalctl -u ncpa -f"

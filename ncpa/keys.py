"""`ncpa keys`: the keys of a real charger (docs/deployment.md, Keys).

    ncpa keys show                         what is installed, with fingerprints
    ncpa keys create-device                the charger's own keys (API token key, HTTPS cert)
    ncpa keys import-issuer FILE [--next]  the QR auth server's public key (or the next one)
    ncpa keys import-secret FILE|-         the secret that seals the QR envelope (hex)
    ncpa keys import-vendor FILE           the vendor's update-signing public key (Ed25519)
    ncpa keys rotate issuer|device         next issuer key becomes current | new device keys

The pinned keys go into the configured keys directory ([local_api] keys_dir, default
/etc/ncpa/keys), root-owned, group `ncpa`, mode 0640: the service reads them and cannot
change them. The device's own keys go into <data_dir>/api, owned by the service user,
mode 0600 (the service renews its certificate there). Never inside the installed code.
Development keys (certs/make_dev_keys.py) are never used by this command.
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import os
import pwd
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ncpa.config import ConfigError

DEFAULT_CONFIG = Path("/etc/ncpa/ncpa.toml")
ISSUER, ISSUER_NEXT = "qr-issuer.pem", "qr-issuer-next.pem"
SECRET, VENDOR = "qr-shared-secret", "vendor-signing.pem"
PUBLIC_MODE, PRIVATE_MODE = 0o640, 0o600


class KeysError(ValueError):
    """A key is refused or cannot be written; the message says which and why."""


@dataclass(frozen=True)
class Where:
    keys_dir: Path
    api_dir: Path  # the device's own keys
    charge_point_id: str
    group: str  # owning group of the pinned keys, and the service user of the device keys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help=f"TOML config (default {DEFAULT_CONFIG})")
    p.add_argument("--keys-dir", type=Path, help="override [local_api] keys_dir")
    p.add_argument("--group", default="ncpa", help="the service's user and group (ncpa)")
    sub = p.add_subparsers(dest="keys_cmd", required=True)
    sub.add_parser("show", help="what is installed, with SHA-256 fingerprints")
    sub.add_parser("create-device", help="the charger's own keys (kept if there)")
    imp = sub.add_parser("import-issuer", help="pin the QR auth server's public key")
    imp.add_argument("file", type=Path, help="PEM public key or certificate (EC P-256, RSA)")
    imp.add_argument("--next", action="store_true", help="as the next key (for a rotation)")
    imp.add_argument("--replace", action="store_true", help="replace a different current key")
    sec = sub.add_parser("import-secret", help="the QR envelope's shared secret (hex)")
    sec.add_argument("file", help="file with the hex secret, or - for standard input")
    sec.add_argument("--replace", action="store_true", help="replace a different secret")
    ven = sub.add_parser("import-vendor", help="pin the vendor's update-signing key")
    ven.add_argument("file", type=Path, help="PEM Ed25519 public key")
    ven.add_argument("--replace", action="store_true", help="replace a different key")
    rot = sub.add_parser("rotate", help="issuer: the next key becomes current; device: new keys")
    rot.add_argument("what", choices=("issuer", "device"))


def _where(args: argparse.Namespace) -> Where:
    from ncpa.api.settings import from_config
    from ncpa.config import load

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    settings = from_config(load(path))
    keys_dir = Path(args.keys_dir) if args.keys_dir else settings.keys_path
    _not_in_code(keys_dir)
    return Where(keys_dir, settings.api_dir, settings.charge_point_id, args.group)


def _not_in_code(folder: Path) -> None:
    """Keys inside the installed code would go with the next install (and be readable
    by anyone who can read the code): refused."""
    here = folder.resolve()
    paths = sysconfig.get_paths()
    code = {Path(sys.prefix), Path(paths["purelib"]), Path(paths["platlib"])}
    code.add(Path(__file__).resolve().parent)
    for c in code:
        c = c.resolve()
        if here == c or c in here.parents:
            raise KeysError(f"keys directory {folder} is inside the installed code ({c})")


# -- writing ------------------------------------------------------------------


def _ids(group: str, user: bool) -> tuple[int, int] | None:
    """(uid, gid) for chown when root; None when not root (a developer's own files)."""
    if os.geteuid() != 0:
        return None
    try:
        gid = grp.getgrnam(group).gr_gid
        uid = pwd.getpwnam(group).pw_uid if user else 0
    except KeyError as e:
        raise KeysError(
            f"user/group {group!r} does not exist: run systemd/install.sh first, or --group"
        ) from e
    return uid, gid


def _write(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    """Atomically, with its final mode and owner before it appears under its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _pin(where: Where, name: str, data: bytes, replace: bool) -> str:
    target = where.keys_dir / name
    if target.exists() and not replace:
        if target.read_bytes() == data:
            return f"{target}: already installed ({_fingerprint(data)})"
        raise KeysError(f"{target} holds a different key: pass --replace, or rotate")
    owner = _ids(where.group, user=False)
    if not where.keys_dir.exists():
        where.keys_dir.mkdir(parents=True, mode=0o750)
        if owner is not None:
            os.chown(where.keys_dir, *owner)
    _write(target, data, PUBLIC_MODE, owner)
    return f"{target}: installed ({_fingerprint(data)})"


def _read(source: str | Path) -> bytes:
    try:
        return sys.stdin.buffer.read() if str(source) == "-" else Path(source).read_bytes()
    except OSError as e:
        raise KeysError(f"{source}: {e.strerror}") from e


def _public_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


# -- commands -----------------------------------------------------------------


def import_issuer(where: Where, source: Path, nxt: bool, replace: bool) -> str:
    from ncpa.api.pairing import load_issuer_key

    data = _read(source)
    if b"PRIVATE KEY" in data:
        raise KeysError(f"{source}: a private key; the charger needs only the public key")
    try:
        key = load_issuer_key(data, str(source))
    except ValueError as e:
        raise KeysError(str(e)) from e
    return _pin(where, ISSUER_NEXT if nxt else ISSUER, _public_pem(key), replace)


def import_secret(where: Where, source: str, replace: bool) -> str:
    from ncpa.api.envelope import load_secret

    try:
        secret = load_secret(_read(source).decode("ascii"))
    except (UnicodeDecodeError, ValueError) as e:
        raise KeysError(f"{source}: {e}") from None
    if len(secret) < 32:
        raise KeysError(f"{source}: shared secret: at least 32 bytes (64 hex digits) here")
    return _pin(where, SECRET, secret.hex().encode() + b"\n", replace)


def import_vendor(where: Where, source: Path, replace: bool) -> str:
    from ncpa.updates.bundle import load_vendor_key

    data = _read(source)
    if b"PRIVATE KEY" in data:
        raise KeysError(f"{source}: a private key; it stays in the vendor's signing service")
    try:
        key = load_vendor_key(data)
    except ValueError as e:
        raise KeysError(f"{source}: {e}") from None
    return _pin(where, VENDOR, _public_pem(key), replace)


def rotate_issuer(where: Where) -> str:
    nxt, cur = where.keys_dir / ISSUER_NEXT, where.keys_dir / ISSUER
    if not nxt.exists():
        raise KeysError(f"no next issuer key ({nxt}): import-issuer FILE --next first")
    nxt.replace(cur)  # labels signed with the old key stop working now
    return f"{cur}: the next issuer key is now current ({_fingerprint(cur.read_bytes())})"


def create_device(where: Where, fresh: bool = False) -> list[str]:
    from ncpa.api import tls, tokens

    owner = _ids(where.group, user=True)
    folder = where.api_dir
    if fresh:  # the old private keys go: tokens issued with them stop working
        for name in (tokens.KEY_FILE, tls.KEY_FILE, tls.CERT_FILE):
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tokens.load_or_create_device_key(folder)
    cert, key = tls.ensure_certificate(folder, where.charge_point_id)
    for p in (folder, folder / tokens.KEY_FILE, cert, key):
        os.chmod(p, 0o700 if p == folder else (0o644 if p == cert else PRIVATE_MODE))
        if owner is not None:
            os.chown(p, *owner)
    fp = hashlib.sha256(_der(cert.read_bytes())).hexdigest()
    return [f"{folder}: device keys ready", f"HTTPS certificate SHA-256: {fp}"]


def _der(pem: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def show(where: Where) -> list[str]:
    from ncpa.api import tls, tokens

    lines = [f"keys directory {where.keys_dir}:"]
    for name, what in ((ISSUER, "QR issuer key"), (ISSUER_NEXT, "next QR issuer key"),
                       (SECRET, "QR shared secret"), (VENDOR, "update-signing key")):  # fmt: skip
        p = where.keys_dir / name
        if p.exists():
            st = p.stat()
            shown = "(secret)" if name == SECRET else _fingerprint(p.read_bytes())
            lines.append(f"  {what:<20} {name:<20} {oct(st.st_mode & 0o777)} {shown}")
        else:
            lines.append(f"  {what:<20} {name:<20} missing")
    lines.append(f"device keys {where.api_dir}:")
    for name in (tokens.KEY_FILE, tls.KEY_FILE, tls.CERT_FILE):
        p = where.api_dir / name
        state = oct(p.stat().st_mode & 0o777) if p.exists() else "missing"
        lines.append(f"  {name:<26} {state}")
    return lines


def command(args: argparse.Namespace) -> int:
    try:
        where = _where(args)
        cmd = args.keys_cmd
        if cmd == "show":
            out = show(where)
        elif cmd == "create-device":
            out = create_device(where)
        elif cmd == "import-issuer":
            out = [import_issuer(where, args.file, args.next, args.replace)]
        elif cmd == "import-secret":
            out = [import_secret(where, args.file, args.replace)]
        elif cmd == "import-vendor":
            out = [import_vendor(where, args.file, args.replace)]
        elif args.what == "issuer":
            out = [rotate_issuer(where)]
        else:
            out = create_device(where, fresh=True)
    except (KeysError, ConfigError) as e:
        print(f"ncpa keys: {e}", file=sys.stderr)
        return 2
    except PermissionError as e:
        print(f"ncpa keys: {e.filename}: permission denied (run with sudo)", file=sys.stderr)
        return 2
    print("\n".join(out))
    return 0

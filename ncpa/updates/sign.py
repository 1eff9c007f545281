"""Make a signed update bundle (the vendor's side; see docs/updates.md).

    python -m ncpa.updates.sign --key certs/dev/vendor-signing.key --version 0.2.0 \\
        --output ncpa-0.2.0.tar.gz SRC_DIR
    python -m ncpa.updates.sign --verify --pubkey certs/dev/vendor-signing.pem ncpa-0.2.0.tar.gz

SRC_DIR's files (recursively, without __pycache__ and *.pyc) become the payload.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.updates.bundle import (
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    VERSION_RE,
    BundleError,
    FileEntry,
    Manifest,
    load_vendor_key,
    verify_bundle,
)

SKIP_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def load_signing_key(data: bytes) -> ed25519.Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError("signing key: expected an Ed25519 private key")
    return key


def collect(src: Path) -> list[tuple[Path, FileEntry]]:
    out: list[tuple[Path, FileEntry]] = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in SKIP_DIRS for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise ValueError(f"{rel}: symlinks cannot go into a bundle")
        if not path.is_file():
            continue
        data = path.read_bytes()
        entry = FileEntry(
            rel.as_posix(), len(data), hashlib.sha256(data).hexdigest(), path.stat().st_mode & 0o755
        )
        out.append((path, entry))
    if not out:
        raise ValueError(f"{src}: no files")
    return out


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def build_bundle(src: Path, version: str, key: ed25519.Ed25519PrivateKey, output: Path) -> Manifest:
    if not VERSION_RE.match(version):
        raise ValueError(f"version {version!r}: letters, digits and . + _ - only")
    files = collect(src)
    manifest = Manifest(version, int(time.time()), tuple(e for _, e in files))
    data = manifest.to_json()
    gz = output.name.endswith((".gz", ".tgz"))
    with tarfile.open(output, "w:gz") if gz else tarfile.open(output, "w") as tar:
        _add_bytes(tar, MANIFEST, data)
        _add_bytes(tar, SIGNATURE, key.sign(data))
        for path, entry in files:
            _add_bytes(tar, PAYLOAD + entry.path, path.read_bytes(), entry.mode)
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ncpa.updates.sign", description=__doc__)
    p.add_argument("source", type=Path, help="folder to pack (or, with --verify, the bundle)")
    p.add_argument("--key", type=Path, help="Ed25519 private key (PEM)")
    p.add_argument("--version", help="release version")
    p.add_argument("--output", type=Path, help="bundle file (.tar or .tar.gz)")
    p.add_argument("--verify", action="store_true", help="check a bundle instead")
    p.add_argument("--pubkey", type=Path, help="--verify: vendor public key (PEM)")
    args = p.parse_args(argv)
    try:
        if args.verify:
            if not args.pubkey:
                p.error("--verify needs --pubkey")
            manifest = verify_bundle(args.source, load_vendor_key(args.pubkey.read_bytes()))
            print(f"{args.source}: version {manifest.version}, {len(manifest.files)} files, OK")
            return 0
        if not (args.key and args.version and args.output):
            p.error("--key, --version and --output are required")
        manifest = build_bundle(
            args.source, args.version, load_signing_key(args.key.read_bytes()), args.output
        )
    except (OSError, ValueError) as e:  # BundleError is a ValueError
        print(f"sign: {e}", file=sys.stderr)
        return 1 if isinstance(e, BundleError) else 2
    print(f"{args.output}: version {manifest.version}, {len(manifest.files)} files, signed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

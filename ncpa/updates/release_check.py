"""Check an installed release slot before its code is imported (at every start).

The slot lives in the data dir, which the service user can write, so the signature
checked at upload time proves nothing later: the launcher checks the slot again, with
the pinned vendor key, before it puts the slot on sys.path. The slot must hold exactly
the files its signed manifest lists, each with the listed size and SHA-256: no extra
file (a planted `__pycache__/*.pyc` would run instead of the checked source), no link.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from ncpa.updates.bundle import (
    CHUNK,
    RELEASE_MANIFEST,
    RELEASE_SIGNATURE,
    BundleError,
    Manifest,
    verify_manifest,
)

HEALTHY_MARK = ".healthy"  # written by Releases.mark_healthy
_OWN_FILES = {RELEASE_MANIFEST, RELEASE_SIGNATURE, HEALTHY_MARK}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_release(slot: Path, vendor_key: ed25519.Ed25519PublicKey) -> Manifest:
    """The slot's manifest if the slot is exactly what the vendor signed. Raises BundleError."""
    try:
        raw = (slot / RELEASE_MANIFEST).read_bytes()
        signature = (slot / RELEASE_SIGNATURE).read_bytes()
    except OSError as e:
        raise BundleError(f"release {slot.name}: no signed manifest ({e.strerror})") from e
    manifest = verify_manifest(raw, signature, vendor_key)
    if manifest.version != slot.name:
        raise BundleError(f"release {slot.name}: the manifest is of version {manifest.version}")
    wanted = {f.path: f for f in manifest.files}
    for top, dirs, files in os.walk(slot, followlinks=False):
        for name in dirs + files:
            path = Path(top) / name
            rel = path.relative_to(slot).as_posix()
            if path.is_symlink():
                raise BundleError(f"release {slot.name}: {rel} is a link")
            if name in dirs:
                continue
            if rel in _OWN_FILES:
                continue
            entry = wanted.get(rel)
            if entry is None:
                raise BundleError(f"release {slot.name}: {rel} is not in the signed manifest")
            if path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
                raise BundleError(f"release {slot.name}: {rel} differs from the signed manifest")
    missing = [p for p in wanted if not (slot / p).is_file()]
    if missing:
        raise BundleError(f"release {slot.name}: files missing: {sorted(missing)[:3]}")
    return manifest

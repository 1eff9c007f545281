"""The signed update bundle (see docs/updates.md).

A tar file (plain or gzip) whose first two members are `manifest.json` and
`manifest.sig` (the raw 64-byte Ed25519 signature of the manifest's exact
bytes), followed by one `payload/<path>` regular file per manifest entry:

    {"format": "ncpa-update/1", "version": "0.2.0", "created": 1763700000,
     "files": [{"path": "ncpa/__init__.py", "size": 120, "sha256": "<hex>", "mode": 420}]}

The signature is checked against the pinned vendor key before anything else is
read from the bundle; then every payload member must be listed, with the
listed size and SHA-256, and every listed file must be there. Links, devices,
absolute paths and `..` are refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

FORMAT = "ncpa-update/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PAYLOAD = "payload/"
RELEASE_MANIFEST = ".ncpa-manifest.json"  # kept in the release slot, beside the payload:
RELEASE_SIGNATURE = ".ncpa-manifest.sig"  # the signed bytes and their signature, checked at start
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_FILES = 20_000
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
CHUNK = 64 * 1024


class BundleError(ValueError):
    """The bundle is not signed by the vendor, or does not match its manifest."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str
    mode: int = 0o644


@dataclass(frozen=True)
class Manifest:
    version: str
    created: int
    files: tuple[FileEntry, ...]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "created": self.created,
                "files": [
                    {"path": f.path, "size": f.size, "sha256": f.sha256, "mode": f.mode}
                    for f in self.files
                ],
            },
            indent=1,
            sort_keys=True,
        ).encode()


def load_vendor_key(data: bytes) -> ed25519.Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError("vendor key: expected an Ed25519 public key")
    return key


def safe_path(path: str) -> str:
    """A relative POSIX path without '..', '.', empty or absolute parts."""
    p = PurePosixPath(path)
    if (
        not path
        or p.is_absolute()
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise BundleError(f"unsafe path in bundle: {path!r}")
    return str(p)


def _entry(raw: Any) -> FileEntry:
    if not isinstance(raw, dict):
        raise BundleError("manifest: file entry must be an object")
    path, size, digest = raw.get("path"), raw.get("size"), raw.get("sha256")
    mode = raw.get("mode", 0o644)
    if not isinstance(path, str):
        raise BundleError("manifest: file path must be a string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BundleError(f"manifest: bad size for {path!r}")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise BundleError(f"manifest: bad sha256 for {path!r}")
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o777:
        raise BundleError(f"manifest: bad mode for {path!r}")
    return FileEntry(safe_path(path), size, digest, mode & 0o755)  # never setuid, never o+w


def parse_manifest(data: bytes) -> Manifest:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError("manifest: not JSON") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BundleError(f"manifest: format must be {FORMAT!r}")
    version = raw.get("version")
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise BundleError("manifest: bad version")
    created = raw.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise BundleError("manifest: created must be epoch seconds")
    files = raw.get("files")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise BundleError("manifest: files must be a non-empty list")
    entries = tuple(_entry(f) for f in files)
    if len({e.path for e in entries}) != len(entries):
        raise BundleError("manifest: duplicate path")
    return Manifest(version, created, entries)


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if not member.isreg() or member.size > limit:
        raise BundleError(f"{member.name}: not a regular file of at most {limit} bytes")
    f = tar.extractfile(member)
    assert f is not None
    return f.read()


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BundleError("not a tar bundle") from e


def verify_manifest(
    manifest: bytes, signature: bytes, vendor_key: ed25519.Ed25519PublicKey
) -> Manifest:
    """The manifest, if `signature` is the vendor's over its exact bytes. Raises BundleError."""
    try:
        vendor_key.verify(signature, manifest)
    except InvalidSignature as e:
        raise BundleError("signature does not match the vendor key") from e
    return parse_manifest(manifest)


def _signed_manifest(
    tar: tarfile.TarFile, vendor_key: ed25519.Ed25519PublicKey
) -> tuple[Manifest, bytes, bytes]:
    first, second = tar.next(), tar.next()
    if first is None or second is None or (first.name, second.name) != (MANIFEST, SIGNATURE):
        raise BundleError("unsigned bundle: manifest.json and manifest.sig must come first")
    manifest = _read_member(tar, first, MAX_MANIFEST_BYTES)
    signature = _read_member(tar, second, 64)
    return verify_manifest(manifest, signature, vendor_key), manifest, signature


def _payload(tar: tarfile.TarFile, manifest: Manifest) -> Iterator[tuple[FileEntry, IO[bytes]]]:
    """Each payload member with its manifest entry; checks names, types and completeness."""
    wanted = {f.path: f for f in manifest.files}
    seen: set[str] = set()
    # tar.next(), not iteration: iterating restarts at the first member
    while (member := tar.next()) is not None:
        if member.isdir() and member.name.rstrip("/") + "/" == PAYLOAD:
            continue
        if not member.name.startswith(PAYLOAD):
            raise BundleError(f"unexpected member {member.name!r}")
        rel = safe_path(member.name[len(PAYLOAD) :].rstrip("/"))
        if member.isdir():
            continue
        if not member.isreg():
            raise BundleError(f"{rel}: only regular files are allowed")
        entry = wanted.get(rel)
        if entry is None or rel in seen:
            raise BundleError(f"{rel}: not in the manifest (or twice in the bundle)")
        if member.size != entry.size:
            raise BundleError(f"{rel}: size differs from the manifest")
        seen.add(rel)
        f = tar.extractfile(member)
        assert f is not None
        yield entry, f
    missing = set(wanted) - seen
    if missing:
        raise BundleError(f"files missing from the bundle: {sorted(missing)[:5]}")


def _copy_hashed(src: IO[bytes], dst: IO[bytes] | None) -> str:
    h = hashlib.sha256()
    while chunk := src.read(CHUNK):
        h.update(chunk)
        if dst is not None:
            dst.write(chunk)
    return h.hexdigest()


def verify_bundle(path: Path, vendor_key: ed25519.Ed25519PublicKey) -> Manifest:
    """Check signature and every file's hash, extracting nothing. Raises BundleError."""
    with _open(path) as tar:
        try:
            manifest, _raw, _sig = _signed_manifest(tar, vendor_key)
            for entry, f in _payload(tar, manifest):
                if _copy_hashed(f, None) != entry.sha256:
                    raise BundleError(f"{entry.path}: sha256 differs from the manifest")
        except (tarfile.TarError, EOFError, OSError) as e:
            raise BundleError(f"corrupt bundle: {e}") from e
    return manifest


def extract_bundle(path: Path, vendor_key: ed25519.Ed25519PublicKey, dest: Path) -> Manifest:
    """Extract into dest (which must not exist), checking everything again on the way."""
    dest.mkdir(parents=True)
    with _open(path) as tar:
        try:
            manifest, raw, signature = _signed_manifest(tar, vendor_key)
            for entry, f in _payload(tar, manifest):
                target = dest / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as out:
                    digest = _copy_hashed(f, out)
                if digest != entry.sha256:
                    raise BundleError(f"{entry.path}: sha256 differs from the manifest")
                target.chmod(entry.mode)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise BundleError(f"corrupt bundle: {e}") from e
    # the signed bytes as they came, so that the launcher can check the slot at every start
    (dest / RELEASE_MANIFEST).write_bytes(raw)
    (dest / RELEASE_SIGNATURE).write_bytes(signature)
    return manifest

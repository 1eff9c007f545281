"""OpenEVSE RAPI line framing: `$CC args [:ss]^xk\\r` with an 8-bit XOR checksum.

Legacy `*ck` (8-bit sum) checksums are accepted on input; lines without a checksum
are refused, so a flipped bit on the serial line can never become a command result.
"""

from __future__ import annotations

from dataclasses import dataclass


class FrameError(ValueError):
    """A line that is not a valid RAPI frame (garbage, bad checksum)."""


def xor_checksum(text: str) -> int:
    x = 0
    for b in text.encode("ascii"):
        x ^= b
    return x


def sum_checksum(text: str) -> int:
    return sum(text.encode("ascii")) & 0xFF


def encode(command: str, *args: str, seq: int | None = None) -> bytes:
    body = "$" + " ".join((command, *args))
    if seq is not None:
        body += f" :{seq:02X}"
    return f"{body}^{xor_checksum(body):02X}\r".encode("ascii")


@dataclass(frozen=True, slots=True)
class Frame:
    kind: str  # "OK", "NK", "AT", "ST", "AB", ... (the two letters after '$')
    args: tuple[str, ...]
    seq: int | None = None


def decode(raw: bytes) -> Frame:
    """One line, without its '\\r'. Bytes before the last '$' are line noise and skipped."""
    start = raw.rfind(b"$")
    if start < 0:
        raise FrameError(f"no start of frame in {raw!r}")
    try:
        line = raw[start:].decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise FrameError(f"non-ASCII bytes in {raw!r}") from e
    if "^" in line:
        body, _, ck = line.rpartition("^")
        expected = xor_checksum(body)
    elif "*" in line:
        body, _, ck = line.rpartition("*")
        expected = sum_checksum(body)
    else:
        raise FrameError(f"no checksum in {line!r}")
    try:
        got = int(ck, 16)
    except ValueError as e:
        raise FrameError(f"bad checksum field in {line!r}") from e
    if len(ck) != 2 or got != expected:
        raise FrameError(f"checksum mismatch in {line!r} (expected {expected:02X})")
    parts = body[1:].split()
    if not parts or len(parts[0]) != 2:
        raise FrameError(f"no command in {line!r}")
    seq = None
    if len(parts) > 1 and parts[-1].startswith(":"):
        try:
            seq = int(parts[-1][1:], 16)
        except ValueError as e:
            raise FrameError(f"bad sequence id in {line!r}") from e
        parts = parts[:-1]
    return Frame(parts[0], tuple(parts[1:]), seq)

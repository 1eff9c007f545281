"""Declarative Modbus register maps for energy meters (the TOML files in meter_maps/).

A map names, for each quantity, its register address, data type, scale (to V, A, W,
Wh) and word order; `RegisterMap.blocks()` groups registers that sit next to each
other so that one request reads them all.
"""

from __future__ import annotations

import itertools
import math
import struct
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAPS_DIR = Path(__file__).parent / "meter_maps"

# type name -> (struct format of the big-endian bytes, number of 16-bit registers)
TYPES: dict[str, tuple[str, int]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "int64": (">q", 4),
    "uint64": (">Q", 4),
    "float32": (">f", 2),
    "float64": (">d", 4),
}
QUANTITIES = (
    *(f"{q}_l{n}" for q in ("voltage", "current", "power") for n in (1, 2, 3)),
    "energy_import",
)
REQUIRED = ("voltage_l1", "current_l1", "power_l1", "energy_import")
FUNCTIONS = ("input", "holding")
MAX_REGISTERS_PER_REQUEST = 125  # Modbus limit for function 03/04


class MapError(ValueError):
    """The register map file is wrong; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Register:
    name: str
    address: int
    type: str
    scale: float = 1.0
    word_order: str = "big"  # "big": high word first; "little": low word first

    @property
    def size(self) -> int:
        return TYPES[self.type][1]

    def decode(self, words: list[int]) -> float:
        if self.word_order == "little":
            words = list(reversed(words))
        raw = b"".join(w.to_bytes(2, "big") for w in words)
        value: float = struct.unpack(TYPES[self.type][0], raw)[0]
        return float(value) * self.scale


@dataclass(frozen=True, slots=True)
class Block:
    """Registers read together in one request."""

    address: int
    count: int
    registers: tuple[Register, ...]

    def decode(self, words: list[int]) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.registers:
            offset = r.address - self.address
            out[r.name] = r.decode(words[offset : offset + r.size])
        return out


@dataclass(frozen=True)
class RegisterMap:
    name: str
    function: str  # "input" (04) or "holding" (03)
    phases: int
    registers: tuple[Register, ...]
    max_gap: int = 0  # unused registers a block may span (some meters refuse holes)
    max_block: int = MAX_REGISTERS_PER_REQUEST

    def blocks(self) -> list[Block]:
        regs = sorted(self.registers, key=lambda r: r.address)
        blocks: list[list[Register]] = []
        for r in regs:
            if blocks:
                cur = blocks[-1]
                start = cur[0].address
                end = max(x.address + x.size for x in cur)
                fits = r.address + r.size - start <= self.max_block
                if r.address - end <= self.max_gap and fits:
                    cur.append(r)
                    continue
            blocks.append([r])
        out = []
        for b in blocks:
            start = b[0].address
            end = max(x.address + x.size for x in b)
            out.append(Block(start, end - start, tuple(b)))
        return out


def _need(ok: bool, where: str, msg: str) -> None:
    if not ok:
        raise MapError(f"{where}: {msg}")


def parse_map(data: dict[str, Any], where: str) -> RegisterMap:
    known = {"name", "function", "word_order", "phases", "max_gap", "max_block", "registers"}
    for key in data:
        _need(key in known, f"{where}: {key}", "unknown key")
    function = data.get("function", "holding")
    _need(function in FUNCTIONS, f"{where}: function", f"one of {FUNCTIONS}")
    word_order = data.get("word_order", "big")
    _need(word_order in ("big", "little"), f"{where}: word_order", "big or little")
    phases = data.get("phases", 3)
    _need(phases in (1, 3), f"{where}: phases", "1 or 3")
    max_gap = data.get("max_gap", 0)
    _need(isinstance(max_gap, int) and max_gap >= 0, f"{where}: max_gap", "an integer >= 0")
    max_block = data.get("max_block", MAX_REGISTERS_PER_REQUEST)
    _need(
        isinstance(max_block, int) and 4 <= max_block <= MAX_REGISTERS_PER_REQUEST,
        f"{where}: max_block",
        f"an integer 4..{MAX_REGISTERS_PER_REQUEST}",
    )
    raw_regs = data.get("registers")
    _need(isinstance(raw_regs, dict), f"{where}: registers", "missing table")
    assert isinstance(raw_regs, dict)
    regs: list[Register] = []
    for name, spec in raw_regs.items():
        at = f"{where}: registers.{name}"
        _need(name in QUANTITIES, at, f"unknown quantity (known: {', '.join(QUANTITIES)})")
        _need(isinstance(spec, dict), at, "must be a table {address, type, scale}")
        for key in spec:
            _need(key in ("address", "type", "scale", "word_order"), f"{at}.{key}", "unknown key")
        address = spec.get("address")
        _need(isinstance(address, int) and 0 <= address <= 0xFFFF, f"{at}.address", "0..65535")
        rtype = spec.get("type")
        _need(rtype in TYPES, f"{at}.type", f"one of {', '.join(TYPES)}")
        scale = spec.get("scale", 1.0)
        _need(
            isinstance(scale, int | float) and not isinstance(scale, bool) and scale != 0,
            f"{at}.scale",
            "a non-zero number",
        )
        order = spec.get("word_order", word_order)
        _need(order in ("big", "little"), f"{at}.word_order", "big or little")
        assert isinstance(address, int) and isinstance(rtype, str)
        regs.append(Register(name, address, rtype, float(scale), order))
    names = {r.name for r in regs}
    for name in REQUIRED:
        _need(name in names, f"{where}: registers", f"{name} is required")
    if phases == 3:
        for q in ("voltage", "current", "power"):
            for n in (2, 3):
                _need(f"{q}_l{n}" in names, f"{where}: registers", f"{q}_l{n} is required")
    spans = sorted((r.address, r.address + r.size, r.name) for r in regs)
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        _need(start >= end, f"{where}: registers", f"{a} and {b} overlap")
    return RegisterMap(
        name=str(data.get("name", where)),
        function=function,
        phases=phases,
        registers=tuple(regs),
        max_gap=max_gap,
        max_block=max_block,
    )


def builtin_maps() -> list[str]:
    return sorted(p.stem for p in MAPS_DIR.glob("*.toml"))


def load_map(model: str) -> RegisterMap:
    """A built-in model name (`sdm630`) or a path to a map file (`/etc/ncpa/mymeter.toml`)."""
    path = Path(model) if model.endswith(".toml") else MAPS_DIR / f"{model}.toml"
    if not path.is_file():
        raise MapError(f"{model}: no such meter map (built in: {', '.join(builtin_maps())})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise MapError(f"{path}: {e}") from e
    return parse_map(data, str(path.name))


def is_finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)

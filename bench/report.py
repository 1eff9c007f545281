"""Figures and how they are printed: one aligned table per benchmark, units always shown."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was really measured."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def print_table(title: str, figures: Sequence[Figure]) -> None:
    print(title)
    width = max(len(f.name) for f in figures)
    for f in figures:
        line = f"  {f.name:<{width}}  {_number(f.value):>8} {f.unit:<3}"
        print(f"{line}   {f.note}" if f.note else line.rstrip())

"""DSMR telegrams of several meter generations, as a meter puts them on the P1 port."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (poly 0xA001 reflected, init 0), as DSMR 4+ specifies: from '/' to '!'."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body_lines: list[str]) -> str:
    body = "\r\n".join(body_lines) + "\r\n!"
    return body + f"{crc16_arc(body.encode('ascii')):04X}\r\n"


def dsmr22(usage_kw: float = 1.2, tariff: int = 2) -> str:
    # DSMR 2.2 (Kaifa/ISKRA of ~2010): no CRC, no per-phase values
    lines = [
        "/ISk5\\2ME382-1003",
        "",
        "0-0:96.1.1(4B414C37303035313039383930333132)",
        "1-0:1.8.1(00185.000*kWh)",
        "1-0:1.8.2(00084.000*kWh)",
        "1-0:2.8.1(00013.000*kWh)",
        "1-0:2.8.2(00019.000*kWh)",
        f"0-0:96.14.0({tariff:04d})",
        f"1-0:1.7.0({usage_kw:07.3f}*kW)",
        "1-0:2.7.0(0000.00*kW)",
        "0-0:17.0.0(999*A)",
        "0-0:96.3.10(1)",
        "0-0:96.13.1()",
        "0-0:96.13.0()",
        "!",
    ]
    return "\r\n".join(lines) + "\r\n"


def dsmr4(currents: tuple[int, int, int] = (3, 1, 2), tariff: int = 2) -> str:
    # DSMR 4.2 (Landis+Gyr E350): CRC, per-phase currents and powers, no voltages
    powers = [c * 0.23 for c in currents]
    return with_crc(
        [
            "/KFM5KAIFA-METER",
            "",
            "1-3:0.2.8(42)",
            "0-0:1.0.0(161113205757W)",
            "0-0:96.1.1(3336303036303630303030303030303030)",
            "1-0:1.8.1(001581.123*kWh)",
            "1-0:1.8.2(001435.706*kWh)",
            "1-0:2.8.1(000000.000*kWh)",
            "1-0:2.8.2(000000.000*kWh)",
            f"0-0:96.14.0({tariff:04d})",
            f"1-0:1.7.0({sum(powers):06.3f}*kW)",
            "1-0:2.7.0(00.000*kW)",
            "0-0:96.7.21(00015)",
            "0-0:96.7.9(00007)",
            "1-0:99.97.0(0)(0-0:96.7.19)",
            "1-0:32.32.0(00000)",
            "1-0:32.36.0(00000)",
            "0-0:96.13.1()",
            "0-0:96.13.0()",
            f"1-0:31.7.0({currents[0]:03d}*A)",
            f"1-0:51.7.0({currents[1]:03d}*A)",
            f"1-0:71.7.0({currents[2]:03d}*A)",
            f"1-0:21.7.0({powers[0]:06.3f}*kW)",
            f"1-0:41.7.0({powers[1]:06.3f}*kW)",
            f"1-0:61.7.0({powers[2]:06.3f}*kW)",
            "1-0:22.7.0(00.000*kW)",
            "1-0:42.7.0(00.000*kW)",
            "1-0:62.7.0(00.000*kW)",
        ]
    )


def dsmr5(
    currents: tuple[int, ...] = (10, 4, 2),
    tariff: int = 1,
    export_l1_kw: float = 0.0,
    voltage: float = 230.0,
) -> str:
    # DSMR 5.0 (Sagemcom XS210): CRC, currents, powers and voltages; one line per phase present
    lines = [
        "/Ene5\\T210-D ESMR5.0",
        "",
        "1-3:0.2.8(50)",
        "0-0:1.0.0(200426223325S)",
        "0-0:96.1.1(4530303437303030303037363330383137)",
        "1-0:1.8.1(002130.621*kWh)",
        "1-0:1.8.2(001989.811*kWh)",
        "1-0:2.8.1(000000.000*kWh)",
        "1-0:2.8.2(000000.000*kWh)",
        f"0-0:96.14.0({tariff:04d})",
        "1-0:1.7.0(00.360*kW)",
        "1-0:2.7.0(00.000*kW)",
        "0-0:96.7.21(00004)",
        "0-0:96.7.9(00003)",
        "1-0:99.97.0(0)(0-0:96.7.19)",
        "1-0:32.32.0(00002)",
        "1-0:32.36.0(00000)",
        "0-0:96.13.0()",
    ]
    labels = ((32, 31, 21, 22), (52, 51, 41, 42), (72, 71, 61, 62))
    for n, amps in enumerate(currents):
        v, i, p_in, p_out = labels[n]
        export = export_l1_kw if n == 0 else 0.0
        imp = 0.0 if export else amps * voltage / 1000
        lines += [
            f"1-0:{v}.7.0({voltage:05.1f}*V)",
            f"1-0:{i}.7.0({amps:03d}*A)",
            f"1-0:{p_in}.7.0({imp:06.3f}*kW)",
            f"1-0:{p_out}.7.0({export:06.3f}*kW)",
        ]
    return with_crc(lines)


def emucs(currents: tuple[float, float, float] = (8.5, 3.0, 1.25), tariff: int = 2) -> str:
    # Belgian e-MUCS 1.7 (Fluvius, Sagemcom T211): decimals on currents, 0-0:96.1.4 header
    lines = [
        "/FLU5\\253769484_A",
        "",
        "0-0:96.1.4(50217)",
        "0-0:96.1.1(3153414733313031303231363035)",
        "0-0:1.0.0(200512135409S)",
        "1-0:1.8.1(000000.034*kWh)",
        "1-0:1.8.2(000015.758*kWh)",
        "1-0:2.8.1(000000.000*kWh)",
        "1-0:2.8.2(000000.011*kWh)",
        f"0-0:96.14.0({tariff:04d})",
        "1-0:1.7.0(00.000*kW)",
        "1-0:2.7.0(00.000*kW)",
    ]
    for n, amps in enumerate(currents):
        v, i, p_in, p_out = ((32, 31, 21, 22), (52, 51, 41, 42), (72, 71, 61, 62))[n]
        lines += [
            f"1-0:{p_in}.7.0({amps * 0.23:06.3f}*kW)",
            f"1-0:{p_out}.7.0(00.000*kW)",
            f"1-0:{v}.7.0(230.0*V)",
            f"1-0:{i}.7.0({amps:06.2f}*A)",
        ]
    lines += ["0-0:96.3.10(1)", "0-0:17.0.0(999.9*kW)", "1-0:31.4.0(999*A)", "0-0:96.13.0()"]
    return with_crc(lines)


def corrupt_crc(telegram: str) -> str:
    """Flip one digit of a value: the CRC no longer matches."""
    return telegram.replace("1-0:1.8.1(00", "1-0:1.8.1(90", 1)


def truncated(telegram: str) -> str:
    """The first half of a telegram, as when the cable is pulled mid-telegram."""
    return telegram[: len(telegram) // 2]


class P1Feeder:
    """A DSMR 5 meter on the master side of a pty: one telegram per period.

    `currents()` gives the grid currents to report (whole amps, rounded up as a
    meter would not: conservative for the test). `sent` counts telegrams.
    """

    def __init__(self, fd: int, currents: Callable[[], tuple[float, ...]], period_s: float) -> None:
        self.fd = fd
        self.currents = currents
        self.period_s = period_s
        self.sent = 0
        self.history: list[tuple[float, ...]] = []  # what each telegram said
        self.times: list[float] = []  # perf_counter() after its last byte was written

    async def run(self) -> None:
        while True:
            amps = self.currents()
            text = dsmr5(tuple(math.ceil(a) for a in amps))
            os.write(self.fd, text.encode("ascii"))
            self.times.append(time.perf_counter())
            self.history.append(amps)
            self.sent += 1
            await asyncio.sleep(self.period_s)

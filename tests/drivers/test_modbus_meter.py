"""The Modbus meter driver against a real pymodbus server holding each meter's map."""

from __future__ import annotations

import asyncio

import pytest

from hal.drivers.modbus_meter import ModbusLink, ModbusMeter
from hal.drivers.register_map import MapError, load_map, parse_map
from hal.errors import DeviceError, DeviceTimeout
from tests.drivers.modbus_peer import MeterPeer, PtyBridge, meter_peer


async def read_fails(meter: ModbusMeter, error: type[Exception], match: str | None = None) -> None:
    with pytest.raises(error, match=match):
        await meter.read()


def tcp_link(port: int) -> ModbusLink:
    return ModbusLink(host="127.0.0.1", tcp_port=port, timeout=0.3, retries=0)


@pytest.mark.parametrize("model", ["sdm630", "sdm120", "abb_b23"])
async def test_reads_every_builtin_map_over_tcp(model: str) -> None:
    rmap = load_map(model)
    async with meter_peer(rmap, device_id=3) as peer:
        meter = ModbusMeter(tcp_link(peer.port), rmap, device_id=3)
        r = await meter.read()
        assert r.voltage_v[0] == pytest.approx(230.1, abs=0.01)
        assert r.current_a[0] == pytest.approx(16.0, abs=0.01)
        assert r.power_w[0] == pytest.approx(3680.0, abs=0.1)
        assert r.energy_wh == pytest.approx(12345.0, abs=10)
        if rmap.phases == 3:
            assert r.voltage_v[2] == pytest.approx(231.0, abs=0.01)
        else:
            assert r.voltage_v[1:] == (0.0, 0.0)
        # contiguous registers come in one request each: SDM 2 blocks, ABB 2 blocks
        assert peer.requests == len(rmap.blocks()) == 2
        await meter.link.close()


async def test_rtu_over_a_serial_line() -> None:
    rmap = load_map("sdm630")
    async with meter_peer(rmap, device_id=2, framer="rtu") as peer:
        bridge = PtyBridge(peer.port)
        await bridge.start()
        link = ModbusLink(port=bridge.path, baudrate=9600, timeout=0.3, retries=0)
        meter = ModbusMeter(link, rmap, device_id=2)
        try:
            r = await meter.read()
            assert r.energy_wh == pytest.approx(12345.0, abs=1)
            peer.mode = "crc"
            await read_fails(meter, DeviceError, "CRC")
            peer.mode = "silent"
            await read_fails(meter, DeviceTimeout, "no answer")
            peer.mode = "ok"
            assert (await meter.read()).voltage_v[1] == pytest.approx(229.5, abs=0.01)
        finally:
            await link.close()
            await bridge.stop()


async def test_two_meters_share_one_rs485_line() -> None:
    rmap = load_map("sdm120")
    async with meter_peer(rmap, device_id=1, framer="rtu", more_ids=(2,)) as peer:
        peer.others[2]["energy_import"] = 777.0
        bridge = PtyBridge(peer.port)
        await bridge.start()
        link = ModbusLink(port=bridge.path, baudrate=9600, timeout=0.3, retries=0)
        first, second = ModbusMeter(link, rmap, device_id=1), ModbusMeter(link, rmap, device_id=2)
        try:
            # concurrent reads from two connectors' loops: the link serializes them
            a, b = await asyncio.gather(first.read(), second.read())
            assert (a.energy_wh, b.energy_wh) == (pytest.approx(12345.0), pytest.approx(777.0))
        finally:
            await link.close()
            await bridge.stop()


async def test_timeout_exception_response_and_recovery_over_tcp() -> None:
    rmap = load_map("sdm120")
    async with meter_peer(rmap) as peer:
        meter = ModbusMeter(tcp_link(peer.port), rmap)
        peer.mode = "silent"
        await read_fails(meter, DeviceTimeout)
        peer.mode = "exception"
        await read_fails(meter, DeviceError, "exception 4 \\(device failure\\)")
        peer.mode = "ok"
        assert (await meter.read()).energy_wh == pytest.approx(12345.0)
        await meter.link.close()


async def test_reconnects_after_the_server_goes_away() -> None:
    rmap = load_map("sdm120")
    async with meter_peer(rmap) as peer:
        port = peer.port
        link = tcp_link(port)
        meter = ModbusMeter(link, rmap)
        await meter.read()
    await read_fails(meter, DeviceError)
    # a new server on the same port: the next read reconnects
    again = MeterPeer(rmap)
    again.port = port
    await again.start()
    try:
        assert (await meter.read()).energy_wh == pytest.approx(12345.0)
    finally:
        await link.close()
        await again.stop()


async def test_implausible_readings_are_rejected() -> None:
    rmap = load_map("sdm630")
    async with meter_peer(rmap) as peer:
        meter = ModbusMeter(tcp_link(peer.port), rmap)
        await meter.read()
        peer.values["energy_import"] = 12000.0  # backwards
        await read_fails(meter, DeviceError, "backwards")
        peer.values["energy_import"] = 12346.0
        peer.values["voltage_l2"] = 4000.0
        await read_fails(meter, DeviceError, "voltage")
        peer.values["voltage_l2"] = 230.0
        peer.values["current_l1"] = float("nan")
        await read_fails(meter, DeviceError, "non-finite")
        peer.values["current_l1"] = 10.0
        peer.values["energy_import"] = 9_000_000.0  # a jump no charger can explain
        await read_fails(meter, DeviceError, "jumped")
        peer.values["energy_import"] = 12350.0
        assert (await meter.read()).energy_wh == pytest.approx(12350.0)
        # a swapped meter: a lower register that keeps counting becomes the new baseline
        meter.rebase_after = 2
        for energy in (500.0, 500.5):
            peer.values["energy_import"] = energy
            await read_fails(meter, DeviceError, "backwards")
        peer.values["energy_import"] = 501.0  # the second consistent reading in a row
        assert (await meter.read()).energy_wh == pytest.approx(501.0)
        await meter.link.close()


def test_register_map_errors_name_the_key() -> None:
    good = {"function": "input", "phases": 1, "registers": {
        "voltage_l1": {"address": 0, "type": "float32"},
        "current_l1": {"address": 6, "type": "float32"},
        "power_l1": {"address": 12, "type": "float32"},
        "energy_import": {"address": 72, "type": "float32", "scale": 1000},
    }}  # fmt: skip
    assert len(parse_map(good, "x.toml").blocks()) == 4
    bad = dict(
        good, registers=dict(good["registers"], current_l1={"address": 1, "type": "float32"})
    )
    with pytest.raises(MapError, match="overlap"):
        parse_map(bad, "x.toml")
    with pytest.raises(MapError, match=r"registers\.power_l1\.type"):
        parse_map(
            dict(good, registers=dict(good["registers"], power_l1={"address": 20, "type": "f"})),
            "x",
        )
    with pytest.raises(MapError, match="no such meter map"):
        load_map("nonexistent")


def test_gap_and_word_order() -> None:
    from hal.drivers.register_map import Register

    r = Register("energy_import", 0, "uint32", 1.0, "little")
    assert r.decode([0x0002, 0x0001]) == float(0x00010002)
    data = {"phases": 1, "max_gap": 6, "registers": {
        "voltage_l1": {"address": 0, "type": "float32"},
        "current_l1": {"address": 6, "type": "float32"},
        "power_l1": {"address": 12, "type": "float32"},
        "energy_import": {"address": 72, "type": "float32"},
    }}  # fmt: skip
    assert [(b.address, b.count) for b in parse_map(data, "x").blocks()] == [(0, 14), (72, 2)]

"""Real hardware drivers behind the HAL interfaces.

One module per device or protocol (`modbus_meter`, `rapi_evcc`, `pn532_reader`, ...);
`settings` parses the `[hardware]` section of the config file and `build` turns it
into a `hal.board.Board`.
"""

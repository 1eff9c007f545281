"""Hardware abstraction layer: one small interface per device kind.

Each module names one kind of device and holds its interface (a Protocol);
real drivers live in `hal.drivers`, the simulated backend in `simulator`.
`hal.board` bundles the devices of one charger.
"""

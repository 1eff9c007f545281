"""OCPP 2.0.1 adapter: one module per functional block of OCPP 2.0.1 Part 2."""

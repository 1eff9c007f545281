"""OCPP 1.6J adapter: the ChargePoint with one handler module per feature profile."""

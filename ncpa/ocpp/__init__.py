"""OCPP client: the charge point side of OCPP 1.6J (with the security extensions).

`OcppClient` (client.py) is the entry point the daemon starts. One concern per
module: connection (websocket, backoff, TLS), outbox (durable transaction
messages), settings (configuration keys), authorization (cache and offline
rules), and the v16 handlers grouped by feature profile.
"""

"""The local installer/operator REST API (aiohttp): pairing, tokens, routes by resource."""

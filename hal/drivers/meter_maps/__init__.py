"""Register maps of the supported energy meters (TOML data files)."""

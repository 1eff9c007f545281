"""The charger in the home: MQTT state and commands, with Home Assistant discovery."""

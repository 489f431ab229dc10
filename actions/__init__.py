"""The rasa-sdk action server of 巨好办: thin actions that call ``workflow`` services (no SQL here)."""

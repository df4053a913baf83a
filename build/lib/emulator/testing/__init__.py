"""Test kit for users' own suites: the pytest plugin (emulator.testing.plugin, registered as pytest11)."""

"""A module that fails while being imported."""

raise RuntimeError("configuration file missing")

"""Run: the run context and runner, the built-in hook implementations, output and schema."""

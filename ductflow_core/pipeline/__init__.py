"""Load: YAML text to the validated pipeline model, its plan and lexical SQL checks; no DuckDB, no plugins."""

"""DuckDB: the engine import, opening a database, the per-stage facade and DuckDB-parsed checks."""

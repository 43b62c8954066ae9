"""Alias package: ``duckflow.connection.Connection`` is ``ductflow_core.connection.Connection``."""

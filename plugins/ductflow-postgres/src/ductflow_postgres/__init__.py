"""PostgreSQL connection for Ductflow, installed under the locator ``postgres``."""

from .connection import PostgresConnection

__all__ = ["PostgresConnection"]

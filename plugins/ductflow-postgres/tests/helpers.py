"""Small blocking helpers the tests use to set up and inspect the server, through the same driver."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_postgresql.dbapi as pg


def with_database(dsn: str, dbname: str) -> str:
    """``dsn`` pointing at database ``dbname`` instead."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + dbname))


def with_user(dsn: str, user: str, password: str | None = None) -> str:
    """``dsn`` logging in as ``user`` (with ``password``) instead."""
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    auth = user + (f":{password}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}:{parts.port or 5432}"))


def execute(dsn: str, *statements: str, autocommit: bool = False) -> None:
    """Run ``statements`` in order on a fresh connection, committing at the end."""
    with pg.connect(dsn, autocommit=autocommit) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        if not autocommit:
            con.commit()


def fetch(dsn: str, query: str) -> list[tuple[Any, ...]]:
    """All rows of ``query``."""
    with pg.connect(dsn) as con, con.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def scalar(dsn: str, query: str) -> Any:
    """The single value ``query`` returns."""
    return fetch(dsn, query)[0][0]

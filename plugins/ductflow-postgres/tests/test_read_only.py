"""A tap's query is one read-only statement: refused at the tap, and enforced by the server."""

from __future__ import annotations

import pytest
from ductflow_core.errors import ConnectorError

from ductflow_postgres import PostgresConnection
from helpers import execute, scalar


@pytest.fixture(scope="module")
def victims(pg_dsn: str) -> str:
    """A table the refused queries try to change, a sequence, and a function that writes when called."""
    execute(
        pg_dsn,
        "CREATE TABLE victim (id int)",
        "INSERT INTO victim VALUES (1), (2)",
        "CREATE SEQUENCE victim_seq",
        "CREATE FUNCTION sneaky_insert() RETURNS int LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO victim VALUES (99); RETURN 1; END $$",
    )
    return pg_dsn


def _tap(db, pg_dsn: str, query: str, materialize: bool) -> PostgresConnection:
    conn = PostgresConnection.create(name="t", c=db, params={"dsn": pg_dsn}, materialize=materialize)
    assert isinstance(conn, PostgresConnection)
    return conn


def _victim_intact(pg_dsn: str) -> None:
    assert scalar(pg_dsn, "SELECT count(*) FROM victim") == 2
    assert scalar(pg_dsn, "SELECT last_value FROM victim_seq") == 1
    assert scalar(pg_dsn, "SELECT is_called FROM victim_seq") is False


REFUSED = {
    "two-statements": ("SELECT 1; DROP TABLE victim", "found 2: SELECT, DROP"),
    "hidden-second": ("SELECT 1 /* ; */; DELETE FROM victim", "found 2: SELECT, DELETE"),
    "copy-to-file": ("COPY (SELECT 1) TO '/tmp/ductflow_tap_copy.csv'", "starts with COPY"),
    "delete-returning": ("DELETE FROM victim RETURNING *", "starts with DELETE"),
    "set": ("SET default_transaction_read_only = off", "starts with SET"),
    "writing-cte": ("WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d", "read-only transaction"),
    "side-effect-function": ("SELECT sneaky_insert()", "read-only transaction"),
    "nextval": ("SELECT nextval('victim_seq')", "read-only transaction"),
    "explain-analyze-delete": ("EXPLAIN ANALYZE DELETE FROM victim", "read-only transaction"),
    "select-into": ("SELECT * INTO victim_copy FROM victim", "read-only transaction"),
}


@pytest.mark.parametrize("materialize", [True, False], ids=["table", "stream"])
@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_a_query_that_is_not_one_read_only_statement_is_refused(db, victims, case, materialize):
    """Several statements, statements that are not reads, and writes hidden in a read are refused; nothing changes."""
    query, reason = REFUSED[case]
    try:
        await _tap(db, victims, query, materialize).tap(query)
        # A stream can start before the server reaches the write; reading it then fails.
        assert not materialize
        await (await db.sql("SELECT count(*) FROM t")).fetchall()
    except Exception as exc:  # ConnectorError from the tap, or DuckDB's error reading the stream
        text = str(exc)
        if isinstance(exc, ConnectorError):
            assert "\n" not in text
        assert reason in text
    else:
        raise AssertionError(f"{query!r} was read")
    _victim_intact(victims)
    assert scalar(victims, "SELECT to_regclass('victim_copy') IS NULL")


async def test_a_write_inside_a_numeric_query_is_refused(db, victims):
    """A query the tap wraps (it has a numeric column) still runs read-only: a write in it fails."""
    query = "SELECT 1.5::numeric(4,1) AS n, sneaky_insert() AS s"
    with pytest.raises(ConnectorError, match="read-only transaction"):
        await _tap(db, victims, query, True).tap(query)
    _victim_intact(victims)


@pytest.mark.parametrize("materialize", [True, False], ids=["table", "stream"])
async def test_reads_still_run(db, victims, materialize):
    """SELECT with pg_sleep, WITH, VALUES, TABLE, SHOW and EXPLAIN are all still read."""
    queries = {
        "SELECT g, pg_sleep(0)::text AS s FROM generate_series(1, 3) g": 3,
        "WITH v AS (SELECT id FROM victim) SELECT * FROM v": 2,
        "VALUES (1), (2), (3), (4)": 4,
        "TABLE victim;": 2,
        "SELECT id FROM victim; -- a note after the semicolon": 2,
        "SHOW TimeZone": 1,
    }
    for number, (query, rows) in enumerate(queries.items()):
        conn = PostgresConnection.create(name=f"r{number}", c=db, params={"dsn": victims}, materialize=materialize)
        await conn.tap(query)
        assert await (await db.sql(f"SELECT count(*) FROM r{number}")).fetchall() == [(rows,)], query
    _victim_intact(victims)


def test_validate_refuses_a_query_param_the_tap_would_refuse(tmp_path) -> None:
    """A tap's ``query`` param of two statements is refused by ``validate`` at its line, before anything connects."""
    from ductflow_core import api
    from ductflow_core.errors import PipelineError

    path = tmp_path / "p.yaml"
    path.write_text(
        "- name: t\n  kind: tap\n  connection:\n    kind: postgres\n    params:\n"
        "      dsn: postgresql://nobody@127.0.0.1:1/db\n      query: 'DELETE FROM w RETURNING *; SELECT 1'\n"
    )
    with pytest.raises(PipelineError) as exc:
        api.validate(api.load(path))
    assert str(exc.value) == (
        f"{path}:7: stage 't': connection.params.query: a postgres tap's query must be one read-only "
        "statement (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN); found 2: DELETE, SELECT"
    )

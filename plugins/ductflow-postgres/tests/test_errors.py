"""Each failure a user can meet gives one ConnectorError line naming the server-side cause, without the password."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ductflow_core.errors import ConnectorError

from helpers import execute, scalar, with_user

PASSWORD = "Pw-" + uuid.uuid4().hex  # unique, so any leak is unmistakable


@pytest.fixture(scope="module")
def roles(pg_dsn: str) -> Iterator[dict[str, str]]:
    """A role that must give a password (see pg-server.sh's pg_hba.conf) and one without privileges."""
    suffix = uuid.uuid4().hex[:8]
    names = {"password": f"ductflow_pw_{suffix}", "plain": f"ductflow_plain_{suffix}"}
    execute(
        pg_dsn,
        "DO $$ BEGIN CREATE ROLE ductflow_password_required NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f"CREATE ROLE {names['password']} LOGIN PASSWORD '{PASSWORD}' IN ROLE ductflow_password_required",
        f"CREATE ROLE {names['plain']} LOGIN",
        "CREATE TABLE secret (id int)",
        "INSERT INTO secret VALUES (1)",
    )
    yield names
    execute(pg_dsn, "DROP TABLE secret", *(f"DROP ROLE {n}" for n in names.values()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Driver, Arrow and DuckDB internals no message may show.
INTERNALS = ("Traceback", "__ductflow", "PGRES", "Query was", "[libpq]", "Unknown error", "Detail:", "() failed")


def _assert_one_clean_line(exc: BaseException | str) -> str:
    text = str(exc).rstrip("\n")
    assert "\n" not in text
    assert PASSWORD not in text
    for internal in INTERNALS:
        assert internal not in text, text
    return text


async def test_bad_port(make):
    """Nothing listening on the port: the message says the connection was refused."""
    conn = make(
        name="t",
        dsn=None,
        host="127.0.0.1",
        port=_free_port(),
        user="postgres",
        password=PASSWORD,
        dbname="postgres",
        query="SELECT 1",
    )
    with pytest.raises(ConnectorError) as info:
        await conn.tap(None)
    assert "Connection refused" in _assert_one_clean_line(info.value)


async def test_bad_host(make):
    """A host name that does not resolve is reported as such."""
    conn = make(name="t", dsn=f"postgresql://postgres:{PASSWORD}@no-such-host.invalid:5432/postgres", query="SELECT 1")
    with pytest.raises(ConnectorError) as info:
        await conn.tap(None)
    assert "could not translate host name" in _assert_one_clean_line(info.value)


async def test_password_with_a_bare_at_sign_is_not_shown(make):
    """A DSN password with an unencoded @ (libpq reads the rest as host) is masked in the error, every piece of it."""
    conn = make(name="t", dsn="postgresql://someone:Wr0ng@Pa55word@127.0.0.1:5433/postgres", query="SELECT 1")
    with pytest.raises(ConnectorError) as info:
        await conn.tap(None)
    text = _assert_one_clean_line(info.value)
    assert "Wr0ng" not in text
    assert "Pa55word" not in text


async def test_bad_password(make, pg_dsn, roles):
    """A wrong password is reported as a failed authentication, and neither password is shown."""
    wrong = PASSWORD + "-wrong"
    conn = make(name="t", dsn=with_user(pg_dsn, roles["password"], wrong), query="SELECT 1")
    with pytest.raises(ConnectorError) as info:
        await conn.tap(None)
    text = _assert_one_clean_line(info.value)
    assert "password authentication failed" in text
    assert wrong not in text


async def test_dsn_query_text_is_kept_as_written(make, db, pg_dsn):
    """A DSN whose query string holds percent-encoded spaces (options=-c%20…) connects with that setting applied."""
    sep = "&" if "?" in pg_dsn else "?"
    dsn = f"{pg_dsn}{sep}options=-c%20work_mem%3D7MB"
    await make(name="wm", dsn=dsn, query="SELECT current_setting('work_mem') AS w").tap(None)
    assert await (await db.sql("SELECT w FROM wm")).fetchall() == [("7MB",)]


async def test_right_password_connects(make, db, pg_dsn, roles):
    """The same role with its password given as a separate param logs in."""
    parts = urlsplit(pg_dsn)
    conn = make(
        name="who",
        dsn=None,
        host=parts.hostname,
        port=parts.port,
        user=roles["password"],
        password=PASSWORD,
        dbname=parts.path[1:],
        query="SELECT current_user AS u",
    )
    await conn.tap(None)
    assert await (await db.sql("SELECT u FROM who")).fetchall() == [(roles["password"],)]


async def test_unknown_role(make, pg_dsn):
    """A role that does not exist is named in the message."""
    with pytest.raises(ConnectorError, match='role "nobody_at_all" does not exist') as info:
        await make(name="t", dsn=with_user(pg_dsn, "nobody_at_all"), query="SELECT 1").tap(None)
    _assert_one_clean_line(info.value)


async def test_missing_table(make):
    """Tapping a table that does not exist names it."""
    with pytest.raises(ConnectorError, match=r'relation "public\.no_such_table" does not exist') as info:
        await make(name="t", table="public.no_such_table").tap(None)
    _assert_one_clean_line(info.value)


async def test_permission_denied_on_tap_and_sink(make, db, pg_dsn, roles):
    """A role without privileges gets 'permission denied' for reading and for writing the table."""
    dsn = with_user(pg_dsn, roles["plain"])
    with pytest.raises(ConnectorError, match="permission denied for table secret") as info:
        await make(name="t", dsn=dsn, table="secret").tap(None)
    _assert_one_clean_line(info.value)
    await db.execute("CREATE TABLE rows AS SELECT 2 AS id")
    with pytest.raises(ConnectorError, match="permission denied for table secret") as info:
        await make(dsn=dsn, table="secret", mode="append").sink("rows")
    _assert_one_clean_line(info.value)
    with pytest.raises(ConnectorError, match="permission denied for table secret") as info:
        await make(name="q", dsn=dsn, query="SELECT id FROM secret").tap(None)
    _assert_one_clean_line(info.value)
    assert scalar(pg_dsn, "SELECT count(*) FROM secret") == 1


async def _terminate_when_running(dsn: str, marker: str) -> int:
    for _ in range(400):
        killed = scalar(
            dsn,
            # Only this test's database: other runs on the same server must not lose their sessions, nor stand
            # in for the session this test means to end.
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'ductflow' "
            f"AND datname = current_database() AND state = 'active' AND query LIKE '%{marker}%' "
            "AND pid <> pg_backend_pid()",
        )
        if killed:
            return killed
        await asyncio.sleep(0.05)
    return 0


async def test_server_gone_mid_tap(make, pg_dsn):
    """The server ending the session while rows stream fails the tap with the server's reason."""
    marker = "gone_mid_tap"
    query = f"SELECT g AS {marker}, repeat('x', 200) AS pad FROM generate_series(1, 200000000) g"
    tap = asyncio.create_task(make(name="gone", query=query).tap(None))
    killed = await _terminate_when_running(pg_dsn, marker)
    with pytest.raises(ConnectorError) as info:
        await tap
    assert killed == 1
    assert "terminating connection due to administrator command" in _assert_one_clean_line(info.value)


async def test_server_gone_mid_sink(make, db, pg_dsn):
    """The server ending the session during COPY fails the sink and leaves no table behind."""
    await db.execute("CREATE TABLE many AS SELECT i AS id, repeat('y', 100) AS pad FROM range(20000000) t(i)")
    sink = asyncio.create_task(make(table="gone_sink", mode="create").sink("many"))
    killed = await _terminate_when_running(pg_dsn, "COPY")
    with pytest.raises(ConnectorError) as info:
        await sink
    assert killed == 1
    text = _assert_one_clean_line(info.value)
    assert "terminat" in text or "server closed the connection" in text
    assert scalar(pg_dsn, "SELECT to_regclass('gone_sink') IS NULL")


@pytest.mark.parametrize("extra", [{"host": "localhost"}, {"port": 5555}])
def test_both_dsn_and_host_refused(make, extra):
    """Giving a DSN and a host or port param together is refused when the connection is built."""
    with pytest.raises(ConnectorError, match="either dsn or host/port"):
        make(**extra)


def test_tap_without_table_or_query(make):
    """A tap with neither table nor query says what it needs."""
    with pytest.raises(ConnectorError, match="needs table or query"):
        asyncio.run(make(name="t").tap(None))


async def test_config_timeout_stops_the_server_statement(db, pg_dsn):
    """With config.timeout set, the server cancels a statement that runs longer, and the tap says so."""
    from ductflow_core.models import ConnectionConfiguration

    from ductflow_postgres import PostgresConnection

    conn = PostgresConnection.create(
        name="slow", c=db, params={"dsn": pg_dsn}, config=ConnectionConfiguration(timeout=0.5)
    )
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConnectorError, match="statement timeout"):
        await conn.tap("SELECT 1 AS slept FROM pg_sleep(30)")
    assert asyncio.get_running_loop().time() - started < 10


STREAMED_PIPELINE = """
- name: big
  kind: tap
  query: "SELECT g AS {marker}, repeat('x', 200) AS pad FROM generate_series(1, 200000000) g"
  connection: {{kind: postgres, params: {{dsn: "${{PG_DSN}}"}}}}
- name: out
  kind: sink
  connection: {{kind: parquet, params: {{path: out.parquet}}}}
"""


async def test_server_gone_mid_stream_names_the_cause_not_internals(pg_dsn, tmp_path):
    """A streamed tap whose session is terminated fails its reader with the server's reason, without internals."""
    marker = "gone_mid_stream"
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(STREAMED_PIPELINE.format(marker=marker))
    cli = str(Path(sys.executable).with_name("ductflow"))
    run = await asyncio.create_subprocess_exec(
        cli,
        "run",
        str(pipeline),
        cwd=tmp_path,
        env={**os.environ, "PG_DSN": pg_dsn},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    killed = await _terminate_when_running(pg_dsn, marker)
    out, err = await asyncio.wait_for(run.communicate(), 120)
    assert killed == 1
    assert run.returncode == 1
    line = next(text for text in (out + err).decode().splitlines() if text.startswith("error:"))
    assert "terminating connection due to administrator command" in _assert_one_clean_line(line)
    assert "PostgreSQL tap big" in line


async def test_errors_inside_a_describe_are_the_servers_words(make):
    """A query the server cannot describe (a missing table) fails with the server's reason, not the query echo."""
    query = "SELECT * FROM missing_for_describe"
    with pytest.raises(ConnectorError) as info:
        await make(name="t", query=query).tap(None)
    text = _assert_one_clean_line(info.value)
    assert 'relation "missing_for_describe" does not exist' in text

"""Running pipelines in process: order, concurrency, show, failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sample_connections as sc
from conftest import conn

from ductflow_core.errors import StageFailed
from ductflow_core.testing import RunOutcome

Run = Callable[..., RunOutcome]


def test_tap_transform_sink_moves_every_row(ductflow_run: Run) -> None:
    """A tap, a transform reading it and a sink reading the transform move the transformed rows."""
    outcome = ductflow_run(
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=20)}}}\n"
        '- {name: even, kind: transform, sql: "SELECT n, sq FROM nums WHERE n % 2 = 0"}\n'
        f"- {{name: out, kind: sink, connection: {conn('Collect', batch_size=3)}}}\n"
    )
    assert [r["n"] for r in sc.Collect.received["out"]] == list(range(0, 20, 2))
    assert outcome.result("nums").rows == 20
    assert outcome.result("out").rows == 10
    assert outcome.rows("SELECT count(*), sum(sq) FROM even") == [(10, sum(i * i for i in range(0, 20, 2)))]


def test_untyped_params_reach_init(ductflow_run: Run) -> None:
    """A class that declares no params receives whatever the YAML gives, before init() runs."""
    ductflow_run(f"- {{name: u, kind: tap, connection: {conn('Untyped', port=5555, host='db')}}}\n")
    assert sc.Untyped.seen == {"u": {"port": 5555, "host": "db"}}


def test_independent_stages_run_concurrently(ductflow_run: Run) -> None:
    """Two taps that do not depend on each other overlap in time."""
    ductflow_run(
        f"- {{name: a, kind: tap, connection: {conn('Sleeper', seconds=0.4)}}}\n"
        f"- {{name: b, kind: tap, connection: {conn('Sleeper', seconds=0.4)}}}\n"
        "- {name: both, kind: transform, sql: SELECT * FROM a UNION ALL SELECT * FROM b}\n"
    )
    (_, a_start, a_end), (_, b_start, b_end) = sorted(sc.Sleeper.log)
    assert a_start < b_end
    assert b_start < a_end


def test_dependent_stage_waits_for_its_input(ductflow_run: Run) -> None:
    """A transform starts only after the tap it names has finished, even when the tap is slow."""
    outcome = ductflow_run(
        f"- {{name: slow, kind: tap, connection: {conn('Numbers', rows=3, delay=0.2)}}}\n"
        f"- {{name: fast, kind: tap, connection: {conn('Numbers', rows=2)}}}\n"
        "- {name: t, kind: transform, sql: SELECT count(*) AS c FROM slow}\n"
    )
    order = [r.name for r in outcome.results]
    assert order.index("slow") < order.index("t")
    assert outcome.rows("SELECT c FROM t") == [(3,)]


def test_sql_stages_are_sequence_points(ductflow_run: Run) -> None:
    """An sql stage runs after the stage before it and before the stage after it, with its query."""
    ductflow_run(
        f"- {{name: first, kind: tap, query: q1, connection: {conn('Recorder')}}}\n"
        f"- {{name: ddl, kind: sql, query: CREATE TABLE x (i INT), connection: {conn('Recorder')}}}\n"
        f"- {{name: second, kind: tap, query: q2, connection: {conn('Recorder')}}}\n"
    )
    assert sc.Recorder.queries == [("first", "q1"), ("ddl", "CREATE TABLE x (i INT)"), ("second", "q2")]


def test_sql_stage_is_a_barrier_for_every_stage(ductflow_run: Run) -> None:
    """An sql stage waits for a slow sink two stages above it, and a tap two stages below waits for it."""
    outcome = ductflow_run(
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        f"- {{name: slow, kind: sink, from: nums, connection: {conn('Collect', delay=1)}}}\n"
        f"- {{name: fast, kind: sink, from: nums, connection: {conn('Collect')}}}\n"
        f"- {{name: analyze, kind: sql, query: ANALYZE, connection: {conn('Recorder')}}}\n"
        f"- {{name: other, kind: tap, connection: {conn('Numbers', rows=1)}}}\n"
        f"- {{name: late, kind: tap, query: q, connection: {conn('Recorder')}}}\n"
    )
    order = [r.name for r in outcome.results]
    assert order.index("slow") < order.index("analyze") < order.index("other")
    assert order.index("analyze") < order.index("late")


STREAM = f"- {{name: a, kind: tap, connection: {conn('Stream', rows=300)}}}\n"


def test_a_stream_read_by_a_transform_that_also_waits_for_it(ductflow_run: Run) -> None:
    """A stream named in one transform's SQL and in another's ``after:`` is read twice, so it becomes a table."""
    outcome = ductflow_run(
        STREAM + "- {name: x, kind: transform, sql: SELECT count(*) AS n FROM a, after: [a]}\n"
        "- {name: y, kind: transform, sql: SELECT sum(i) AS s FROM a}\n"
    )
    assert outcome.rows("SELECT n FROM x") == [(300,)]
    assert outcome.rows("SELECT s FROM y") == [(sum(range(300)),)]


def test_a_stream_nobody_reads_is_kept_as_a_table(ductflow_run: Run) -> None:
    """A transform naming no stage only waits for the stream above it; the stream's rows stay as its table."""
    outcome = ductflow_run(STREAM + "- {name: b, kind: transform, sql: SELECT 42 AS answer}\n")
    assert outcome.rows("SELECT count(*) FROM a") == [(300,)]


def test_a_shown_sink_reads_a_table_not_a_spent_stream(ductflow_run: Run) -> None:
    """A sink with ``show:`` reads its input twice (write, then sample), so that input is a table."""
    outcome = ductflow_run(STREAM + f"- {{name: out, kind: sink, show: 2, connection: {conn('CountRows')}}}\n")
    assert outcome.result("out").rows == 300
    assert "first 2 rows:" in outcome.stdout


def test_a_transform_joins_two_streams(ductflow_run: Run) -> None:
    """A transform reading two streamed taps sees both, though each stream lives on its own tap's cursor."""
    outcome = ductflow_run(
        STREAM + f"- {{name: b, kind: tap, connection: {conn('Stream', rows=200)}}}\n"
        "- {name: j, kind: transform, sql: SELECT count(*) AS n FROM a JOIN b USING (i)}\n"
    )
    assert outcome.rows("SELECT n FROM j") == [(200,)]


def test_a_selected_stage_whose_reader_is_not_run_is_a_table(ductflow_run: Run) -> None:
    """``--stage a`` runs the stream without its reader, so its rows are stored rather than left unread."""
    outcome = ductflow_run(STREAM + "- {name: total, kind: transform, sql: SELECT sum(i) AS s FROM a}\n", stages=["a"])
    assert [r.name for r in outcome.results] == ["a"]
    assert outcome.rows("SELECT count(*) FROM a") == [(300,)]


def test_a_failed_stage_keeps_the_earlier_runs_table(ductflow_run: Run, ductflow_project: Path) -> None:
    """In a database file, a transform and a tap that fail on the second run leave the first run's tables intact."""
    import duckdb

    ductflow_run(
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=5)}}}\n"
        "- {name: report, kind: transform, sql: SELECT count(*) AS n FROM nums}\n"
    )
    for failing in (
        f"- {{name: nums, kind: tap, connection: {conn('Failing')}}}\n",
        "- {name: report, kind: transform, sql: \"SELECT CAST('x' AS INTEGER) AS n\"}\n",
    ):
        with pytest.raises(StageFailed):
            ductflow_run(failing)
    with duckdb.connect(str(ductflow_project / "run.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM nums").fetchall() == [(5,)]
        assert con.execute("SELECT n FROM report").fetchall() == [(5,)]
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '__ductflow%'").fetchall() == [
            (0,)
        ]


def test_show_prints_schema_and_rows(ductflow_run: Run) -> None:
    """``show: 2`` prints the stage's fields and its first two rows."""
    outcome = ductflow_run(f"- {{name: nums, kind: tap, show: 2, connection: {conn('Numbers', rows=5)}}}\n")
    assert "── nums ──" in outcome.stdout
    assert "  n   BIGINT" in outcome.stdout
    assert "first 2 rows:" in outcome.stdout
    assert "  n | sq\n  --+---\n  0 | 0\n  1 | 1\n" in outcome.stdout


def test_failing_stage_names_stage_class_and_cause(ductflow_run: Run) -> None:
    """A tap that raises stops the run with an error naming the stage, its class and the cause."""
    with pytest.raises(StageFailed) as info:
        ductflow_run(f"- {{name: broken, kind: tap, connection: {conn('Failing')}}}\n")
    assert str(info.value).endswith(
        "pipeline.yaml:1: stage 'broken' (sample_connections.Failing) failed: the source refused the request"
    )


def test_a_stage_cancelled_from_inside_fails_the_run(ductflow_run: Run) -> None:
    """A tap whose awaited future is cancelled under it fails the run instead of passing for finished."""
    with pytest.raises(StageFailed) as info:
        ductflow_run(
            f"- {{name: a, kind: tap, connection: {conn('CancelledUnder')}}}\n"
            "- {name: b, kind: transform, sql: SELECT * FROM a}\n"
        )
    expected = "stage 'a' (sample_connections.CancelledUnder) failed: RuntimeError: cancelled from inside"
    assert expected in str(info.value)


def test_every_failure_is_retrieved(ductflow_run: Run, caplog: pytest.LogCaptureFixture) -> None:
    """When two stages fail, the one not reported is still retrieved, so asyncio logs no unread task error."""
    import gc

    with pytest.raises(StageFailed):
        ductflow_run(
            f"- {{name: a, kind: tap, connection: {conn('Failing')}}}\n"
            f"- {{name: b, kind: tap, connection: {conn('Failing', bug='true')}}}\n"
        )
    gc.collect()
    assert "never retrieved" not in caplog.text


def _with_timeout(classname: str, limit: float, **params: object) -> str:
    return conn(classname, **params).replace("params:", f"config: {{timeout: {limit}}}, params:")


def test_config_timeout_stops_a_slow_tap(ductflow_run: Run) -> None:
    """A tap running past ``config.timeout`` fails naming the limit."""
    with pytest.raises(StageFailed) as info:
        ductflow_run(f"- {{name: slow, kind: tap, connection: {_with_timeout('Sleeper', 0.3, seconds=2)}}}\n")
    assert str(info.value).endswith("failed: tap timed out after 0.3 s (config.timeout)")


def test_a_drivers_own_timeout_is_not_blamed_on_config_timeout(ductflow_run: Run) -> None:
    """A TimeoutError the connection raises well inside ``config.timeout`` is reported as itself."""
    with pytest.raises(StageFailed) as info:
        ductflow_run(f"- {{name: t, kind: tap, connection: {_with_timeout('DriverTimeout', 60)}}}\n")
    assert str(info.value).endswith("failed: TimeoutError: login to db.example.com timed out")


def test_failure_cancels_concurrent_stages(ductflow_run: Run) -> None:
    """When one stage fails, a long stage running beside it is cancelled rather than waited for."""
    import time

    started = time.perf_counter()
    with pytest.raises(StageFailed):
        ductflow_run(
            f"- {{name: slow, kind: tap, connection: {conn('Numbers', rows=1, delay=30)}}}\n"
            f"- {{name: broken, kind: tap, connection: {conn('Failing', bug='true')}}}\n"
        )
    assert time.perf_counter() - started < 10


def test_tap_without_table_is_an_error(ductflow_run: Run) -> None:
    """A tap that creates no table fails naming the table it should have made."""
    with pytest.raises(StageFailed, match='the tap finished without creating table "lazy"'):
        ductflow_run(f"- {{name: lazy, kind: tap, connection: {conn('NoTable')}}}\n")


def test_hostile_stage_names_are_quoted(ductflow_run: Run) -> None:
    """Stage names with quotes, semicolons and spaces become tables of exactly that name."""
    name = 'we"ird; DROP TABLE x; --'
    outcome = ductflow_run(
        f"- name: '{name}'\n  kind: tap\n  connection: {conn('Numbers', rows=3)}\n"
        f'- name: copy\n  kind: transform\n  sql: \'SELECT count(*) AS c FROM "we""ird; DROP TABLE x; --"\'\n'
    )
    assert outcome.rows("SELECT c FROM copy") == [(3,)]
    assert outcome.rows("SELECT table_name FROM duckdb_tables() ORDER BY 1") == [("copy",), (name,)]


def test_stage_selection_runs_what_it_needs(ductflow_run: Run) -> None:
    """Running one stage also runs the stages it depends on, and nothing else."""
    outcome = ductflow_run(
        f"- {{name: a, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        f"- {{name: b, kind: tap, connection: {conn('Numbers', rows=4)}}}\n"
        "- {name: t, kind: transform, sql: SELECT * FROM a}\n",
        stages=["t"],
    )
    assert sorted(r.name for r in outcome.results) == ["a", "t"]


def test_database_file_keeps_finished_tables(ductflow_run: Run, ductflow_project: Path) -> None:
    """After a run, the database file holds each table-making stage's table."""
    outcome = ductflow_run(f"- {{name: a, kind: tap, connection: {conn('Numbers', rows=3)}}}\n")
    assert outcome.rows("SELECT count(*) FROM a") == [(3,)]
    assert (ductflow_project / "run.duckdb").exists()


def test_connection_conn_gives_cfg_and_locator(ductflow_run: Run, ductflow_project: Path) -> None:
    """``self.conn.cfg`` is the stage's connection block and ``self.conn.locator()`` where the class came from."""
    (ductflow_project / "peek_conn.py").write_text(
        "from duckflow.connection import Connection\n\n"
        "class Peek(Connection):\n"
        "    async def tap(self, query=None):\n"
        "        cfg = self.conn.cfg\n"
        "        await self.c.execute(\n"
        "            f'CREATE TABLE {self.c.quote(self.name)} AS SELECT ? AS classname, ? AS port, ? AS loc',\n"
        "            [cfg.classname, cfg.params['port'], self.conn.locator()],\n"
        "        )\n"
    )
    outcome = ductflow_run(
        "- name: p\n  kind: tap\n  connection:\n    kind: CustomConnection\n    module: peek_conn\n"
        "    classname: Peek\n    params: {port: 5555}\n"
    )
    assert outcome.rows("SELECT * FROM p") == [("Peek", 5555, "peek_conn:Peek")]


def _sink_running(ductflow_run: Run, project: Path, body: str) -> RunOutcome:
    """Run three numbers into a sink whose ``sink()`` is ``body``, with ``rel`` the relation of its input."""
    lines = "".join(f"        {line}\n" for line in body.splitlines())
    # A module name of its own per body: one imported by an earlier test stays in sys.modules.
    module = f"body_conn_{abs(hash(body))}"
    (project / f"{module}.py").write_text(
        "from duckflow.connection import Connection\n\n"
        "class Body(Connection):\n"
        "    async def sink(self, from_name):\n"
        "        rel = await self.c.sql(f'SELECT * FROM {self.c.quote(from_name)}')\n" + lines
    )
    return ductflow_run(
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        f"- {{name: out, kind: sink, connection: {{kind: CustomConnection, module: {module}, classname: Body}}}}\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        "async for _ in rel.record_batches(10):\n    await self.c.sql('SELECT 1')",
        "async for _ in rel.record_batches(10):\n    async for _ in rel.record_batches(10):\n        pass",
    ],
    ids=["query", "second-stream"],
)
def test_using_the_facade_inside_its_own_stream_is_a_clear_error(
    ductflow_run: Run, ductflow_project: Path, body: str
) -> None:
    """A query, or a second stream, on the facade that is streaming record_batches() fails with advice, not a hang."""
    with pytest.raises(StageFailed, match=r"busy streaming record_batches\(\); use a second one"):
        _sink_running(ductflow_run, ductflow_project, body)


def test_leaving_a_stream_with_break_frees_the_facade(ductflow_run: Run, ductflow_project: Path) -> None:
    """After ``break`` out of record_batches(), the same facade answers the next query at once."""
    body = "async for _ in rel.record_batches(1):\n    break\nreturn await self.c.count(from_name)"
    assert _sink_running(ductflow_run, ductflow_project, body).result("out").rows == 3


def test_database_in_a_missing_folder_is_a_clean_error(ductflow_run: Run, ductflow_project: Path) -> None:
    """A database: path whose folder does not exist gives a one-line Ductflow error, not a DuckDB traceback."""
    from ductflow_core.errors import PipelineError

    with pytest.raises(PipelineError, match="database: the path names a folder that does not exist"):
        ductflow_run(
            "database: no/such/dir/x.duckdb\n"
            f"stages:\n  - {{name: nums, kind: tap, connection: {conn('Numbers', rows=3)}}}\n",
            database=None,
        )


def _kinds(outcome: RunOutcome) -> dict[str, str]:
    rows = outcome.rows(
        "SELECT table_name, 'table' FROM duckdb_tables() UNION ALL "
        "SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal AND NOT temporary"
    )
    return dict(rows)


def test_stage_read_once_stays_a_view_and_others_are_tables(ductflow_run: Run) -> None:
    """A transform read by one stage is a view; read twice, shown, forced, or read by nobody it is a table."""
    outcome = ductflow_run(
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=5)}}}\n"
        "- {name: once, kind: transform, sql: SELECT n FROM nums}\n"
        f"- {{name: out1, kind: sink, connection: {conn('Collect')}}}\n"
        "- {name: twice, kind: transform, sql: SELECT n FROM nums}\n"
        f"- {{name: a, kind: sink, from: twice, connection: {conn('Collect')}}}\n"
        f"- {{name: b, kind: sink, from: twice, connection: {conn('Collect')}}}\n"
        "- {name: shown, kind: transform, show: 1, sql: SELECT n FROM nums}\n"
        f"- {{name: out2, kind: sink, connection: {conn('Collect')}}}\n"
        "- {name: forced, kind: transform, materialize: true, sql: SELECT n FROM nums}\n"
        f"- {{name: out3, kind: sink, connection: {conn('Collect')}}}\n"
        "- {name: last, kind: transform, sql: SELECT n FROM nums}\n"
    )
    kinds = _kinds(outcome)
    assert kinds["once"] == "view"
    assert {kinds[n] for n in ("nums", "twice", "shown", "forced", "last")} == {"table"}
    assert all(len(sc.Collect.received[s]) == 5 for s in ("out1", "a", "b", "out2", "out3"))
    assert [outcome.result(n).rows for n in ("once", "twice", "forced", "last")] == [None, 5, 5, 5]


def test_long_chain_of_views_is_broken_by_a_table(ductflow_run: Run) -> None:
    """One-reader transforms stay views only up to VIEW_CHAIN_LIMIT deep; the next one is a table, then views again."""
    from ductflow_core.pipeline.plan import VIEW_CHAIN_LIMIT

    count = VIEW_CHAIN_LIMIT + 3
    chain = "".join(
        f"- {{name: t{i:02d}, kind: transform, sql: SELECT n + 1 AS n FROM {'nums' if i == 1 else f't{i - 1:02d}'}}}\n"
        for i in range(1, count + 1)
    )
    outcome = ductflow_run(
        f"- {{name: nums, kind: tap, connection: {conn('Numbers', rows=3)}}}\n"
        + chain
        + f"- {{name: out, kind: sink, connection: {conn('Collect')}}}\n"
    )
    kinds = _kinds(outcome)
    # The tap is the first view of the chain.
    breaker = f"t{VIEW_CHAIN_LIMIT:02d}"
    assert kinds[breaker] == "table"
    assert {kinds[f"t{i:02d}"] for i in range(1, count + 1) if f"t{i:02d}" != breaker} == {"view"}
    assert [r["n"] for r in sc.Collect.received["out"]] == [n + count for n in range(3)]


def test_stream_tap_flows_to_its_sink_without_a_table(ductflow_run: Run) -> None:
    """A tap that registers a stream under its own name feeds its one reader, through a transform, unstored."""
    outcome = ductflow_run(
        f"- {{name: gen, kind: tap, connection: {conn('Stream', rows=1234)}}}\n"
        "- {name: doubled, kind: transform, sql: SELECT i * 2 AS j FROM gen}\n"
        f"- {{name: out, kind: sink, connection: {conn('Collect', batch_size=500)}}}\n"
    )
    assert [r["j"] for r in sc.Collect.received["out"]] == [i * 2 for i in range(1234)]
    assert "gen" not in _kinds(outcome)
    assert outcome.result("out").rows == 1234


def test_stream_reaches_the_stage_that_names_it(ductflow_run: Run) -> None:
    """A streamed tap feeds the transform whose SQL names it, even when another stage stands between them."""
    ductflow_run(
        f"- {{name: gen, kind: tap, connection: {conn('Stream', rows=50)}}}\n"
        f"- {{name: other, kind: tap, connection: {conn('Stream', rows=7)}}}\n"
        "- {name: total, kind: transform, sql: SELECT count(*) AS c FROM gen}\n"
        f"- {{name: out, kind: sink, connection: {conn('Collect')}}}\n"
        "- {name: sevens, kind: transform, sql: SELECT count(*) AS c FROM other}\n"
        f"- {{name: out2, kind: sink, connection: {conn('Collect')}}}\n"
    )
    assert sc.Collect.received["out"] == [{"c": 50}]
    assert sc.Collect.received["out2"] == [{"c": 7}]


def test_insertion_order_is_off_unless_the_pipeline_turns_it_on(ductflow_run: Run) -> None:
    """A run's DuckDB has preserve_insertion_order off by default, and on when the pipeline's duckdb: says so."""
    seen = []
    for settings in ("", "duckdb: {preserve_insertion_order: true}\n"):
        outcome = ductflow_run(
            settings + "stages:\n"
            "  - {name: s, kind: transform, sql: \"SELECT current_setting('preserve_insertion_order') AS v\"}\n"
        )
        seen.append(outcome.rows("SELECT v FROM s")[0][0])
    assert seen == [False, True]


def test_a_table_set_aside_by_a_killed_run_comes_back(tmp_path: Path) -> None:
    """A run killed after setting a stage's table aside leaves it as the stage's table for the next run's failure."""
    import duckdb

    from ductflow_core import api
    from ductflow_core.models import Stages

    database = tmp_path / "run.duckdb"
    with duckdb.connect(str(database)) as con:  # what a kill -9 between the rename and the new table leaves
        con.execute('CREATE TABLE "__ductflow_previous_x" AS SELECT 42 AS v')
    failing = Stages.load("- {name: x, kind: transform, sql: SELECT error('boom') AS v}\n")
    with pytest.raises(StageFailed):
        api.run(failing, database=str(database))
    with duckdb.connect(str(database)) as con:
        assert con.execute("SELECT v FROM x").fetchall() == [(42,)]
        assert con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall() == [("x",)]
    api.run(Stages.load("- {name: x, kind: transform, sql: SELECT 7 AS v}\n"), database=str(database))
    with duckdb.connect(str(database)) as con:
        assert con.execute("SELECT v FROM x").fetchall() == [(7,)]
        assert con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall() == [("x",)]

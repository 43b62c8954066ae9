"""Table references: the lexical scan, DuckDB's parser, the dependencies built on them, and unknown tables."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ductflow_core.errors import PipelineError
from ductflow_core.models import Stages
from ductflow_core.pipeline import plan, sqlscan

ORDERS = "- {name: orders, kind: transform, sql: 'SELECT 1 AS id'}\n"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _write(folder: Path, text: str) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- unknown tables (`ductflow validate`) ---


def test_validate_reports_a_table_no_stage_makes_with_a_suggestion(cli: Cli, tmp_path: Path) -> None:
    """A transform reading `orderz` fails validate (exit 2) at its sql line, suggesting the stage `orders`."""
    _write(
        tmp_path,
        "- name: orders\n  kind: transform\n  sql: SELECT 1 AS id\n"
        "- name: per\n  kind: transform\n  sql: |\n    SELECT id FROM orderz\n",
    )
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: pipeline.yaml:6: stage 'per': sql: reads table 'orderz', which no stage makes and DuckDB "
        "does not have (did you mean 'orders'?)"
    )


def test_validate_parse_sql_reports_the_unknown_table_too(cli: Cli, tmp_path: Path) -> None:
    """With --parse-sql the references come from DuckDB's parser and the same unknown table is reported."""
    _write(
        tmp_path,
        ORDERS + "- {name: t, kind: transform, sql: 'SELECT * FROM ordrs'}\n",
    )
    proc = cli("validate", "--parse-sql", "pipeline.yaml")
    assert proc.returncode == 2
    assert "stage 't': sql: reads table 'ordrs'" in proc.stderr
    assert "(did you mean 'orders'?)" in proc.stderr


@pytest.mark.parametrize(
    "sql",
    [
        "WITH x AS (SELECT * FROM orders) SELECT * FROM x",
        "SELECT * FROM range(3) r, generate_series(1, 2) g",
        "SELECT * FROM duckdb_tables, pg_tables, sqlite_master",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM other_db.main.t",
        "SELECT * FROM main.orders",
        "SELECT * FROM 'missing.csv'",
        "SELECT extract(year FROM DATE '2020-01-01') AS y FROM orders",
        "SELECT id FROM orders o WHERE o.id IS DISTINCT FROM (SELECT max(id) FROM ORDERS)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    ],
)
def test_validate_accepts_ctes_table_functions_catalog_and_qualified_names(cli: Cli, tmp_path: Path, sql: str) -> None:
    """CTE names, table functions, DuckDB's catalog views and names outside the run's schema are not unknown."""
    _write(
        tmp_path,
        ORDERS + f"- name: t\n  kind: transform\n  sql: {json.dumps(sql)}\n",
    )
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 0, proc.stderr


def test_validate_accepts_a_table_of_the_database_file(cli: Cli, tmp_path: Path) -> None:
    """A table that only the pipeline's `database:` file holds is known; one it lacks is still reported."""
    con = duckdb.connect(str(tmp_path / "run.duckdb"))
    con.execute("CREATE TABLE history AS SELECT 1 AS id")
    con.close()
    body = "- {name: t, kind: transform, sql: 'SELECT * FROM history'}\n"
    _write(tmp_path, "database: run.duckdb\nstages:\n" + body.replace("- ", "  - "))
    assert cli("validate", "pipeline.yaml").returncode == 0
    _write(tmp_path, "stages:\n" + body.replace("- ", "  - "))
    proc = cli("validate", "pipeline.yaml")
    assert proc.returncode == 2
    assert "reads table 'history'" in proc.stderr


def test_validate_of_known_tables_does_not_import_duckdb(cli: Cli, tmp_path: Path) -> None:
    """When every table a transform reads is a stage, the check needs no DuckDB import."""
    _write(
        tmp_path,
        ORDERS + "- {name: t, kind: transform, sql: 'SELECT id FROM orders'}\n",
    )
    proc = cli("validate", "pipeline.yaml", python_flags=["-X", "importtime"])
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "import time:" in line}
    assert not {"duckdb", "_duckdb"} & imported


# --- one corpus, two readers: the lexical scan agrees with DuckDB's parser ---

#: Queries whose table references the scan must read as DuckDB's parser does.
CORPUS = [
    "SELECT a FROM b",
    "WITH x AS (SELECT * FROM b) SELECT a FROM x, main.c JOIN range(3) r ON true",
    "SELECT * FROM 'f.csv'",
    "SELECT * FROM (SELECT 1) WHERE a IN (SELECT y FROM z)",
    "FROM q SELECT a, b",
    "TABLE t",
    "SUMMARIZE t",
    "DESCRIBE t",
    "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM r) SELECT * FROM r",
    "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders",
    "WITH t1 AS (SELECT * FROM t2), t2 AS (SELECT 1) SELECT * FROM t1, t2",
    "WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b, c",
    "WITH x(a, b) AS (SELECT 1, 2) SELECT * FROM x",
    "WITH x AS MATERIALIZED (SELECT * FROM y) SELECT * FROM x UNION SELECT * FROM x",
    "SELECT * FROM (WITH q AS (FROM t1) FROM q) z, q",
    "SELECT extract(year FROM d) FROM t",
    "SELECT substring(s FROM 1 FOR 2), trim(BOTH 'x' FROM s), overlay(s PLACING 'x' FROM 2) FROM t",
    "SELECT a IS DISTINCT FROM b, a IS NOT DISTINCT FROM (SELECT b FROM t2) FROM t",
    "SELECT * FROM a, b c, d AS e JOIN f ON f.x = e.x, g",
    "SELECT * FROM a JOIN b USING (id), c WHERE x = 1 GROUP BY a, b",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM db.s.t",
    'SELECT * FROM "my schema"."my table", "Mixed Case" m',
    "SELECT (SELECT max(x) FROM m) AS y FROM n",
    "SELECT * FROM read_csv('x.csv') r, LATERAL (SELECT * FROM u WHERE u.a = r.a)",
    "SELECT * FROM (a JOIN b ON true)",
    "SELECT * FROM t1 INNER JOIN (t2 LEFT JOIN t3 ON true) ON true",
    "SELECT * FROM t PIVOT (sum(a) FOR b IN (1, 2))",
    "SELECT * FROM (PIVOT t ON a IN (1, 2) USING sum(b))",
    "SELECT row_number() OVER (PARTITION BY a ORDER BY b) FROM t QUALIFY row_number() OVER () = 1",
    "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u) AND x = ANY(SELECT y FROM v)",
    "SELECT * FROM a POSITIONAL JOIN b, c",
    "SELECT * FROM a ASOF JOIN b USING (t)",
    "SELECT * FROM t1 SEMI JOIN t2 USING (a) ANTI JOIN t3 USING (a)",
    "SELECT * FROM t USING SAMPLE 10 PERCENT (bernoulli)",
    "SELECT list(x) FROM unnest([1, 2]) t(x)",
    "SELECT * FROM (VALUES (1)) v(a)",
    "SELECT * FROM t1 UNION ALL BY NAME SELECT * FROM t2 EXCEPT SELECT * FROM t3",
    "SELECT COLUMNS(c -> c LIKE 'a%'), [x FOR x IN l IF x > 1] FROM t",
    "SELECT CASE WHEN a THEN (SELECT 1 FROM q) END, x::t2 FROM t",
    "SELECT * FROM t1 ORDER BY (SELECT 1 FROM t2)",
    'SELECT 1 AS "from" FROM t, t2 AS "join"',
    "SELECT (FROM t1 SELECT max(a)) AS m",
    "SELECT * FROM t1 WHERE EXISTS (FROM t2)",
    "WITH x AS NOT MATERIALIZED (FROM y) FROM x",
    "SELECT 'FROM fake' AS s, \"FROM\" FROM t -- FROM comment\n",
]


def _parsed(sql: str) -> set[tuple[str, ...]]:
    tree = json.loads(str(duckdb.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0]))
    assert not tree.get("error"), tree
    return {tuple(plan.name_key(part) for part in ref) for ref in plan.parsed_table_refs(tree)}


def _scanned(sql: str) -> set[tuple[str, ...]]:
    return {tuple(plan.name_key(part) for part in ref) for ref in sqlscan.table_refs(sql)}


@pytest.mark.parametrize("sql", CORPUS)
def test_scan_reads_the_tables_the_parser_reads(sql: str) -> None:
    """On the shared corpus, the lexical scan finds exactly the table references DuckDB's parser finds."""
    assert _scanned(sql) == _parsed(sql)


def test_scan_and_parser_skip_columns_ctes_and_table_functions() -> None:
    """A column, an alias, a CTE name and a table function named like a table are no table reference."""
    sql = "WITH w AS (SELECT 1) SELECT orders, o.x FROM range(3) o, w, customers"
    assert _scanned(sql) == _parsed(sql) == {("", "", "customers")}


_NAMES = st.sampled_from(["a", "b", "c", "orders", "Orders", "x", '"B"'])


@st.composite
def _queries(draw: st.DrawFn, depth: int = 0) -> str:
    columns = draw(
        st.lists(
            st.one_of(_NAMES, st.just("extract(year FROM d)"), st.just("a IS DISTINCT FROM b")), min_size=1, max_size=3
        )
    )
    items: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["name", "qualified", "function", "sub"] if depth < 2 else ["name", "function"]))
        if kind == "name":
            items.append(draw(_NAMES) + draw(st.sampled_from(["", " t", " AS t"])))
        elif kind == "qualified":
            items.append(draw(st.sampled_from(["main.", "information_schema.", "db.main."])) + draw(_NAMES))
        elif kind == "function":
            items.append(draw(st.sampled_from(["range(3)", "generate_series(1, 2) g", "unnest([1]) u(v)"])))
        else:
            items.append(f"({draw(_queries(depth + 1))}) s")
    joins = [draw(st.sampled_from([", ", " JOIN ", " LEFT JOIN "])) for _ in items[1:]]
    source = items[0] + "".join(
        j + item + (" ON true" if "JOIN" in j else "") for j, item in zip(joins, items[1:], strict=True)
    )
    sql = f"SELECT {', '.join(columns)} FROM {source}"
    if depth < 2 and draw(st.booleans()):
        sql += f" WHERE {draw(_NAMES)} IN ({draw(_queries(depth + 1))})"
    if depth < 2 and draw(st.booleans()):
        cte = draw(st.sampled_from(["a", "orders", "x"]))
        sql = f"WITH {cte} AS ({draw(_queries(depth + 1))}) {sql}"
    return sql


@settings(max_examples=150, deadline=None)
@given(_queries())
def test_scan_agrees_with_the_parser_on_generated_queries(sql: str) -> None:
    """On generated queries (joins, subqueries, CTEs, table functions, qualified names), scan and parser agree."""
    assert _scanned(sql) == _parsed(sql)


# --- dependencies ---


def _load(folder: Path, text: str) -> Stages:
    return Stages.load(_write(folder, text))


def test_a_column_named_like_a_stage_is_no_dependency(tmp_path: Path) -> None:
    """A column `a` in `SELECT a FROM b` is not a read of stage `a`: stage `a` waiting for it is no cycle."""
    pipeline = _load(
        tmp_path,
        "- {name: b, kind: transform, sql: 'SELECT 1 AS a'}\n"
        "- {name: a, kind: transform, sql: 'SELECT 2 AS y', after: [c]}\n"
        "- {name: c, kind: transform, sql: 'SELECT a FROM b'}\n",
    )
    assert plan.dependencies(pipeline)["c"] == {"b"}
    assert plan.order(pipeline) == ["b", "c", "a"]


def test_a_real_cycle_is_blamed_on_the_key_that_makes_it(tmp_path: Path) -> None:
    """A cycle through `after:` is reported at that `after` entry, not at a `from` key the stage lacks."""
    with pytest.raises(PipelineError) as caught:
        _load(
            tmp_path,
            "- {name: b, kind: transform, sql: 'SELECT 1 AS a'}\n"
            "- name: a\n  kind: transform\n  sql: SELECT 2 AS y\n  after: [c]\n"
            "- {name: c, kind: transform, sql: 'SELECT * FROM a'}\n",
        )
    assert str(caught.value).endswith(
        "/pipeline.yaml:5: stage 'a': after[0]: stages depend on each other in a cycle: a -> c -> a"
    )


def test_the_run_takes_references_from_duckdbs_parser(tmp_path: Path) -> None:
    """`ARRAY(FROM src)`, a blind spot of the scan, is a read at run time: `src` becomes its one reader's view."""
    from ductflow_core import api

    text = (
        "database: run.duckdb\nstages:\n"
        "  - {name: src, kind: transform, sql: 'SELECT 1 AS a'}\n"
        "  - {name: other, kind: transform, sql: 'SELECT 2 AS b'}\n"
        "  - {name: l, kind: transform, sql: 'SELECT ARRAY(FROM src) AS l'}\n"
    )
    assert _scanned("SELECT ARRAY(FROM src) AS l") == set()  # the scan's known blind spot
    api.run(_write(tmp_path, text))
    con = duckdb.connect(str(tmp_path / "run.duckdb"), read_only=True)
    try:
        views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert con.execute("SELECT l FROM l").fetchall() == [([1],)]
    finally:
        con.close()
    assert "src" in views

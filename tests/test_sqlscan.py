"""The lexical SQL scan that `validate` uses instead of DuckDB's parser: names and statement boundaries."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ductflow_core.pipeline import sqlscan


def test_names_skip_strings_and_comments() -> None:
    """A name inside a string, an E-string, a dollar quote or a comment is no reference; quoted names keep case."""
    sql = (
        'SELECT a.x, "Mixed ""Q""" FROM orders a -- customers\n'
        "/* outer /* nested refunds */ still comment */ JOIN lines ON 'items' = E'it\\'s' || $tag$stock$tag$"
    )
    found = sqlscan.names(sql)
    assert {"orders", "lines", "a", "x", 'Mixed "Q"'} <= found
    assert not {"customers", "refunds", "items", "stock", "tag", "it"} & found


def test_bare_names_are_found_as_written_and_lower_cased() -> None:
    """A bare name is matched both as written and lower-cased, as DuckDB folds unquoted identifiers."""
    assert {"Orders", "orders"} <= sqlscan.names("SELECT * FROM Orders")


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT 1", ["SELECT"]),
        ("select 1;", ["SELECT"]),
        ("SELECT ';'; DROP TABLE t", ["SELECT", "DROP"]),
        ("SELECT $$a;b$$ -- ;\n", ["SELECT"]),
        ("/* ; */ WITH x AS (SELECT 1) SELECT * FROM x", ["WITH"]),
        ("SELECT E'\\';' ; COPY t TO 'f'", ["SELECT", "COPY"]),
        ("(SELECT 1) UNION (SELECT 2)", ["("]),
        (" ; ;", []),
    ],
)
def test_statement_words_split_only_outside_strings_and_comments(sql: str, words: list[str]) -> None:
    """Statements end at a semicolon that no string, quote or comment hides; empty ones are not counted."""
    assert sqlscan.statement_words(sql) == words


@pytest.mark.parametrize(
    ("sql", "kept"),
    [
        ("SELECT 1; -- done", "SELECT 1"),
        ("SELECT 'a;b' ;; /* x; */ \n", "SELECT 'a;b'"),
        ("SELECT $$x;$$", "SELECT $$x;$$"),
        ('SELECT 1 AS ";"', 'SELECT 1 AS ";"'),
        ("SELECT 1 -- no semicolon;\n", "SELECT 1"),
        ("SELECT E'\\';'", "SELECT E'\\';'"),
        ("; -- nothing", ""),
    ],
)
def test_trailing_semicolons_and_comments_are_cut_but_not_inside_strings(sql: str, kept: str) -> None:
    """Only semicolons, comments and spaces after the last real token go; strings and quoted names stay whole."""
    assert sqlscan.without_trailing_semicolons(sql) == kept


def test_query_problem_names_what_is_wrong() -> None:
    """One query passes; two statements, none, or one that is not a query each get a reason."""
    assert sqlscan.query_problem("FROM t") is None
    assert sqlscan.query_problem("SELECT 1; DROP TABLE t") == (
        "a transform is one SELECT query; found 2 statement(s): SELECT, DROP"
    )
    assert sqlscan.query_problem("-- nothing") == "a transform is one SELECT query; found 0 statement(s): nothing"
    assert sqlscan.query_problem("DELETE FROM t") == "a transform is one SELECT query; this one starts with DELETE"


_PIECES = st.sampled_from(
    [
        "SELECT 1",
        "SELECT 'a;b'",
        "SELECT 'it''s;'",
        "SELECT E'x\\';'",
        "SELECT $$;$$",
        "SELECT $q$ ; $q$",
        'SELECT 1 AS "semi;colon"',
        'SELECT 1 AS "q""uote;"',
        "SELECT 1 /* ; /* ; */ ; */",
        "SELECT 1 -- ;",
        "FROM range(3)",
        "VALUES (1), (2)",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=5), st.lists(st.sampled_from([";", ";\n", " ; ", ";;"]), min_size=5))
def test_statement_count_agrees_with_duckdb(pieces: list[str], separators: list[str]) -> None:
    """Statements joined by semicolons are counted by the scan exactly as DuckDB's parser counts them."""
    sql = "".join(piece + ("\n" if "--" in piece else "") + sep for piece, sep in zip(pieces, separators, strict=False))
    assert len(sqlscan.statement_words(sql)) == len(duckdb.extract_statements(sql))

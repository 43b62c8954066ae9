"""Values that cannot work are refused at load, at the line of the key that holds them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated

import pytest
from conftest import conn
from hypothesis import given, settings
from hypothesis import strategies as st

from ductflow_core.cli.main import main
from ductflow_core.connection import Connection
from ductflow_core.duck.names import quote_ident
from ductflow_core.errors import PipelineError
from ductflow_core.models import Stages
from ductflow_core.params import NonEmpty, ParamsInvalid, Range, check_params


class Member(Connection):
    """Constraints on the members of optional params."""

    n: Annotated[int, Range(min=0)] | None = None
    s: Annotated[str, NonEmpty()] | None = None


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    code = main(["validate", str(path)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    return code, err[0] if err else ""


def _tap(params: str) -> str:
    return f"""
    - name: t
      kind: tap
      connection:
        kind: CustomConnection
        module: sample_connections
        classname: Constrained
        params:
          {params}
    """


def _sink(params: str) -> str:
    return f"""
    - name: src
      kind: transform
      sql: SELECT 1 AS n
    - name: s
      kind: sink
      connection:
        kind: CustomConnection
        module: sample_connections
        classname: Constrained
        params:
          {params}
    """


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_tap("count: 0"), "pipeline.yaml:8: stage 't': connection.params.count: must be >= 1, got 0"),
        (_tap("count: 1001"), "pipeline.yaml:8: stage 't': connection.params.count: must be <= 1000, got 1001"),
        (_tap("ratio: .nan"), "pipeline.yaml:8: stage 't': connection.params.ratio: must be a number from 0 to 1"),
        (_tap("label: ''"), "pipeline.yaml:8: stage 't': connection.params.label: must not be empty"),
        (_tap("skip: -1"), "pipeline.yaml:8: stage 't': connection.params.skip: must be >= 0, got -1"),
        (_tap("partition_by: [n]"), "yaml:8: stage 't': connection.params.partition_by: only applies to a sink"),
        (_sink("skip: 1"), "pipeline.yaml:11: stage 's': connection.params.skip: only applies to a tap"),
        (_sink("partition_by: []"), "pipeline.yaml:11: stage 's': connection.params.partition_by: must not be empty"),
    ],
)
def test_param_constraints_are_refused_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """A param breaking its declared constraint fails validation with exit 2 at the param's own line."""
    code, line = _validate(tmp_path, text, capsys)
    assert code == 2
    assert message in line


@pytest.mark.parametrize(
    "text",
    [
        _tap("count: 1000"),
        _tap("skip: 0"),
        _tap("skip: null"),
        _tap("ratio: 1"),
        _sink("partition_by: [n]"),
        _sink("partition_by: null"),
    ],
)
def test_values_within_constraints_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Bounds are inclusive, null passes every constraint, and a role-bound param is fine on its own role."""
    assert _validate(tmp_path, text, capsys) == (0, "")


def test_type_error_comes_before_constraints() -> None:
    """A value of the wrong type is reported as such, not as breaking a constraint."""
    from sample_connections import Constrained

    with pytest.raises(ParamsInvalid) as info:
        check_params(Constrained, {"count": "many"}, "tap")
    assert info.value.errors == [(("count",), "expected int, got 'many'")]


def test_unannotated_and_unroled_checks_behave_as_before() -> None:
    """Without a role the role constraints are not applied, and a class with plain annotations checks types only."""
    from sample_connections import Constrained, Numbers

    assert check_params(Constrained, {"skip": 1, "partition_by": ["a"]}) == {"skip": 1, "partition_by": ["a"]}
    assert check_params(Numbers, {"rows": -5}, "tap") == {"rows": -5}


def test_every_broken_param_is_listed() -> None:
    """Several params breaking constraints are all reported, one problem per param."""
    from sample_connections import Constrained

    with pytest.raises(ParamsInvalid) as info:
        check_params(Constrained, {"count": 0, "label": "", "partition_by": []}, "tap")
    assert info.value.errors == [
        (("count",), "must be >= 1, got 0"),
        (("label",), "must not be empty"),
        (("partition_by",), "only applies to a sink"),
    ]


def test_constraints_reach_into_optional_members() -> None:
    """A constraint on a member of a union (``Annotated[int, Range(min=0)] | None``) is checked too."""
    with pytest.raises(ParamsInvalid) as info:
        check_params(Member, {"n": -2, "s": ""}, "tap")
    assert [p for p, _ in info.value.errors] == [("n",), ("s",)]
    assert check_params(Member, {"n": None}, "tap") == {"n": None}


def test_no_implementation_for_the_role_is_refused_at_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sink or sql stage whose class has no sink()/sql() fails validation naming the stage and the class."""
    code, line = _validate(
        tmp_path,
        f"""
        - name: t
          kind: tap
          connection: {conn("Numbers")}
        - name: s
          kind: sink
          connection: {conn("Numbers")}
        """,
        capsys,
    )
    assert code == 2
    assert line.endswith(
        "pipeline.yaml:5: stage 's': kind: sample_connections.Numbers does not implement sink(), "
        "so it cannot be used in a sink stage"
    )
    code, line = _validate(
        tmp_path,
        f"""
        - name: q
          kind: sql
          query: SELECT 1
          connection: {conn("Collect")}
        """,
        capsys,
    )
    assert code == 2
    assert "stage 'q': kind: sample_connections.Collect does not implement sql(), so it cannot be used in an" in line


def _load_error(text: str) -> str:
    with pytest.raises(PipelineError) as info:
        Stages.load(textwrap.dedent(text).lstrip("\n"))
    return str(info.value)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("show: -1", "<string>:3: stage 'a': show: must be >= 0, got -1"),
        ("show: 10001", "<string>:3: stage 'a': show: must be <= 10000, got 10001"),
        ("connection: {kind: csv, config: {timeout: 0}}", "connection.config.timeout: must be > 0, got 0"),
        ("connection: {kind: csv, config: {timeout: -5}}", "connection.config.timeout: must be > 0, got -5"),
        ("connection: {kind: csv, config: {timeout: .inf}}", "connection.config.timeout: must be <= 2592000, got inf"),
        ("connection: {kind: csv, config: {timeout: .nan}}", "connection.config.timeout: must be a number above 0"),
        ("connection: {kind: csv, config: {batch_size: 0}}", "connection.config.batch_size: must be >= 1, got 0"),
        (
            "connection: {kind: csv, config: {batch_size: 10000001}}",
            "connection.config.batch_size: must be <= 10000000, got 10000001",
        ),
    ],
)
def test_stage_values_out_of_bounds_are_refused_at_their_line(key: str, message: str) -> None:
    """``show``, ``config.timeout`` and ``config.batch_size`` outside their documented bounds fail at load."""
    text = f"- name: a\n  kind: tap\n  {key}\n" + ("" if "connection" in key else "  connection: {kind: csv}\n")
    with pytest.raises(PipelineError) as info:
        Stages.load(text)
    assert message in str(info.value)
    assert str(info.value).startswith("<string>:3: stage 'a': ")


def test_stage_values_at_their_bounds_load() -> None:
    """The bounds themselves, and show: true/false, are accepted."""
    text = textwrap.dedent(
        """
        - {name: a, kind: tap, show: 10000, connection: {kind: csv, config: {timeout: 2592000, batch_size: 1}}}
        - {name: b, kind: tap, show: true, connection: {kind: csv, config: {timeout: 0.001, batch_size: 10000000}}}
        - {name: c, kind: tap, show: false, connection: {kind: csv}}
        """
    )
    shows = [stage.show for stage in Stages.load(text).stages]
    assert shows == [10000, 10, 0]


@pytest.mark.parametrize(
    "name", ["a\\0b", "a\\nb", "tab\\there", "bell\\a", "del\\x7f", "c1\\x85", "ls\\u2028x", "rtl\\u202eabc"]
)
def test_control_characters_in_a_stage_name_are_refused(name: str) -> None:
    """A stage name with a control character fails at the name's line."""
    message = _load_error(f"""
        - name: x
          kind: transform
          sql: SELECT 1
        - name: "{name}"
          kind: transform
          sql: SELECT 1
        """)
    assert message.startswith("<string>:4: stage ")
    assert message.endswith(": name: a stage name cannot hold control characters (NUL, newline, tab, ...)")


def test_a_stage_waiting_for_itself_is_blamed_on_that_after_item() -> None:
    """``after: [itself]`` is refused at the item's line, not as a cycle through ``from``."""
    message = _load_error("""
        - name: a
          kind: transform
          sql: SELECT 1
        - name: b
          kind: transform
          sql: SELECT 2
          after:
            - a
            - b
        """)
    assert message == "<string>:9: stage 'b': after[1]: a stage cannot wait for itself"


@pytest.mark.parametrize(
    ("first", "second"),
    [("straße", "STRASSE"), ("Ä", "ä"), ("I", "ı"), ("K", "\u212a"), ("\u00e9", "e\u0301"), ("σ", "Σ")],
)
def test_names_duckdb_keeps_apart_are_not_duplicates(tmp_path: Path, first: str, second: str) -> None:
    """Two names DuckDB takes for different tables load, and both tables are made in a real run."""
    from ductflow_core import api

    text = "".join(f'- {{name: "{n}", kind: transform, sql: SELECT {i} AS x}}\n' for i, n in ((1, first), (2, second)))
    path = tmp_path / "names.yaml"
    path.write_text(text, encoding="utf-8")
    database = tmp_path / "names.duckdb"
    api.run(Stages.load(path), database=str(database))
    import duckdb

    with duckdb.connect(str(database)) as db:
        got = {name: db.execute(f"SELECT x FROM {quote_ident(name)}").fetchall() for name in (first, second)}
    assert got == {first: [(1,)], second: [(2,)]}


@pytest.mark.parametrize(("first", "second"), [("orders", "ORDERS"), ("Straße", "straße"), ("ab_C", "AB_c")])
def test_names_duckdb_takes_for_one_are_duplicates(first: str, second: str) -> None:
    """Names differing only in the case of A-Z clash, as they do in DuckDB."""
    message = _load_error(f"""
        - {{name: "{first}", kind: transform, sql: SELECT 1}}
        - {{name: "{second}", kind: transform, sql: SELECT 2}}
        """)
    assert message.startswith(f"<string>:2: stage {second!r}: name: duplicate stage name {second!r}")


def test_sql_naming_a_stage_in_another_case_waits_for_it() -> None:
    """A transform naming ``ORDERS`` waits for stage ``orders``, but ``STRASSE``, ``Ä``, ``I`` wait for no stage."""
    from ductflow_core.pipeline.plan import dependencies

    pipeline = Stages.load(
        textwrap.dedent(
            """
            - {name: orders, kind: transform, sql: SELECT 1 AS x}
            - {name: straße, kind: transform, sql: SELECT 1 AS x}
            - {name: ä, kind: transform, sql: SELECT 1 AS x}
            - {name: ı, kind: transform, sql: SELECT 1 AS x}
            - {name: other, kind: transform, sql: SELECT 1 AS y}
            - {name: t, kind: transform, sql: "SELECT * FROM ORDERS, STRASSE, Ä, I"}
            """
        )
    )
    assert dependencies(pipeline)["t"] == {"orders"}


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ("{name: ' ', kind: transform, sql: SELECT 1}", "stage ' ': name: expected a non-empty string, got ' '"),
        ("{name: a, kind: tap, query: '', connection: {kind: csv}}", "stage 'a': query: must not be empty"),
        (
            "{name: a, kind: sql, query: '  ', connection: {kind: csv}}",
            "stage 'a': query: must not be blank (only white space)",
        ),
        (
            "{name: a, kind: tap, connection: {kind: csv, fields: [{name: '', type: INT}]}}",
            "stage 'a': connection.fields[0].name: must not be empty",
        ),
        (
            "{name: a, kind: tap, connection: {kind: CustomConnection, module: '', classname: X}}",
            "stage 'a': connection.module: must not be empty",
        ),
        ("{name: a, kind: tap, connection: {kind: ''}}", "stage 'a': connection.kind: expected 'CustomConnection' or"),
        ("{name: a, kind: tap, connection: {kind: CustomConnection, locator: ''}}", "stage 'a': connection.locator:"),
    ],
)
def test_empty_values_that_cannot_work_are_refused(stage: str, message: str) -> None:
    """Blank names, queries, field names, modules and locators fail at load at their own key."""
    assert _load_error(f"- {stage}\n").startswith(f"<string>:1: {message}")


def test_nonempty_refuses_blank_strings_in_params() -> None:
    """A NonEmpty param of only white space is refused like an empty one."""
    from sample_connections import Constrained

    with pytest.raises(ParamsInvalid) as info:
        check_params(Constrained, {"label": " \t"}, "tap")
    assert info.value.errors == [(("label",), "must not be blank (only white space)")]


@settings(max_examples=300, deadline=None)
@given(st.integers(), st.floats(allow_nan=True, allow_infinity=True))
def test_range_refuses_exactly_what_lies_outside(count: int, ratio: float) -> None:
    """An int param in Range(1, 1000) and a float in Range(0, 1) pass exactly when inside, NaN never."""
    from sample_connections import Constrained

    inside = 1 <= count <= 1000 and 0 <= ratio <= 1
    params = {"count": count, "ratio": ratio}
    if inside:
        assert check_params(Constrained, params, "tap") == params
        return
    with pytest.raises(ParamsInvalid) as info:
        check_params(Constrained, params, "tap")
    wrong = {("count",)} if not 1 <= count <= 1000 else set()
    wrong |= {("ratio",)} if not 0 <= ratio <= 1 else set()
    assert {path for path, _ in info.value.errors} == wrong


def test_a_role_bound_param_set_to_null_passes_on_either_stage() -> None:
    """``skip: null`` on a sink and ``partition_by: null`` on a tap mean "not set": no role problem is reported."""
    from sample_connections import Constrained

    assert check_params(Constrained, {"skip": None}, "sink") == {"skip": None}
    assert check_params(Constrained, {"partition_by": None}, "tap") == {"partition_by": None}

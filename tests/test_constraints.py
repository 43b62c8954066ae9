"""Values that cannot work are refused at load, at the line of the key that holds them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated

import pytest
from conftest import conn

from ductflow_core.cli import main
from ductflow_core.connection import Connection
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

"""Sessions: ``tests`` (core and every plugin, against a real PostgreSQL), ``lint``, ``typecheck``, ``bench``."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())


def _install_all(session: nox.Session) -> None:
    args = ["-e", f"{ROOT}[test]"]
    for plugin in PLUGINS:
        args += ["-e", f"{plugin}[test]"]
    session.install(*args)


def _postgres_dsn(session: nox.Session) -> str:
    """A DSN for the tests: the one given, else a private cluster started (and installed if need be) here."""
    given = os.environ.get("DUCTFLOW_TEST_PG_DSN")
    if given:
        return given
    out = session.run("bash", str(ROOT / "scripts" / "pg-server.sh"), "start", external=True, silent=True)
    lines = [line for line in str(out).splitlines() if line.startswith("postgresql://")]
    if not lines:
        session.error(f"scripts/pg-server.sh start printed no DSN:\n{out}")
    return lines[-1]


@nox.session
def tests(session: nox.Session) -> None:
    """Every test suite: the core's, then each plugin's from its own folder."""
    _install_all(session)
    env = {"DUCTFLOW_TEST_PG_DSN": _postgres_dsn(session)}
    session.run("pytest", str(ROOT / "tests"), *session.posargs, env=env)
    session.run("pytest", str(ROOT / "benchmarks" / "tests"), *session.posargs, env=env)
    for plugin in PLUGINS:
        with session.chdir(plugin):
            session.run("pytest", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over every Python file of the repository, then the layout's layer rules (tests/test_layers.py)."""
    session.install("ruff", "pytest", "pytest-asyncio")
    session.run("ruff", "check", str(ROOT))
    # The layer test reads source with ast and needs nothing installed: no conftest (it imports the test samples).
    session.run("pytest", "-q", "-p", "no:cacheprovider", "--noconftest", str(ROOT / "tests" / "test_layers.py"))


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the core package, then over each plugin's package."""
    _install_all(session)
    session.install("mypy", "types-PyYAML")
    session.run("mypy", "--config-file", str(ROOT / "pyproject.toml"))
    for plugin in PLUGINS:
        inits = sorted(plugin.glob("src/ductflow_*/__init__.py"))
        session.run("mypy", "--ignore-missing-imports", "--check-untyped-defs", *(str(i.parent) for i in inits))


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite against raw DuckDB and the limits (arguments after -- go to the runner: --quick, --peers)."""
    _install_all(session)
    session.install("matplotlib")
    env = {"DUCTFLOW_BENCH_PG_DSN": os.environ.get("DUCTFLOW_BENCH_PG_DSN") or _postgres_dsn(session)}
    session.run("python", "-m", "benchmarks", *session.posargs, env=env)

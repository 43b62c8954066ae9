"""Checks of a pipeline's settings made without opening DuckDB: setting names and values, the database file.

Part of loading (``pipeline/``), so the loader reports them with every other problem; :mod:`ductflow_core.duck.open`
applies the settings once they pass.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ductflow_core.models import Settings

#: Settings checked when the pipeline loads, without DuckDB: ``{name: (least, most)}``. DuckDB refuses
#: fewer than one thread only when the database opens; far more threads than any machine has each cost
#: a stack, and 2**40 of them fail as "Out of Memory".
COUNTED_SETTINGS: dict[str, tuple[int, int]] = {"threads": (1, 4096), "worker_threads": (1, 4096)}


def setting_problem(name: str, value: Any) -> str | None:
    """Why DuckDB would refuse ``duckdb: {name: value}``, for the settings that can be told at load; else ``None``."""
    bounds = COUNTED_SETTINGS.get(name.lower())
    if bounds is None:
        return None
    least, most = bounds
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected a whole number from {least} to {most}"
    if value < least:
        return f"must be >= {least}, got {value}"
    if value > most:
        return f"must be <= {most}, got {value}"
    return None


def database_file_problem(path: str) -> str | None:
    """Why ``path`` cannot be the run's DuckDB database file, or ``None`` (also when it does not exist yet).

    DuckDB opens a folder, a device or a file of something else with an error at best, and some files
    (a ``.csv``) as an empty database in memory: the run would then keep nothing and say nothing. A DuckDB
    file has ``DUCK`` at byte 8; anything else that exists is refused before DuckDB sees it.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            # DuckDB would create the file wherever the link points.
            return "is a symbolic link to nothing, not a DuckDB database file"
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            return "names a folder that does not exist, so no DuckDB database file can be made there"
        return None
    except ValueError:  # a NUL, or text the file system's encoding cannot hold
        return "is not a name the file system can hold"
    except NotADirectoryError:
        return "names a folder that is a file, so no DuckDB database file can be made there"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a DuckDB database file"
    if not stat.S_ISREG(info.st_mode):
        return "is a device, pipe or socket, not a DuckDB database file"
    try:
        with open(path, "rb") as file:
            head = file.read(12)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if head[8:12] != b"DUCK":
        return "exists and is not a DuckDB database file (name a DuckDB file, or one not made yet)"
    return None


def settings_problems(settings: Settings, base_dir: Path) -> list[tuple[tuple[str, ...], str]]:
    """``(key path, message)`` for each setting that cannot work, found without opening DuckDB."""
    problems: list[tuple[tuple[str, ...], str]] = []
    if settings.database:
        problem = database_file_problem(str(Path(base_dir, settings.database)))
        if problem:
            problems.append((("database",), f"the path {problem}"))
    for name, value in settings.duckdb.items():
        problem = setting_problem(str(name), value)
        if problem:
            problems.append((("duckdb", name), problem))
    return problems

"""What a run prints: ``show:`` blocks on stdout, status lines on stderr, secrets masked."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ductflow_core.duck.names import quote_ident
from ductflow_core.models import Field, Stage

if TYPE_CHECKING:
    from ductflow_core.duck.database import StageDatabase

_MAX_CELL = 40
MASK = "***"
#: Shorter secrets are masked only as whole words: ``1`` inside ``10`` or ``on`` inside ``none`` is not one.
_SHORT = 4


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``: anywhere when 4 characters or longer, else as a word.

    The loader gives short values only for stage names (and ``from``/``after``) that came from ``${VAR}``:
    those are printed in progress lines and errors, and hiding them matters more than a stray word.
    """
    return _mask_sorted(text, _longest_first(secrets))


def _longest_first(secrets: Iterable[str]) -> list[str]:
    # Longest first, so a secret containing another is masked whole.
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def _mask_sorted(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if len(secret) >= _SHORT:
            text = text.replace(secret, MASK)
        elif secret in text:
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", MASK, text)
    return text


class Output:
    """Where a run writes; masks every secret value (from ``${VAR}``) before it is printed."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.secrets = _longest_first(secrets)
        self._lock = asyncio.Lock()

    def mask(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***`` (see :func:`mask_secrets`)."""
        return _mask_sorted(text, self.secrets)

    def status(self, line: str, *, end: str = "\n") -> None:
        """A progress or summary line, on stderr."""
        self.err.write(self.mask(line) + end)
        self.err.flush()

    async def show(self, stage: Stage, fields: Sequence[Field], facade: StageDatabase, table: str | None) -> None:
        """Print a stage's schema and, when it has a table, its first ``stage.show`` rows."""
        rows: list[tuple[Any, ...]] = []
        columns: list[str] = []
        if table is not None and stage.show > 0:
            rel = await facade.sql(f"SELECT * FROM {quote_ident(table)} LIMIT {int(stage.show)}")
            if rel is not None:
                columns = rel.columns
                rows = await rel.fetchall()
        # Every cell as text, masked before render_table cuts it short: a secret inside a struct, or cut in
        # half, would not be found whole in the finished text.
        masked = [tuple(v if v is None else self.mask(str(v)) for v in row) for row in rows]
        text = render_show(stage.name, fields, columns, masked)
        async with self._lock:
            self.out.write(self.mask(text))
            self.out.flush()


def render_show(name: str, fields: Sequence[Field], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The text of a ``show:`` block: a schema list, then a table of rows."""
    lines = [f"── {name} ──", "schema:"]
    width = max((len(f.name) for f in fields), default=0)
    for f in fields:
        lines.append(f"  {f.name.ljust(width)}  {f.type}{'' if f.nullable else ' NOT NULL'}")
    if not fields:
        lines.append("  (no fields)")
    if columns:
        lines.append(f"first {len(rows)} row{'s' if len(rows) != 1 else ''}:")
        lines.extend("  " + line for line in render_table(columns, rows))
    return "\n".join(lines) + "\n"


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A plain-text table with a header row and aligned columns."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    header = " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))
    rule = "-+-".join("-" * w for w in widths)
    body = [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    return [header.rstrip(), rule, *body]


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"

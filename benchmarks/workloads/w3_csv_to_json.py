"""W3: read the CSV and write newline-delimited JSON."""

from __future__ import annotations

from ..context import Context
from ..harness import Contestant
from . import csv_copy
from .base import Workload, versus_reference_checks


def build(ctx: Context) -> list[Contestant]:
    return csv_copy.contestants(ctx, "w3", "json", ".jsonl", "json", "read_json")


WORKLOAD = Workload(
    key="W3",
    title="CSV → JSON lines",
    measures="Tap a CSV file and sink it as newline-delimited JSON: a text-heavy writer.",
    build=build,
    checks=lambda ctx, outcomes: versus_reference_checks(outcomes),
    charted=True,
)

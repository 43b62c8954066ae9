"""W1: read the CSV and write it as Parquet, the plainest move there is."""

from __future__ import annotations

from ..context import Context
from ..harness import Contestant
from ..peers import peer_contestants
from . import csv_copy
from .base import Workload, versus_reference_checks


def build(ctx: Context) -> list[Contestant]:
    contestants = csv_copy.contestants(ctx, "w1", "parquet", ".parquet", "parquet", "read_parquet")
    if ctx.peers:
        contestants += peer_contestants(ctx, ctx.folder("w1"))
    return contestants


WORKLOAD = Workload(
    key="W1",
    title="CSV → Parquet",
    measures="Tap a CSV file and sink it to Parquet: parsing, type detection and Parquet encoding, end to end.",
    build=build,
    checks=lambda ctx, outcomes: versus_reference_checks(outcomes),
    charted=True,
)

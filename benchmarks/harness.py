"""Interleaved measurement: every contestant of a workload runs in turn, round after round.

Alternating (A B A B …) instead of running all of A then all of B spreads the
machine's drifting background load evenly over the contestants.
"""

from __future__ import annotations

import shutil
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .proc import Sample, run_child

REFERENCE = "reference"
DUCTFLOW = "ductflow"
PEER = "peer"
#: Ductflow with non-default settings: shown for insight, never judged against a target.
VARIANT = "variant"


@dataclass
class Contestant:
    """One way of doing a workload: a command line, plus what to clear before each run."""

    name: str
    role: str
    argv: Sequence[str]
    cleanup: Sequence[Path] = ()
    env: Mapping[str, str] | None = None
    #: Checks the output after the warm-up and returns an error message, or None when it is right.
    verify: Callable[[], str | None] | None = None
    #: Set when the contestant could not even be prepared (e.g. a peer that failed to install).
    unavailable: str | None = None


@dataclass
class Outcome:
    """The counted runs of one contestant."""

    name: str
    role: str
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    @property
    def median_s(self) -> float | None:
        return statistics.median(s.wall_s for s in self.samples) if self.ok else None

    @property
    def peak_rss_bytes(self) -> int | None:
        return max(s.maxrss_bytes for s in self.samples) if self.ok else None

    def as_dict(self, rows: int | None) -> dict[str, Any]:
        median = self.median_s
        rss = self.peak_rss_bytes
        return {
            "name": self.name,
            "role": self.role,
            "status": "ok" if self.ok else "failed",
            "error": self.error,
            "walls_s": [round(s.wall_s, 4) for s in self.samples],
            "median_s": round(median, 4) if median is not None else None,
            "rows_per_s": round(rows / median) if rows and median else None,
            "peak_rss_mib": round(rss / 2**20, 1) if rss is not None else None,
        }


def rounds(*outcomes: Outcome | None) -> list[tuple[float, ...]]:
    """The wall times of each counted round, one per outcome, or nothing unless every outcome ran every round.

    Contestants of one round run back to back, on the machine as it was then; figures compared within a round
    are spared the drift between rounds (on a shared VM the same job swings by ±20 % over minutes).
    """
    complete = [o for o in outcomes if o is not None and o.ok]
    if len(complete) != len(outcomes) or len({len(o.samples) for o in complete}) != 1:
        return []
    return [tuple(s.wall_s for s in per_round) for per_round in zip(*(o.samples for o in complete), strict=True)]


def paired_ratio(ours: Outcome | None, ref: Outcome | None) -> float | None:
    """The median over rounds of ``ours`` ÷ ``ref`` in the same round."""
    pairs = [(a, b) for a, b in rounds(ours, ref) if b > 0]
    return statistics.median(a / b for a, b in pairs) if pairs else None


def clear(paths: Sequence[Path]) -> None:
    """Remove earlier outputs, so no run finds (or appends to) another run's files."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def measure(contestants: Sequence[Contestant], *, warmups: int, runs: int, log_dir: Path) -> list[Outcome]:
    """Warm up, then run ``runs`` counted rounds; a contestant that fails once drops out with its error."""
    outcomes = {c.name: Outcome(c.name, c.role, error=c.unavailable) for c in contestants}
    total = warmups + runs
    for round_no in range(total):
        counted = round_no >= warmups
        # Rotate who goes first so no contestant always runs right after the same neighbour.
        order = list(contestants[round_no % len(contestants) :]) + list(contestants[: round_no % len(contestants)])
        for contestant in order:
            outcome = outcomes[contestant.name]
            if outcome.error is not None:
                continue
            clear(contestant.cleanup)
            sample = run_child(contestant.argv, env=contestant.env, log_dir=log_dir / contestant.name)
            if sample.error is not None:
                outcome.error = sample.error
                outcome.samples.clear()
                continue
            if round_no == 0 and contestant.verify is not None:
                outcome.error = contestant.verify()
                if outcome.error is not None:
                    continue
            if counted:
                outcome.samples.append(sample)
        progress(round_no + 1, total, outcomes.values())
    return [outcomes[c.name] for c in contestants]


def progress(done: int, total: int, outcomes: Any) -> None:
    parts = []
    for o in outcomes:
        last = f"{o.samples[-1].wall_s:.3f}s" if o.samples else ("failed" if o.error else "warm-up")
        parts.append(f"{o.name}={last}")
    print(f"    round {done}/{total}: " + ", ".join(parts), file=sys.stderr, flush=True)

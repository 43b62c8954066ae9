"""The registry of workloads: add a module here (e.g. a PostgreSQL one) and it joins every run.

Each module exposes ``WORKLOAD``, a :class:`~benchmarks.workloads.base.Workload`, or ``WORKLOADS``, a list of them.
"""

from __future__ import annotations

import importlib

from .base import Workload

MODULES = [
    "w1_csv_to_parquet",
    "w2_parquet_transform",
    "w3_csv_to_json",
    "w4_many_stages",
    "w5_startup",
    "postgres",
]


def all_workloads() -> dict[str, Workload]:
    """Every registered workload by key (``W1`` …), in registration order."""
    found: dict[str, Workload] = {}
    for module_name in MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for workload in getattr(module, "WORKLOADS", [module.WORKLOAD]):
            found[workload.key] = workload
    return found

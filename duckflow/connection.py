"""The import path the CustomConnection guide shows; the class lives in :mod:`ductflow_core.connection`."""

from ductflow_core.connection import Connection

__all__ = ["Connection"]

"""Which plugins and modules a run may load, from flags and ``DUCTFLOW_*`` environment variables.

* ``DUCTFLOW_LOAD_PLUGINS``: comma-separated allowlist of plugin or
  distribution names; set but empty means none. Names compare as normalized
  distribution names (PEP 503: case-insensitive, ``-``, ``_`` and ``.`` alike).
* ``DUCTFLOW_DISABLE_PLUGINS``: comma-separated blocklist, same names.
* ``DUCTFLOW_STRICT_PLUGINS=1``: a hook plugin that fails to import or names
  no real hook, or a connection plugin that fails to import (used or not),
  stops the command instead of being skipped with a warning.
* ``DUCTFLOW_TRACE_HOOKS=1``: print every hook call, its plugins and duration.
* ``DUCTFLOW_ALLOWED_MODULES``: comma-separated ``fnmatch`` patterns of
  modules a pipeline's ``module:`` may import; unset means any. Module names
  are case-sensitive, so the patterns are too.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping

import attrs

from ductflow_core.plugin.installed import normalize


def _names(value: str | None) -> frozenset[str] | None:
    """Plugin or distribution names, normalized."""
    if value is None:
        return None
    return frozenset(normalize(part.strip()) for part in value.split(",") if part.strip())


def _patterns(value: str | None) -> tuple[str, ...] | None:
    """Module patterns, as written."""
    if value is None:
        return None
    return tuple(sorted({part.strip() for part in value.split(",") if part.strip()}))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@attrs.frozen
class Policy:
    """What may be loaded. ``None`` for a set means no restriction."""

    load: frozenset[str] | None = None
    disable: frozenset[str] = frozenset()
    strict: bool = False
    trace: bool = False
    allowed_modules: tuple[str, ...] | None = None
    plugins_only: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Policy:
        """Read the ``DUCTFLOW_*`` variables (from ``os.environ`` by default)."""
        env = os.environ if env is None else env
        return cls(
            load=_names(env.get("DUCTFLOW_LOAD_PLUGINS")),
            disable=_names(env.get("DUCTFLOW_DISABLE_PLUGINS")) or frozenset(),
            strict=_flag(env.get("DUCTFLOW_STRICT_PLUGINS")),
            trace=_flag(env.get("DUCTFLOW_TRACE_HOOKS")),
            allowed_modules=_patterns(env.get("DUCTFLOW_ALLOWED_MODULES")),
        )

    def with_modules(self, patterns: list[str] | None, plugins_only: bool) -> Policy:
        """This policy with command-line ``--allow-module`` patterns and ``--plugins-only`` added."""
        allowed = self.allowed_modules
        if patterns:
            allowed = tuple(sorted({*(allowed or ()), *patterns}))
        return attrs.evolve(self, allowed_modules=allowed, plugins_only=plugins_only or self.plugins_only)

    def allows_plugin(self, name: str, dist: str) -> bool:
        """Whether the entry point ``name`` of distribution ``dist`` may be loaded (names compared normalized)."""
        keys = {normalize(name), normalize(dist)}
        if keys & {normalize(n) for n in self.disable}:
            return False
        return self.load is None or bool(keys & {normalize(n) for n in self.load})

    def module_refusal(self, module: str) -> str | None:
        """Why ``module`` may not be imported by a pipeline, or ``None`` when it may."""
        if self.plugins_only:
            return f"module {module!r} refused: only installed plugins may be used (--plugins-only)"
        if self.allowed_modules is not None and not any(fnmatch.fnmatchcase(module, p) for p in self.allowed_modules):
            allowed = ", ".join(self.allowed_modules) or "none"
            return f"module {module!r} is not allowed (allowed modules: {allowed})"
        return None

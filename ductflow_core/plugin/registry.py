"""Find connection classes: installed entry points first, then ``module``/``classname``.

Entry points are read from distribution metadata, which is cheap; a plugin's
code is imported only when a pipeline names its locator, one at a time.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ductflow_core.errors import PluginConflict, PluginError, did_you_mean
from ductflow_core.plugin import installed
from ductflow_core.plugin.policy import Policy

if TYPE_CHECKING:
    from importlib import metadata

CONNECTIONS_GROUP = "ductflow.connections"
HOOKS_GROUP = "ductflow"


@attrs.frozen
class PluginInfo:
    """One entry point: its name (the locator), target, group and the distribution that ships it.

    ``source`` is the distribution's ``*.dist-info`` folder, or a
    ``importlib.metadata.Distribution`` (as tests build them); its name and
    version are read only when a message or a listing needs them.
    """

    name: str
    value: str
    group: str
    source: Path | metadata.Distribution | None = attrs.field(eq=False, repr=False, default=None)

    @property
    def dist(self) -> str:
        """The distribution's name (``ductflow-files``)."""
        if isinstance(self.source, Path):
            return installed.name_and_version(self.source)[0]
        return (self.source.metadata["Name"] if self.source is not None else None) or "?"

    @property
    def version(self) -> str:
        """The distribution's version."""
        if isinstance(self.source, Path):
            return installed.name_and_version(self.source)[1]
        return (self.source.version if self.source is not None else None) or "?"

    @property
    def dist_key(self) -> str:
        """A cheap identity of the distribution: its folder name, normalized."""
        if isinstance(self.source, Path):
            return installed.normalize(self.source.name.split("-", 1)[0].rsplit(".", 1)[0])
        folder = getattr(self.source, "_normalized_name", None)
        return str(folder) if folder else installed.normalize(self.dist)

    def load(self) -> Any:
        """Import the object the entry point names."""
        return installed.load(self.value)

    @property
    def origin(self) -> str:
        """``distribution version``, for messages."""
        return f"{self.dist} {self.version}"


class Registry:
    """The entry points of a set of distributions (by default: everything installed)."""

    def __init__(
        self, distributions: Iterable[metadata.Distribution] | None = None, policy: Policy | None = None
    ) -> None:
        self._distributions = distributions
        self.policy = policy or Policy()
        self._loaded: dict[str, type[Any]] = {}

    @functools.cached_property
    def _by_group(self) -> dict[str, dict[str, list[PluginInfo]]]:
        groups: dict[str, dict[str, list[PluginInfo]]] = {CONNECTIONS_GROUP: {}, HOOKS_GROUP: {}}
        for info in self.everything():
            if self.policy.allows_plugin(info.name, info.dist):
                groups[info.group].setdefault(info.name, []).append(info)
        return groups

    @functools.cache  # noqa: B019 - one registry per process, kept for its whole life
    def everything(self) -> tuple[PluginInfo, ...]:
        """Every Ductflow entry point installed, allowed by the policy or not."""
        infos: list[PluginInfo]
        if self._distributions is not None:
            infos = [
                PluginInfo(ep.name, ep.value, ep.group, dist)
                for dist in self._distributions
                for ep in dist.entry_points
                if ep.group in (CONNECTIONS_GROUP, HOOKS_GROUP)
            ]
        else:
            groups = (CONNECTIONS_GROUP, HOOKS_GROUP)
            infos = [PluginInfo(n, v, g, folder) for g, n, v, folder in installed.entry_points(groups)]
        found: list[PluginInfo] = []
        seen: set[tuple[str, str, str]] = set()
        for info in infos:
            key = (info.group, info.name, info.dist_key)
            if key not in seen:
                seen.add(key)
                found.append(info)
        return tuple(sorted(found, key=lambda i: (i.group, i.name, i.value)))

    def locators(self) -> list[PluginInfo]:
        """Every installed connection entry point, sorted by locator."""
        return sorted((i for infos in self._by_group[CONNECTIONS_GROUP].values() for i in infos), key=lambda i: i.name)

    def hook_plugins(self) -> list[PluginInfo]:
        """Every installed hook plugin entry point (group ``ductflow``)."""
        return sorted((i for infos in self._by_group[HOOKS_GROUP].values() for i in infos), key=lambda i: i.name)

    def has(self, locator: str) -> bool:
        """Whether an installed distribution provides ``locator``."""
        return locator in self._by_group[CONNECTIONS_GROUP]

    def info(self, locator: str) -> PluginInfo:
        """The one entry point for ``locator``; raise when none or several distributions claim it."""
        infos = self._by_group[CONNECTIONS_GROUP].get(locator)
        if not infos:
            raise PluginError(self.unknown_message(locator))
        if len(infos) > 1:
            sides = " and ".join(f"{i.origin} ({i.value})" for i in infos)
            raise PluginConflict(f"locator {locator!r} is claimed by two distributions: {sides}; uninstall one")
        return infos[0]

    def unknown_message(self, locator: str) -> str:
        """``unknown locator 'cvs' (did you mean 'csv'?); installed: csv, json, parquet``."""
        blocked = [i for i in self.everything() if i.group == CONNECTIONS_GROUP and i.name == locator]
        if blocked:
            return (
                f"locator {locator!r} ({blocked[0].origin}) is disabled by DUCTFLOW_LOAD_PLUGINS "
                "or DUCTFLOW_DISABLE_PLUGINS"
            )
        names = sorted(self._by_group[CONNECTIONS_GROUP])
        hint = did_you_mean(locator, names)
        installed = ", ".join(names) if names else "none"
        return f"unknown locator {locator!r}{hint}; installed locators: {installed}"

    def _blocked(self) -> list[PluginInfo]:
        return [i for i in self.everything() if not self.policy.allows_plugin(i.name, i.dist)]

    @functools.cached_property
    def disabled_packages(self) -> dict[str, PluginInfo]:
        """Top-level packages of the distributions the policy leaves no plugin of, each with one of its plugins.

        A distribution's packages are those its entry points name.
        """
        if self.policy.load is None and not self.policy.disable:
            return {}
        by_dist: dict[str, list[PluginInfo]] = {}
        for info in self.everything():
            by_dist.setdefault(info.dist_key, []).append(info)
        disabled: dict[str, PluginInfo] = {}
        for infos in by_dist.values():
            if not any(self.policy.allows_plugin(i.name, i.dist) for i in infos):
                for info in infos:
                    disabled.setdefault(_entry_module(info.value).split(".", 1)[0], info)
        return disabled

    def module_refusal(self, module: str) -> str | None:
        """Why a pipeline's ``module:`` may not import ``module``: its package belongs to a disabled distribution."""
        info = self.disabled_packages.get(module.split(".", 1)[0])
        if info is None:
            return None
        return f"module {module!r} belongs to distribution {info.origin}, which is {_DISABLED}"

    def class_refusal(self, obj: object) -> str | None:
        """Why ``obj``, imported by a pipeline's ``module:``, may not be used.

        It, or a class it derives from, is the class of a disabled plugin or comes from a disabled distribution.
        """
        if self.policy.load is None and not self.policy.disable:
            return None
        targets = {}
        for info in self._blocked():
            module, _, attribute = info.value.split("[", 1)[0].strip().partition(":")
            targets[f"{module.strip()}:{attribute.strip()}"] = info
        for cls in getattr(obj, "__mro__", (obj,)):
            module = str(getattr(cls, "__module__", ""))
            label = f"{module}.{getattr(cls, '__qualname__', '?')}"
            plugin = targets.get(f"{module}:{getattr(cls, '__qualname__', '')}")
            if plugin is not None:
                return f"{label} is plugin {plugin.name!r} ({plugin.origin}), which is {_DISABLED}"
            owner = self.disabled_packages.get(module.split(".", 1)[0])
            if owner is not None:
                return f"{label} comes from distribution {owner.origin}, which is {_DISABLED}"
        return None

    def connection_class(self, locator: str) -> type[Any]:
        """Import and return the class behind ``locator`` (once; later calls reuse it)."""
        if _DisabledImports in sys.meta_path:
            _refuse_disabled_imports(self)  # this registry's policy, not an earlier one's
        if locator not in self._loaded:
            info = self.info(locator)
            obj = load_entry_point(info)
            self._loaded[locator] = check_connection_class(obj, f"locator {locator!r} ({info.origin})")
        return self._loaded[locator]

    def check_connections(self) -> None:
        """Import every connection plugin the policy allows, used or not, for ``DUCTFLOW_STRICT_PLUGINS=1``.

        :raises PluginError: for the first that fails to import, is no Connection, or whose locator
            two distributions claim.
        """
        for locator in sorted(self._by_group[CONNECTIONS_GROUP]):
            self.connection_class(locator)


_DISABLED = "disabled by DUCTFLOW_LOAD_PLUGINS or DUCTFLOW_DISABLE_PLUGINS"


class _DisabledImports:
    """A ``sys.meta_path`` finder that refuses to import the packages of disabled distributions.

    So that a pipeline's own module cannot import a disabled plugin's code itself.
    """

    packages: ClassVar[dict[str, PluginInfo]] = {}

    @classmethod
    def find_spec(cls, fullname: str, path: object = None, target: object = None) -> None:
        info = cls.packages.get(fullname.split(".", 1)[0])
        if info is not None:
            raise ImportError(f"package {fullname!r} belongs to distribution {info.origin}, which is {_DISABLED}")


def _refuse_disabled_imports(registry: Registry) -> None:
    _DisabledImports.packages = dict(registry.disabled_packages)
    if _DisabledImports.packages and _DisabledImports not in sys.meta_path:
        sys.meta_path.insert(0, _DisabledImports)


def _entry_module(value: str) -> str:
    return value.split("[", 1)[0].partition(":")[0].strip()


def load_entry_point(info: PluginInfo) -> Any:
    """Import one entry point; an import failure names the plugin and its distribution, cause kept."""
    try:
        return info.load()
    except Exception as exc:
        raise PluginError(
            f"plugin {info.name!r} from distribution {info.origin} failed to import ({info.value}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def plugin_status(registry: Registry, info: PluginInfo) -> str:
    """``ok``, ``disabled`` (by the policy), ``conflict: …`` or ``broken: <cause>``; imports the plugin."""
    if not registry.policy.allows_plugin(info.name, info.dist):
        return "disabled"
    try:
        if info.group == CONNECTIONS_GROUP:
            registry.connection_class(info.name)
        else:
            load_entry_point(info)
    except PluginError as exc:
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
        return ("conflict: " if isinstance(exc, PluginConflict) else "broken: ") + detail
    return "ok"


def import_class(module: str, classname: str, base_dir: Path | None = None, policy: Policy | None = None) -> type[Any]:
    """Import a pipeline's ``module`` and return its ``classname``, under ``policy``.

    Refused before anything is imported: a module the policy's module rules refuse, and a module of a
    Ductflow distribution whose every plugin the policy disables. A top-level package that is installed
    is imported from where it is installed, never from ``base_dir`` or the current folder; ``base_dir``
    goes at the end of ``sys.path``, for the pipeline's own modules. A class that is the target of a
    disabled entry point is refused after the import.
    """
    policy = policy or Policy()
    plugins = _plugin_registry(policy)
    refusal = policy.module_refusal(module) or plugins.module_refusal(module)
    if refusal:
        raise PluginError(refusal)
    _refuse_disabled_imports(plugins)
    if base_dir is not None:
        installed.add_local(str(base_dir))
    try:
        if installed.check_not_shadowed(module):
            mod = installed.import_installed(module)
        else:
            mod = importlib.import_module(module)
    except installed.ShadowedModule as exc:
        raise PluginError(str(exc)) from exc
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name) and (module == exc.name or module[len(exc.name)] == "."):
            where = f"{base_dir} or sys.path" if base_dir else "sys.path"
            raise PluginError(f"module {module!r} not found (looked in {where})") from exc
        raise PluginError(f"importing module {module!r} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise PluginError(f"importing module {module!r} failed: {type(exc).__name__}: {exc}") from exc
    obj = getattr(mod, classname, None)
    if obj is None:
        names = [n for n, v in vars(mod).items() if inspect.isclass(v)]
        hint = did_you_mean(classname, names)
        raise PluginError(f"module {module!r} has no class {classname!r}{hint}")
    refusal = plugins.class_refusal(obj)
    if refusal:
        raise PluginError(refusal)
    return check_connection_class(obj, f"{module}.{classname}")


@functools.cache
def _plugin_registry(policy: Policy) -> Registry:
    """The installed plugins under ``policy``: which distributions a ``module:`` may reach."""
    return Registry(policy=policy)


_METHODS = ("tap", "sink", "sql", "show_schema", "close")


def check_connection_class(obj: Any, label: str) -> type[Any]:
    """Return ``obj`` if it is a Connection subclass whose operations are all ``async def``."""
    from ductflow_core.connection import Connection

    if not (inspect.isclass(obj) and issubclass(obj, Connection)):
        raise PluginError(f"{label} is not a Connection subclass (derive it from ductflow_core.connection.Connection)")
    for method in _METHODS:
        fn = getattr(obj, method)
        if not inspect.iscoroutinefunction(fn):
            raise PluginError(f"{label}.{method} must be 'async def' (every connection method is awaited)")
    return obj


_DEFAULT: list[Registry] = []


def default_registry() -> Registry:
    """The registry of everything installed, under the ``DUCTFLOW_*`` policy; built on first use."""
    if not _DEFAULT:
        _DEFAULT.append(Registry(policy=Policy.from_env()))
    return _DEFAULT[0]

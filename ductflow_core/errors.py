"""The one family of errors a user is meant to read.

Anything raised that is *not* a :class:`DuctflowError` is a bug in Ductflow or
in a plugin, and the CLI keeps its traceback.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    """What ``ductflow`` exits with: success, a failed run, an invalid pipeline, or a signal (128 + its number)."""

    OK = 0
    FAILED = 1
    INVALID = 2
    INTERRUPTED = 130
    TERMINATED = 143


class DuctflowError(Exception):
    """Base of every user-facing error; the CLI prints it as one line.

    ``exit_code`` is what ``ductflow`` exits with when this error ends a command.
    """

    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PipelineError(DuctflowError):
    """The pipeline cannot be loaded or validated (bad YAML, bad keys, bad params).

    Where the problem is comes as fields, ``str()`` joins them (see :func:`ductflow_core.pipeline.where.format_error`):
    ``source:line: stage 'x': key.path: message``. ``stage`` is a stage's name, or its position from 1 when it has
    none; ``key_path`` the YAML keys (and list indexes) inside the stage, or from the top when ``stage`` is None.
    """

    exit_code = ExitCode.INVALID

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        stage: str | int | None = None,
        key_path: tuple[str | int, ...] = (),
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.stage = stage
        self.key_path = tuple(key_path)

    def __str__(self) -> str:
        from ductflow_core.pipeline.where import format_error

        return format_error(self.source, self.line, self.stage, self.key_path, self.message)


class PipelineErrors(PipelineError):
    """Several independent problems of one pipeline (``ductflow validate`` reports them all), in file order.

    ``errors`` holds them; ``more`` says that the search stopped at a limit. As a single error it reads as its
    first problem, so a caller that shows one line shows that one.
    """

    def __init__(self, errors: list[PipelineError], *, more: bool = False) -> None:
        first = errors[0]
        super().__init__(
            first.message, source=first.source, line=first.line, stage=first.stage, key_path=first.key_path
        )
        self.errors = list(errors)
        self.more = more

    def __str__(self) -> str:
        return str(self.errors[0])

    def lines(self) -> list[str]:
        """One line per problem, and a last one when more were left unreported."""
        out = [str(error) for error in self.errors]
        if self.more:
            source = self.errors[0].source
            more = f"more problems not checked after the first {len(self.errors)}; fix these first"
            out.append(f"{source}: {more}" if source else more)
        return out


class PluginError(PipelineError):
    """A connection or hook plugin cannot be found, imported or used."""


class PluginConflict(PluginError):
    """Two installed distributions claim the same locator; one must be uninstalled."""


class ConnectorError(DuctflowError):
    """Raised by a connection to report an expected failure with a clear message.

    Connections raise this (or a subclass) for failures a user can act on: a
    refused login, a missing table, a file that does not exist. The runner adds
    the stage and connection class in front of the message.
    """


class ParamError(ConnectorError):
    """A connection's param cannot work; ``param`` names its key (``None`` blames the whole ``params``).

    Raised from ``Connection.check_stage`` at load, it becomes
    ``file:line: stage 'x': connection.params.<param>: <message>`` with exit code 2.
    """

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param


class StageFailed(DuctflowError):
    """A stage raised while the pipeline ran; names the stage, its class and the cause."""

    exit_code = ExitCode.FAILED

    def __init__(self, stage: str, where: str, cause: BaseException, location: str = "") -> None:
        detail = str(cause) if isinstance(cause, DuctflowError) else _describe(cause)
        prefix = f"{location}: " if location else ""
        super().__init__(f"{prefix}stage {stage!r} ({where}) failed: {detail}")
        self.stage = stage
        self.cause = cause


class RunInterrupted(DuctflowError):
    """The run was stopped by a signal (Ctrl-C or SIGTERM)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'csv'?)`` when one of ``choices`` is close to ``word``, else the empty string."""
    # Imported here: only a failing run pays for difflib.
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def first_line(error: BaseException | str, fallback: str | None = None) -> str:
    """The first non-blank line of a driver's error, stripped: DuckDB and drivers put the useful part there.

    With no such line: ``fallback`` when given, else an exception's class name (``""`` for a text).
    """
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    if fallback is not None:
        return fallback
    return "" if isinstance(error, str) else type(error).__name__


def _describe(exc: BaseException) -> str:
    first = first_line(exc, fallback="")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__

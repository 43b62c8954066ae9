"""One module per ``ductflow`` subcommand, each with ``main(args) -> int``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ductflow_core.errors import DuctflowError, ExitCode, PipelineErrors


def guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run ``command``; print a Ductflow error as one line (traceback with ``--verbose``)."""
    try:
        return command(args)
    except DuctflowError as exc:
        if getattr(args, "verbose", False):
            import traceback

            print(_mask(args, traceback.format_exc()), end="", file=sys.stderr)
        for line in exc.lines() if isinstance(exc, PipelineErrors) else [str(exc)]:
            print(f"error: {_mask(args, line)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more to say, and nothing failed.
        sys.stderr.close()
        return ExitCode.OK
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _mask(args: argparse.Namespace, text: str) -> str:
    from ductflow_core.run.output import mask_secrets

    return mask_secrets(text, getattr(args, "secrets", ()))

"""Pausing Python's cyclic garbage collector while the ``ductflow`` command starts up.

Start-up creates many objects that live as long as the process (modules, classes,
the code cattrs generates) and no garbage worth a collection. With the collector on,
a run spends dozens of collections walking them before its first stage.
The console script pauses the collector; a command resumes it, with everything made
so far frozen out of its reach, before it runs any connection's code.

The price: garbage made during start-up is frozen with the rest and never freed: a
few hundred KiB (mostly the classes attrs replaces by slotted ones), once per process;
collecting it first would cost a full collection, more than the pause saves
(figures in docs/performance.md).
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop cyclic collection until :func:`resume`; does nothing if it is already off."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what start-up made and turn collection back on, if :func:`pause` turned it off."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False

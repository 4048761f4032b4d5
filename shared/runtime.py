"""Process-level tuning shared by the edge and hub servers."""

from __future__ import annotations

import gc

__all__ = ["tune_gc_for_serving"]


def tune_gc_for_serving() -> None:
    """Call once the app is built, before serving.

    Everything loaded at start-up (modules, the app, SQLAlchemy's mappers) lives as long as
    the process: ``gc.freeze`` takes it out of the collector's scans. A sync batch creates
    tens of thousands of short-lived objects (decoded events, rows), which at CPython's
    default gen-0 threshold (700) triggered collections that walked the whole heap many
    times per batch; a higher threshold keeps collection work proportional to garbage.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)

"""HTTP routes of the edge. Shared helpers for handlers live in ``edge.api.deps``."""

from edge.api.deps import EdgeState, principal, requires, write

__all__ = ["EdgeState", "principal", "requires", "write"]

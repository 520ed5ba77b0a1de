"""Reads of the transparency log."""

from __future__ import annotations

from transparency.models import Checkpoint, LogState


def log_head_get() -> tuple[LogState, Checkpoint | None]:
    """Return the log head and its latest checkpoint (``None`` for an empty log)."""
    state = LogState.objects.filter(id=1).first() or LogState(id=1)
    checkpoint = Checkpoint.objects.order_by("-tree_size", "-id").first()
    return state, checkpoint

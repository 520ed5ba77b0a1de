"""Writes to the transparency log (queueing, sequencing, checkpoints)."""

from transparency.services.log import (
    MAX_BATCH,
    IntegrateResult,
    NodeCache,
    checkpoint_timestamp_line,
    log_checkpoint_refresh,
    log_enqueue,
    log_heal,
    log_integrate,
    log_sequence,
    log_tick,
)

__all__ = [
    "MAX_BATCH",
    "IntegrateResult",
    "NodeCache",
    "checkpoint_timestamp_line",
    "log_checkpoint_refresh",
    "log_enqueue",
    "log_heal",
    "log_integrate",
    "log_sequence",
    "log_tick",
]

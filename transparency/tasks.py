"""Celery tasks of the transparency log: load ids, call one service."""

from __future__ import annotations

from celery import shared_task

from transparency.services.monitor import monitor_run


@shared_task(name="transparency.tasks.monitor_run_task")
def monitor_run_task() -> bool:
    """Run the log monitor once (``monitor_run``); return whether all was ok."""
    return monitor_run().result.ok

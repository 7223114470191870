"""Read models fed from the event store: runner, leader election, rebuild."""

from shared.projections.base import BATCH_WINDOW, Projection, lock_key
from shared.projections.rebuild import RebuildReport, rebuild
from shared.projections.runner import (
    InjectedCrashError,
    ProjectionRunner,
    ProjectionStatus,
    apply_batch,
    apply_events,
    read_checkpoint,
)

__all__ = [
    "BATCH_WINDOW",
    "InjectedCrashError",
    "Projection",
    "ProjectionRunner",
    "ProjectionStatus",
    "RebuildReport",
    "apply_batch",
    "apply_events",
    "lock_key",
    "read_checkpoint",
    "rebuild",
]

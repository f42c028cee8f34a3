"""Failed workers are reported, never lost.

Workers run with `exit_on_error=False` (one failing request must not end the app), so a
failure would vanish silently. Textual posts `Worker.StateChanged` only to the node that
started the worker (it does not bubble), so the one handler lives in a mixin that every
node with workers uses, and hands the failure to `report_failed_worker`: a notification
the person can read and a log line with the traceback.
"""

from __future__ import annotations

import logging

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from rentnumber_tui.user_error import message_of

log = logging.getLogger("rentnumber_tui.app")


def report_failed_worker(node: DOMNode, worker: Worker[object]) -> None:
    """Say that `worker` failed, in words, and log its traceback."""
    error = worker.error
    if error is None:
        return
    # The name, not the description: the description quotes the call's arguments.
    what = worker.name or "a background task"
    log.error("Worker %s failed", what, exc_info=error)
    node.app.notify(
        f"{message_of(error)} (in {what}). The rest of the app keeps working.",
        title="Something went wrong",
        severity="error",
        timeout=15,
        markup=False,
    )


class ReportsWorkerFailures:
    """Mixin for any node that starts workers (`@work(exit_on_error=False)`)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and isinstance(self, DOMNode):
            report_failed_worker(self, event.worker)

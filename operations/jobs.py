"""Periodic jobs run by the worker. Each is idempotent and safe to run late or twice."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

logger = logging.getLogger(__name__)


def _issue_pending_receipts() -> object:
    from registry.receipts import receipts_issue_pending

    return receipts_issue_pending()


def _make_pending_sealed_documents() -> object:
    from workflow.services.sealing import sealed_documents_make_pending

    return sealed_documents_make_pending()


def _finish_pending_folders() -> object:
    from parapheur.services import folders_finish_pending

    return folders_finish_pending()


def _register_checkpoints() -> object:
    from registry.checkpoints import checkpoints_periodic

    return checkpoints_periodic()


def _export_checkpoints() -> object:
    from exchange.anchors import checkpoints_export

    return checkpoints_export()


def _sweep_orphan_files() -> object:
    from documents.storage import sweep_orphans

    return sweep_orphans()


def _send_reminders() -> object:
    from workflow.reminders import reminders_send

    return reminders_send()


def _remind_folders() -> object:
    from parapheur.reminders import folders_remind

    return folders_remind()


def _deliver_envelopes() -> object:
    from exchange.services import envelopes_deliver

    return envelopes_deliver()


def _seal_acknowledgements() -> object:
    from exchange.acknowledgements import acknowledgements_seal_pending

    return acknowledgements_seal_pending()


def _once_only_exchanges() -> object:
    from exchange.once_only_remote import once_only_exchanges

    return once_only_exchanges()


def _sync_peer_directories() -> object:
    from exchange.remote import directories_sync

    return directories_sync()


def _make_text_layers() -> object:
    from documents.text_layers import text_layers_make

    return text_layers_make()


def _index_for_search() -> object:
    from search.services import index_sync

    return index_sync()


def _forget_sign_in_throttles() -> object:
    from tenancy.throttles import throttles_forget_expired

    return throttles_forget_expired()


def _forget_idempotency_keys() -> object:
    from registry.idempotency import idempotency_keys_forget

    return idempotency_keys_forget()


def _prune_outbox() -> object:
    from core.outbox import outbox_prune

    return outbox_prune()


@dataclass
class Job:
    name: str
    every_seconds: int
    run: Callable[[], object]
    next_at: float = 0.0


def default_jobs() -> list[Job]:
    return [
        Job("issue pending receipts", 30, _issue_pending_receipts),
        Job("seal pending letters and attestations", 30, _make_pending_sealed_documents),
        Job("finish parapheur folders left pending", 30, _finish_pending_folders),
        Job("register checkpoints", 300, _register_checkpoints),
        Job("register checkpoints to peers", 300, _export_checkpoints),
        Job("sweep orphan files", 3600, _sweep_orphan_files),
        Job("due-date reminders", 300, _send_reminders),
        Job("parapheur reminders", 900, _remind_folders),
        Job("exchange deliveries", 2, _deliver_envelopes),
        Job("exchange acknowledgements left unsealed", 30, _seal_acknowledgements),
        Job("peer directories", 3600, _sync_peer_directories),
        Job("once-only requests and answers to peers", 10, _once_only_exchanges),
        Job("search index", 2, _index_for_search),
        Job("forget expired sign-in limits", 3600, _forget_sign_in_throttles),
        Job("forget expired idempotency keys", 3600, _forget_idempotency_keys),
        Job("prune the e-mail outbox", 3600, _prune_outbox),
    ]


def slow_jobs() -> list[Job]:
    """Jobs that may take minutes (OCR of a long scan): in a thread of their own, so that they
    never hold up deliveries and reminders."""
    return [Job("text of attachments (OCR)", 2, _make_text_layers)]


def _did_something(result: object) -> bool:
    if isinstance(result, dict):
        return any(_did_something(value) for value in result.values())
    return bool(result)


def run_due(jobs: list[Job], *, now: float | None = None) -> None:
    current = time.monotonic() if now is None else now
    for job in jobs:
        if current < job.next_at:
            continue
        job.next_at = current + job.every_seconds
        try:
            result = job.run()
            # Jobs that found nothing to do (frequent ones, every few seconds) stay out of the log.
            logger.log(logging.INFO if _did_something(result) else logging.DEBUG, "job %s: %s", job.name, result)
        except Exception:
            logger.exception("job %s failed", job.name)
        finally:
            close_old_connections()


def start_scheduler(
    jobs: list[Job] | None = None, *, tick: float = 5.0, name: str = "wasl-scheduler"
) -> threading.Thread:
    """Run ``jobs`` in a daemon thread of the worker process."""
    job_list = jobs if jobs is not None else default_jobs()

    def loop() -> None:
        while True:
            run_due(job_list)
            time.sleep(tick)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread

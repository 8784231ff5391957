"""The blurring worker: a background task in each `walkapp serve` process.

Why in the server processes rather than a separate service: nothing more to install, deploy or
monitor (the systemd unit stays one), and the job table (the photo rows, services.py) already
makes any number of processes safe: each claims a row before working on it. The CPU-bound part
runs in one thread per process at the lowest priority (SCHED_IDLE where Linux allows it, else nice
19), and before each photo it waits for a lull in this process's uploads (QUIET_SECONDS without a
new constat, at most MAX_DEFER_SECONDS), so a burst of uploads is answered first: the 201 never
waits for blurring, and blurring waits for the uploads. Measured with benchmarks/load_capture.py
--photo 12mpx --rounds 3 (30 phones at once, three bursts): p95 2.31 s with nice 10 and no lull,
2.02 s without any blurring, and the lull brings the first figure back to the second. At start every
process looks for pending photos (what a restart left), then again every few seconds, at once
when a constat of this process arrives (`wake`). Once a day it also purges the originals past
WALKAPP_ORIGINALS_RETENTION_DAYS, when that is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from ..settings import get_settings
from ..storage import media_store
from . import detect, services

POLL_SECONDS = 5.0
QUIET_SECONDS = 1.5  # a lull this long in uploads lets the next photo be blurred
MAX_DEFER_SECONDS = 20.0  # under a steady stream of uploads, blur anyway after this long
PURGE_EVERY = 24 * 3600
log = logging.getLogger("walkapp.privacy")
_wake: list[asyncio.Event] = []
_last_upload = [float("-inf")]  # monotonic time of this process's latest constat with photos


def wake() -> None:
    """A constat with photos was just recorded in this process: look now rather than at the next poll."""
    _last_upload[0] = time.monotonic()
    for event in _wake:
        event.set()


async def wait_for_lull() -> None:
    """Returns once no upload came for QUIET_SECONDS, or after MAX_DEFER_SECONDS whatever comes."""
    deadline = time.monotonic() + MAX_DEFER_SECONDS
    while True:
        now = time.monotonic()
        quiet_at = _last_upload[0] + QUIET_SECONDS
        if now >= quiet_at or now >= deadline:
            return
        await asyncio.sleep(min(quiet_at, deadline) - now)


def _lower_priority() -> None:
    """This thread only (Linux schedules threads): SCHED_IDLE runs it only on an otherwise idle core."""
    tid = threading.get_native_id()
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, tid, 19)


async def run(stop: asyncio.Event) -> None:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="walkapp-blur", initializer=_lower_priority)
    loop = asyncio.get_running_loop()

    async def in_thread(function, *args):
        return await loop.run_in_executor(executor, partial(function, *args))

    event = asyncio.Event()
    _wake.append(event)
    store = media_store()
    last_purge = float("-inf")
    try:
        await in_thread(detect.check_models)
    except Exception:
        log.exception("walkapp: the blurring models cannot be loaded: photos stay behind their placeholder")
        return
    try:
        while not stop.is_set():
            try:
                await services.process_pending(store, run=in_thread, pace=wait_for_lull)
                days = get_settings().originals_retention_days
                if days is not None and time.monotonic() - last_purge > PURGE_EVERY:
                    last_purge = time.monotonic()
                    await services.purge_originals(store, days)
            except Exception:
                log.exception("walkapp: blurring worker error")
            await services.sleep_or(event, POLL_SECONDS)
            if stop.is_set():
                break
    finally:
        _wake.remove(event)
        executor.shutdown(wait=False, cancel_futures=True)

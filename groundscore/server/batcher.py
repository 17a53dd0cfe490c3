"""Micro-batching: concurrent requests become one chain call.

OpenRLHF sends one query per request, many at once. Scoring them one by one
would pay the per-call cost of every verifier (spaCy's ``pipe``, a CLIP
forward pass) once per completion. The batcher queues requests and, once the
worker is free, keeps gathering while requests keep arriving (each arrival
opens another ``max_wait_s`` window, at most 20 windows, or until
``max_batch`` completions wait), then scores them together in one worker
thread: the models are used by one thread only, and the event loop accepts
requests meanwhile, so while one batch runs the next one fills.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("groundscore.server")


class QueueFull(Exception):
    """More completions wait than the queue may hold."""


@dataclass
class _Job:
    items: list[Any]
    future: asyncio.Future[list[Any]]
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class BatcherStats:
    batches: int = 0
    completions: int = 0
    largest_batch: int = 0
    busy_s: float = 0.0


class MicroBatcher:
    """Collects items from concurrent callers and scores them in batches.

    ``score`` takes a list of items and returns one result per item, in
    order; it runs in a single worker thread.
    """

    def __init__(self, score: Callable[[list[Any]], Sequence[Any]], *, max_batch: int = 512,
                 max_wait_s: float = 0.005, max_queue: int = 16384) -> None:
        self._score = score
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._jobs: deque[_Job] = deque()
        self._pending = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groundscore-score")
        self.stats = BatcherStats()

    @property
    def pending(self) -> int:
        """Completions waiting (not yet being scored)."""
        return self._pending

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="groundscore-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for job in self._jobs:
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))
        self._jobs.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, items: list[Any], timeout: float | None = None) -> list[Any]:
        """Queue ``items`` and wait for their results. Raises QueueFull when full.

        After ``timeout`` seconds raises ``asyncio.TimeoutError``; on that or
        on cancellation (the client went away) the items leave the queue, so
        abandoned requests never pile up work.
        """
        if not items:
            return []
        if self._wake is None:
            raise RuntimeError("the batcher is not running")
        if self._pending + len(items) > self.max_queue:
            raise QueueFull(f"{self._pending} completions are waiting (limit {self.max_queue})")
        job = _Job(items=items, future=asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._pending += len(items)
        self._wake.set()
        try:
            return await asyncio.wait_for(job.future, timeout)
        except BaseException:
            self._drop(job)
            raise

    def _drop(self, job: _Job) -> None:
        if not job.future.done():
            job.future.cancel()
        try:
            self._jobs.remove(job)
        except ValueError:
            return  # already taken into a batch: it finishes, its result is discarded
        self._pending -= len(job.items)

    async def _loop(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._jobs:
                continue
            # Gather: wait up to max_wait for the next request, again after each
            # arrival (up to 20 windows). The window starts when the worker is
            # free, not when the first request arrived: while a batch is scored
            # the worker thread holds the GIL and requests are parsed slowly,
            # so right after it the queue is short though many are on the way.
            now = time.perf_counter()
            window_end, hard_end = now + self.max_wait_s, now + 20 * self.max_wait_s
            while self._pending < self.max_batch and (remaining := min(window_end, hard_end) - time.perf_counter()) > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=remaining)
                except asyncio.TimeoutError:
                    break
                self._wake.clear()
                window_end = time.perf_counter() + self.max_wait_s
            batch: list[_Job] = []
            size = 0
            while self._jobs and (not batch or size + len(self._jobs[0].items) <= self.max_batch):
                job = self._jobs.popleft()
                batch.append(job)
                size += len(job.items)
            self._pending -= size
            items = [item for job in batch for item in job.items]
            start = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._score, items)
                if len(results) != len(items):
                    raise RuntimeError(f"scored {len(results)} of {len(items)} completions")
            except Exception as exc:
                log.warning("scoring a batch of %d failed: %s: %s", len(items), type(exc).__name__, exc, exc_info=True)
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
            else:
                offset = 0
                for job in batch:
                    part = list(results[offset : offset + len(job.items)])
                    offset += len(job.items)
                    if not job.future.done():  # the client may have gone
                        job.future.set_result(part)
            self.stats.batches += 1
            self.stats.completions += len(items)
            self.stats.largest_batch = max(self.stats.largest_batch, len(items))
            self.stats.busy_s += time.perf_counter() - start
            if self._jobs:
                self._wake.set()

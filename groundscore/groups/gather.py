"""Members of a group that arrive one call at a time meet here and are scored together.

Why: OpenRLHF 0.11 and verl 0.9 call the reward once per response (as each
rollout finishes, from a worker thread or the reward loop's event loop), so
no single call holds a prompt's ``n`` samples, and the ``agreement``
verifier would see groups of one. A :class:`GroupGatherer` holds each
arriving sample under its group key until ``size`` members are there, then
scores them in one batch and hands every caller its own result.

Never a hang: a group that does not fill within ``timeout`` seconds (a
member was lost, the trainer's ``n`` differs from ``size``, or the members
were sent to different worker processes) is scored with the members that
came, and their verdicts say how many of how many they saw
(``group_seen`` / ``group_size`` / ``group_split``). A key that fills a
group starts a new one with its next member, so the same prompt drawn twice
makes two groups.

Callers in threads wait with :meth:`GroupGatherer.submit`; coroutines with
:meth:`GroupGatherer.submit_async`, which holds no thread while waiting (a
blocking wait in a thread pool smaller than the number of open groups would
stall until the timeout).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

R = TypeVar("R")

DEFAULT_TIMEOUT = 30.0
"""Seconds a partial group waits for its remaining members before it is scored as it is."""


class _Pending(Generic[R]):
    __slots__ = ("futures", "group", "samples", "timer")

    def __init__(self, group: str) -> None:
        self.group = group
        self.samples: list[dict[str, Any]] = []
        self.futures: list[Future[R]] = []
        self.timer: threading.Timer | None = None


class GroupGatherer(Generic[R]):
    """Collects samples by group key and scores each group once, as one batch.

    Args:
        score: scores a list of sample dicts (one group, members in arrival
            order), returning one result per sample; e.g. ``Rewarder.score``.
        size: members per group (the trainer's ``n`` / ``n_samples_per_prompt``).
        timeout: seconds before a partial group is scored as it is.
    """

    def __init__(self, score: Callable[[list[dict[str, Any]]], Sequence[R]], size: int,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        if size < 1:
            raise ValueError(f"group size must be at least 1, got {size}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.score = score
        self.size = int(size)
        self.timeout = float(timeout)
        self._lock = threading.Lock()
        self._open: dict[str, _Pending[R]] = {}
        self._serial = itertools.count()

    def __getstate__(self) -> dict[str, Any]:
        """Pickles by its settings: pending groups, lock and timers stay in this process."""
        return {"score": self.score, "size": self.size, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["score"], state["size"], state["timeout"])  # type: ignore[misc]

    @property
    def pending(self) -> int:
        """Samples waiting for their group to fill."""
        with self._lock:
            return sum(len(p.samples) for p in self._open.values())

    def put(self, key: str, sample: dict[str, Any]) -> Future[R]:
        """Add one sample to its group; the future resolves when the group is scored."""
        future: Future[R] = Future()
        with self._lock:
            entry = self._open.get(key)
            if entry is None:
                entry = self._open[key] = _Pending(f"{key}#{next(self._serial)}")
                if self.size > 1:
                    entry.timer = threading.Timer(self.timeout, self._expire, args=(key, entry))
                    entry.timer.daemon = True
                    entry.timer.start()
            member = dict(sample)
            member["group"] = entry.group
            member["meta"] = {**(member.get("meta") or {}), "group_size": self.size}
            entry.samples.append(member)
            entry.futures.append(future)
            full = len(entry.samples) >= self.size
            if full:
                del self._open[key]
        if full:
            if entry.timer is not None:
                entry.timer.cancel()
            self._run(entry)
        return future

    def submit(self, key: str, sample: dict[str, Any]) -> R:
        """Add one sample and wait (this thread) for its result."""
        return self.put(key, sample).result(timeout=self.timeout * 4 + 60)

    async def submit_async(self, key: str, sample: dict[str, Any]) -> R:
        """Add one sample and await its result; the group is scored in a worker thread, no thread waits."""
        loop = asyncio.get_running_loop()
        future: Future[R] = await loop.run_in_executor(None, self.put, key, sample) if self._fills(key) else self.put(key, sample)
        return await asyncio.wrap_future(future)

    def flush(self) -> None:
        """Score every partial group now (end of a rollout, shutdown)."""
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for entry in entries:
            if entry.timer is not None:
                entry.timer.cancel()
            self._run(entry)

    # -- internals -------------------------------------------------------------------------------
    def _fills(self, key: str) -> bool:
        """Whether one more member completes the group (then :meth:`put` scores it, which must not block a loop)."""
        with self._lock:
            entry = self._open.get(key)
            return self.size == 1 or (entry is not None and len(entry.samples) + 1 >= self.size)

    def _expire(self, key: str, entry: _Pending[R]) -> None:
        with self._lock:
            if self._open.get(key) is not entry:
                return  # filled (and scored) meanwhile
            del self._open[key]
        self._run(entry)

    def _run(self, entry: _Pending[R]) -> None:
        try:
            results = list(self.score(entry.samples))
            if len(results) != len(entry.futures):
                raise RuntimeError(f"scored {len(results)} results for {len(entry.futures)} samples")
        except BaseException as exc:  # noqa: BLE001 - every waiter must be released, with the error
            for future in entry.futures:
                future.set_exception(exc)
            return
        for future, result in zip(entry.futures, results, strict=True):
            future.set_result(result)

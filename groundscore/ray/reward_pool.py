"""A named pool of reward workers on Ray, for trainers that already run on Ray.

Why: verl's reward loop and OpenRLHF's rollout engines are Ray actors. An
in-process reward function loads the verifier chain (spaCy, CLIP) into every
one of them, and ``groundscore serve`` adds an HTTP hop and a server to run
beside the cluster. The pool is ``workers`` detached, named Ray actors, each
holding one chain, started once per cluster (:func:`start_pool`, or
``python -m groundscore.ray.reward_pool start``). The trainers' reward
functions (:mod:`groundscore.integrations.ray_pool`) find them by name with
``ray.get_actor`` and send them batches through Ray's object store.

Every actor scores with the trainer's own adapter code
(:func:`groundscore.integrations.verl.compute_score_batch`,
:class:`groundscore.integrations.openrlhf.OpenRLHFReward`), so a reward from
the pool is the reward the in-process function gives for the same call.

Actors are restarted when they die (``max_restarts``) and a call in flight
is retried on the restarted actor, so a lost worker costs time, not rewards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import ray

NAMESPACE = "groundscore"
"""The Ray namespace the pool's actors live in, so that jobs in other namespaces (a trainer's) find them."""
PREFIX = "groundscore-reward"
METHODS = ("verl", "openrlhf", "rewards")
_owned: dict[tuple[str, str], list[Any]] = {}


def actor_name(pool: str, index: int) -> str:
    """The Ray name of the pool's ``index``-th actor."""
    return f"{PREFIX}:{pool}:{index}"


class RewardWorker:
    """One pool actor: a reward configuration and the chain it needs, built once.

    The configurations are plain data (dicts or paths), as they travel to the
    actor through Ray.
    """

    def __init__(self, reward_config: Any = None, chain_config: Any = None, query_templates: Any = None) -> None:
        self.settings = {"reward_config": reward_config, "chain_config": chain_config, "query_templates": query_templates}
        self.pid = os.getpid()
        self.calls = 0
        self.items = 0
        self._openrlhf: Any = None
        self._rewarder: Any = None

    def ready(self) -> dict[str, Any]:
        """Build both adapters (so models load now, and a bad configuration fails at start), then describe the actor."""
        self.verl([None], [""], [None], [None])
        self.openrlhf([""], [""], [None])
        self.calls = self.items = 0
        return self.info()

    def info(self) -> dict[str, Any]:
        return {"pid": self.pid, "settings": self.settings, "calls": self.calls, "items": self.items}

    def _count(self, n: int) -> None:
        self.calls += 1
        self.items += n

    def verl(self, data_sources: Sequence[Any], solution_strs: Sequence[Any], ground_truths: Sequence[Any],
             extra_infos: Sequence[Any]) -> list[dict[str, float]]:
        """verl's reward dicts, one per response (what ``compute_score`` returns in-process)."""
        from groundscore.integrations.verl import compute_score_batch

        self._count(len(solution_strs))
        return compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **self.settings)

    def openrlhf(self, queries: Sequence[Any], prompts: Sequence[Any], labels: Sequence[Any]) -> list[tuple[float, float, dict[str, float]]]:
        """OpenRLHF's ``(reward, score, extra_logs)`` per query (the in-process ``reward_func`` body, split)."""
        from groundscore.integrations.openrlhf import OpenRLHFReward

        if self._openrlhf is None:
            self._openrlhf = OpenRLHFReward(self.settings["reward_config"], chain_config=self.settings["chain_config"],
                                            query_templates=self.settings["query_templates"])
        self._count(len(queries))
        body = self._openrlhf.body(list(queries), list(prompts), list(labels))
        logs = body["extra_logs"]
        return [(body["rewards"][i], body["scores"][i], {k: v[i] for k, v in logs.items()}) for i in range(len(queries))]

    def rewards(self, samples: Sequence[Any]) -> list[Any]:
        """:class:`~groundscore.rewards.base.RewardResult` per sample (the Python API's ``Rewarder.score``)."""
        from groundscore.rewards.rewarder import Rewarder

        if self._rewarder is None:
            self._rewarder = Rewarder(self.settings["reward_config"], chain_config=self.settings["chain_config"])
        self._count(len(samples))
        return self._rewarder.score(list(samples))


def _actor_options(pool: str, index: int, namespace: str, num_cpus: float, num_gpus: float,
                   max_restarts: int, detached: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "name": actor_name(pool, index), "namespace": namespace, "get_if_exists": True,
        "num_cpus": num_cpus, "max_restarts": max_restarts, "max_task_retries": -1 if max_restarts else 0,
    }
    if num_gpus:
        options["num_gpus"] = num_gpus
    if detached:
        options["lifetime"] = "detached"
    return options


def start_pool(
    name: str = "groundscore",
    workers: int = 2,
    reward_config: Any = None,
    chain_config: Any = None,
    *,
    query_templates: Any = None,
    namespace: str = NAMESPACE,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    max_restarts: int = -1,
    detached: bool = True,
    timeout_s: float = 600.0,
) -> list[dict[str, Any]]:
    """Start (or join) the pool ``name`` with ``workers`` actors and wait until each has built its chain.

    Needs a connected Ray runtime (``ray.init(address="auto")`` on a cluster).
    ``detached`` actors outlive the process that started them, so the pool is
    started once and every trainer job reaches it. Starting a pool that
    already runs with the same settings returns the running actors; with
    other settings it raises (stop it first: :func:`stop_pool`), since a
    trainer would otherwise get rewards of a configuration it did not ask for.

    Returns each actor's :meth:`RewardWorker.info` (pid, settings).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    settings = {"reward_config": reward_config, "chain_config": chain_config, "query_templates": query_templates}
    json.dumps(settings)  # plain data only: it travels to the actors and is compared with a running pool's
    cls = ray.remote(RewardWorker)
    handles = [cls.options(**_actor_options(name, i, namespace, num_cpus, num_gpus, max_restarts, detached))
               .remote(reward_config, chain_config, query_templates) for i in range(workers)]
    if not detached:
        _owned[(name, namespace)] = handles  # a named actor that is not detached lives while a handle does
    infos = ray.get([h.ready.remote() for h in handles], timeout=timeout_s)
    for info in infos:
        if info["settings"] != settings:
            raise ValueError(f"reward pool {name!r} already runs with other settings {info['settings']!r}; "
                             f"stop it first (groundscore.ray.reward_pool.stop_pool({name!r}))")
    return infos


def pool_actors(name: str = "groundscore", namespace: str = NAMESPACE) -> list[Any]:
    """The pool's actor handles, in index order (empty when no such pool runs)."""
    handles = []
    while True:
        try:
            handles.append(ray.get_actor(actor_name(name, len(handles)), namespace=namespace))
        except ValueError:
            return handles


def stop_pool(name: str = "groundscore", namespace: str = NAMESPACE) -> int:
    """Kill the pool's actors (no restart); returns how many there were."""
    handles = pool_actors(name, namespace)
    _owned.pop((name, namespace), None)
    for handle in handles:
        ray.kill(handle, no_restart=True)
    return len(handles)


class RewardPoolClient:
    """Sends reward calls to a named pool, spread over its actors.

    :meth:`call` scores a batch now: it is cut into one contiguous chunk per
    actor (at most ``max_batch`` items each) and the chunks run in parallel.
    :meth:`submit` is for trainers that ask for one response at a time from
    many threads or tasks at once (verl's reward loop, OpenRLHF's rollout
    executor): calls that arrive within ``max_wait_s`` of each other are
    gathered into one batch first, so the chain scores them together (spaCy's
    ``pipe``, one CLIP forward pass) instead of one by one.

    Pickles as its settings (trainers pickle reward functions into their
    workers); actors are looked up again on the other side.
    """

    def __init__(self, pool: str = "groundscore", namespace: str = NAMESPACE, *, max_batch: int = 256,
                 max_wait_s: float = 0.002) -> None:
        self.pool = pool
        self.namespace = namespace
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self._setup()

    def _setup(self) -> None:
        self._actors: list[Any] | None = None
        self._lock = threading.Lock()
        self._next = 0
        self._coalescers: dict[str, _Coalescer] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"pool": self.pool, "namespace": self.namespace, "max_batch": self.max_batch, "max_wait_s": self.max_wait_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._setup()

    def actors(self) -> list[Any]:
        """The pool's actors (looked up once); raises with how to start the pool when there is none."""
        with self._lock:
            if self._actors is None:
                if not ray.is_initialized():
                    ray.init(address=os.environ.get("RAY_ADDRESS", "auto"), ignore_reinit_error=True, log_to_driver=False)
                actors = pool_actors(self.pool, self.namespace)
                if not actors:
                    raise RuntimeError(
                        f"no groundscore reward pool {self.pool!r} in Ray namespace {self.namespace!r}; start one with "
                        f"`python -m groundscore.ray.reward_pool start --name {self.pool} --workers N` on the cluster")
                self._actors = actors
            return self._actors

    def _chunks(self, n: int) -> list[tuple[Any, int, int]]:
        """(actor, start, end) per chunk: contiguous, balanced over the actors, starting at a rotating actor."""
        actors = self.actors()
        parts = max(min(len(actors), n), -(-n // self.max_batch))
        with self._lock:
            first = self._next
            self._next = (self._next + parts) % len(actors)
        bounds = [round(i * n / parts) for i in range(parts + 1)]
        return [(actors[(first + i) % len(actors)], bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i + 1] > bounds[i]]

    def call_async(self, method: str, columns: Sequence[Sequence[Any]]) -> Future[list[Any]]:
        """Start ``method`` over a batch (one list per argument); a future of one result per item, in order."""
        if method not in METHODS:
            raise ValueError(f"unknown pool method {method!r}; choose from {', '.join(METHODS)}")
        n = len(columns[0]) if columns else 0
        done: Future[list[Any]] = Future()
        if n == 0:
            done.set_result([])
            return done
        chunks = self._chunks(n)
        results: list[Any] = [None] * n
        left = [len(chunks)]
        lock = threading.Lock()

        def finished(start: int, end: int, fut: Future[Any]) -> None:
            try:
                results[start:end] = fut.result()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                if not done.done():
                    done.set_exception(exc)
                return
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last and not done.done():
                done.set_result(results)

        for actor, start, end in chunks:
            ref = getattr(actor, method).remote(*[list(c[start:end]) for c in columns])
            ref.future().add_done_callback(lambda fut, s=start, e=end: finished(s, e, fut))
        return done

    def call(self, method: str, columns: Sequence[Sequence[Any]], timeout_s: float | None = None) -> list[Any]:
        """:meth:`call_async` and wait."""
        return self.call_async(method, columns).result(timeout_s)

    def submit(self, method: str, columns: Sequence[Sequence[Any]]) -> Future[list[Any]]:
        """Like :meth:`call_async`, but gathered with other calls that arrive within ``max_wait_s``."""
        actors = len(self.actors())  # a missing pool raises here, in the caller's thread
        with self._lock:
            coalescer = self._coalescers.get(method)
            if coalescer is None:
                coalescer = self._coalescers[method] = _Coalescer(lambda cols: self.call_async(method, cols),
                                                                  self.max_batch * actors, self.max_wait_s)
        return coalescer.submit(columns)


class _Coalescer:
    """Gathers concurrent calls (each a few items) into one batch, on a background thread."""

    def __init__(self, send: Callable[[list[list[Any]]], Future[list[Any]]], max_items: int, max_wait_s: float) -> None:
        self._send = send
        self._max_items = max_items
        self._max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._jobs: list[tuple[Sequence[Sequence[Any]], Future[list[Any]]]] = []
        self._thread: threading.Thread | None = None

    def submit(self, columns: Sequence[Sequence[Any]]) -> Future[list[Any]]:
        fut: Future[list[Any]] = Future()
        with self._cond:
            self._jobs.append((columns, fut))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="groundscore-reward-pool", daemon=True)
                self._thread.start()
            self._cond.notify()
        return fut

    def _items(self) -> int:
        return sum(len(c[0]) if c else 0 for c, _ in self._jobs)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
                deadline = time.monotonic() + self._max_wait_s
                while self._items() < self._max_items and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
                jobs, self._jobs = self._jobs, []
            self._dispatch(jobs)

    def _dispatch(self, jobs: list[tuple[Sequence[Sequence[Any]], Future[list[Any]]]]) -> None:
        width = max(len(c) for c, _ in jobs)
        columns: list[list[Any]] = [[] for _ in range(width)]
        sizes = []
        for cols, _ in jobs:
            sizes.append(len(cols[0]) if cols else 0)
            for i in range(width):
                columns[i].extend(cols[i])
        try:
            batch = self._send(columns)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error
            for _, fut in jobs:
                fut.set_exception(exc)
            return

        def split(done: Future[list[Any]]) -> None:
            try:
                results = done.result()
            except BaseException as exc:  # noqa: BLE001
                for _, fut in jobs:
                    fut.set_exception(exc)
                return
            at = 0
            for (_, fut), size in zip(jobs, sizes, strict=True):
                fut.set_result(results[at:at + size])
                at += size

        batch.add_done_callback(split)


_clients: dict[tuple[str, str], RewardPoolClient] = {}
_clients_lock = threading.Lock()


def client(pool: str = "groundscore", namespace: str = NAMESPACE) -> RewardPoolClient:
    """The process-wide client of a pool (one coalescer per process and pool)."""
    with _clients_lock:
        found = _clients.get((pool, namespace))
        if found is None:
            found = _clients[(pool, namespace)] = RewardPoolClient(pool, namespace)
        return found


def _config_arg(value: str | None) -> Any:
    """A configuration on the command line: inline JSON, or a path the actors read."""
    if value is None:
        return None
    return json.loads(value) if value.lstrip().startswith("{") else value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m groundscore.ray.reward_pool start|stop|status`` against a running Ray cluster."""
    ap = argparse.ArgumentParser(prog="python -m groundscore.ray.reward_pool", description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["start", "stop", "status"])
    ap.add_argument("--address", default="auto", help="Ray cluster address (default auto: the `ray start` cluster)")
    ap.add_argument("--name", default="groundscore", help="pool name the reward functions look up (default groundscore)")
    ap.add_argument("--namespace", default=NAMESPACE)
    ap.add_argument("--workers", type=int, default=2, help="actors, one chain each (default 2)")
    ap.add_argument("--cpus-per-worker", type=float, default=1.0)
    ap.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per actor (for clip)")
    ap.add_argument("--reward-config", default=None, help="reward policy: inline JSON or a TOML/JSON path")
    ap.add_argument("--chain-config", default=None, help="verifier chain: inline JSON or a TOML path")
    ap.add_argument("--query-template", default=None, help="a regex with (?P<expr>...) for reading prompts")
    args = ap.parse_args(argv)
    ray.init(address=args.address, namespace=args.namespace, log_to_driver=False)
    if args.action == "start":
        infos = start_pool(args.name, args.workers, _config_arg(args.reward_config), _config_arg(args.chain_config),
                           query_templates=args.query_template, namespace=args.namespace,
                           num_cpus=args.cpus_per_worker, num_gpus=args.gpus_per_worker)
        print(f"reward pool {args.name!r}: {len(infos)} actors ready (pids {', '.join(str(i['pid']) for i in infos)})")
    elif args.action == "stop":
        print(f"reward pool {args.name!r}: stopped {stop_pool(args.name, args.namespace)} actors")
    else:
        infos = ray.get([a.info.remote() for a in pool_actors(args.name, args.namespace)])
        json.dump(infos, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

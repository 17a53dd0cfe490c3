"""The reward server: OpenRLHF's remote reward protocol over HTTP.

``POST /get_reward`` (also ``POST /``) with JSON ``{"query": [...],
"prompts": [...], "labels": [...]}`` answers ``{"rewards": [...], "scores":
[...], "extra_logs": {name: [...]}, "outcomes": [...], "reasons": [...]}``,
one entry per query (see :mod:`groundscore.integrations.openrlhf` for what
each field means; ``outcomes`` and ``reasons`` say why each reward was given,
and a sample that could not be scored is also logged).
Optional ``"groups"``: one group id per query (or ``"derive"``: equal prompt
and label, one group) and ``"group_size"``, so that the ``agreement``
verifier compares the responses to one question; a request should carry
whole groups (concurrent requests share a micro-batch only by timing).
``GET /health`` answers ``{"status": "ok", ...}`` once the models are loaded.

Errors are plain JSON ``{"error": "..."}`` with a 4xx status that says what
was wrong: 400 malformed JSON, 401 missing or wrong token, 404 unknown path,
405 wrong method, 413 body or query list too large, 415 not JSON, 422
well-formed JSON of the wrong shape, 503 queue full (retry), 504 scores not
ready within the request timeout. A client that disconnects while it waits
takes its queued work with it; one that disconnects while sending its body is
logged at debug level, not as an error. Reading the body, building the samples
and writing the answer run in a worker thread, the scoring in the batcher's:
the event loop only moves bytes, so ``/health`` answers while a large request
is handled.
Image paths in labels pass :class:`groundscore.server.images.ImagePolicy`. Bad *content* (a garbage completion, an unreadable
label) is not an error: it gets a reward like every other sample.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from groundscore.integrations.openrlhf import OpenRLHFReward, build_samples, group_key, response_body
from groundscore.server.batcher import MicroBatcher, QueueFull
from groundscore.server.images import ImagePolicy, is_loopback
from groundscore.server.settings import ServeSettings

log = logging.getLogger("groundscore.server")


def explain(results: list[Any]) -> dict[str, list[str]]:
    """Each sample's outcome and reason, for the answer; the samples that could not be scored are also logged.

    A sample the server cannot score (a label it cannot use, say a bare box
    without the image size) gets the ``unscorable`` reward, which OpenRLHF
    cannot tell from a wrong answer: the reason goes back in ``reasons`` and
    one warning per request names how many and why, so the mistake is seen.
    """
    outcomes = [str(r.outcome) for r in results]
    reasons = [str(r.reason) for r in results]
    unscored = [reason for outcome, reason in zip(outcomes, reasons, strict=True) if outcome == "unscorable"]
    if unscored:
        first = max(set(unscored), key=unscored.count)
        log.warning("%d of %d samples could not be scored (reward 'unscorable'); most often: %s",
                    len(unscored), len(results), first)
    return {"outcomes": outcomes, "reasons": reasons}


class RewardRequest(BaseModel):
    """OpenRLHF's request body: lists, one entry per completion; extra keys are ignored.

    A single string where a list belongs is refused (422), not wrapped: a
    client that sends ``"query": "..."`` has the protocol wrong, and wrapping
    it would hide that (the docs promise 422 for a query that is not a list
    of strings).
    """

    model_config = ConfigDict(extra="ignore")

    query: list[str]
    prompts: list[str | None] | None = None
    labels: list[Any] | None = None
    groups: list[str | None] | Literal["derive"] | None = None
    """Group ids, one per query (responses to the same question share one; the agreement verifier compares
    them), or ``"derive"``: queries of this request with the same prompt and label form a group."""
    group_size: int | None = Field(default=None, ge=1, description="Members per group, when some may be in other requests.")

    def attach_groups(self, samples: list[dict[str, Any]]) -> None:
        """Give the request's samples their group (and group size); nothing when no groups were sent."""
        if self.groups is None:
            return
        if self.groups == "derive":
            ids: list[str | None] = [group_key(self.prompts, self.labels, i) for i in range(len(samples))]
        else:
            ids = list(self.groups) + [None] * (len(samples) - len(self.groups))
        for sample, group in zip(samples, ids, strict=False):
            if group is not None and not (sample.get("meta") or {}).get("input_error"):
                sample["group"] = group
                if self.group_size:
                    sample["meta"] = {**(sample.get("meta") or {}), "group_size": self.group_size}


class _Rejected(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def create_app(settings: ServeSettings | None = None, reward: OpenRLHFReward | None = None) -> FastAPI:
    """The FastAPI application. Builds the rewarder (loading models) now, not per request."""
    settings = settings or ServeSettings()
    if reward is None:
        reward = OpenRLHFReward(settings.reward_config, chain_config=settings.chain_config,
                                query_templates=settings.query_templates)
    # Warm up: the first call loads lazy models (spaCy, CLIP) before /health says ok.
    reward.score(
        ['<think>the dog on the left</think><answer>[{"bbox_2d": [10, 10, 50, 50], "label": "dog"}]</answer>'],
        ["Please provide the bounding box coordinate of the region this sentence describes: dog on the left."],
        ['{"solution": [10, 10, 50, 50], "image_size": [100, 100], "coords": "original"}'],
    )
    rewarder = reward.rewarder

    def score_samples(samples: list[dict[str, Any]]) -> list[Any]:
        return rewarder.score(samples)

    batcher = MicroBatcher(score_samples, max_batch=settings.max_batch,
                           max_wait_s=settings.max_wait_ms / 1000.0, max_queue=settings.max_queue)
    images = ImagePolicy(settings.image_root, allow_paths=is_loopback(settings.host),
                         max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)
    started = time.time()
    counters = {"requests": 0, "rejected": 0}

    @asynccontextmanager
    async def lifespan(_app: Any):  # type: ignore[no-untyped-def]
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(title="groundscore reward server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.batcher = batcher
    app.state.reward = reward

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        counters["rejected"] += 1
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def check_token(request: Request) -> None:
        if not settings.token:
            return
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else request.query_params.get("token", "")
        if not given or not hmac.compare_digest(given.encode(), settings.token.encode()):
            raise _Rejected(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise _Rejected(400, "bad Content-Length header") from None
            if declared > settings.max_body_bytes:
                raise _Rejected(413, f"body of {declared} bytes exceeds the limit of {settings.max_body_bytes}")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise _Rejected(413, f"body exceeds the limit of {settings.max_body_bytes} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            # Nobody is left to answer: not a server error, no traceback.
            log.debug("client disconnected after %d bytes of its body", size)
            raise _Rejected(499, "client closed the request while sending its body") from None
        return b"".join(chunks)

    def parse_request(body: bytes, content_type: str) -> RewardRequest:
        if content_type and "json" not in content_type.lower():
            raise _Rejected(415, f"expected application/json, got {content_type!r}")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise _Rejected(400, f"malformed JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _Rejected(422, f"expected a JSON object with 'query', got {type(data).__name__}")
        if "query" not in data and "queries" in data:
            data["query"] = data["queries"]
        for name in ("query", "prompts", "labels"):
            if isinstance(data.get(name), str):
                raise _Rejected(422, f"'{name}' must be a list with one entry per completion, not a string")
        try:
            req = RewardRequest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise _Rejected(422, f"invalid field {where!r}: {first.get('msg')}") from None
        n = len(req.query)
        if n > settings.max_queries:
            raise _Rejected(413, f"{n} queries exceed the limit of {settings.max_queries} per request")
        for name in ("prompts", "labels"):
            values = getattr(req, name)
            if values is not None and len(values) != n:
                raise _Rejected(422, f"'{name}' has {len(values)} entries for {n} queries")
        return req

    @app.exception_handler(_Rejected)
    async def _rejected(_request: Request, exc: _Rejected) -> JSONResponse:
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 404 and 405 (with its Allow header) from the router: the same {"error": ...} body as ours
        return error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, f"invalid request: {exc.errors()[:1]}")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("request failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        return error(500, f"internal error: {type(exc).__name__}")

    def prepare(body: bytes, content_type: str) -> list[dict[str, Any]]:
        """Body -> checked samples: CPU work, run in a worker thread (never on the event loop)."""
        req = parse_request(body, content_type)
        samples = build_samples(req.query, req.prompts, req.labels, reward.reader)
        req.attach_groups(samples)
        if any("image" in sample for sample in samples):
            images.apply(samples)
        return samples

    async def get_reward(request: Request) -> JSONResponse:
        counters["requests"] += 1
        check_token(request)
        body = await read_body(request)
        samples = await asyncio.to_thread(prepare, body, request.headers.get("content-type", ""))
        task = asyncio.ensure_future(batcher.submit(samples, settings.request_timeout_s))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=0.5)
                if not task.done() and await request.is_disconnected():
                    task.cancel()  # the client is gone: its work leaves the queue
                    raise _Rejected(499, "client closed the request")
            results = task.result()
        except QueueFull as exc:
            raise _Rejected(503, f"server busy: {exc}", {"Retry-After": "1"}) from None
        except asyncio.TimeoutError:
            raise _Rejected(504, f"scores not ready within {settings.request_timeout_s:g} s") from None
        finally:
            if not task.done():
                task.cancel()
        answer = await asyncio.to_thread(response_body, results, rewarder.verifier_names, reward.unscorable)
        answer.update(explain(results))
        return JSONResponse(answer)

    app.add_api_route("/get_reward", get_reward, methods=["POST"])
    app.add_api_route("/", get_reward, methods=["POST"])

    @app.get("/health")
    async def health() -> dict[str, Any]:
        stats = batcher.stats
        return {
            "status": "ok",
            "verifiers": rewarder.verifier_names,
            "policy": rewarder.config.policy,
            "uptime_s": round(time.time() - started, 3),
            "queue": batcher.pending,
            "requests": counters["requests"],
            "rejected": counters["rejected"],
            "batches": stats.batches,
            "completions": stats.completions,
            "largest_batch": stats.largest_batch,
        }

    return app


def serve(settings: ServeSettings) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    warn_exposure(settings)
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    server.run()


def warn_exposure(settings: ServeSettings) -> list[str]:
    """Warnings (also logged and printed) for a server reachable beyond this machine."""
    import sys

    warnings: list[str] = []
    if not is_loopback(settings.host):
        if not settings.token:
            warnings.append(f"WARNING: listening on {settings.host} without a token: anyone who can reach this port "
                            "can use the server; set GROUNDSCORE_SERVE_TOKEN")
        if not settings.image_root:
            warnings.append("WARNING: image paths in labels are refused (listening beyond loopback without "
                            "--image-root); pass --image-root DIR to score with images")
    for line in warnings:
        log.warning("%s", line)
        print(line, file=sys.stderr, flush=True)
    return warnings

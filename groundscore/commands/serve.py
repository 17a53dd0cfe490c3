"""``groundscore serve``: a reward server speaking OpenRLHF's remote reward protocol.

Point OpenRLHF at it with ``--remote_rm_url http://127.0.0.1:8000/get_reward``.
The models load once at start-up; concurrent requests are scored together in
micro-batches. Binds 127.0.0.1 unless ``--host`` says otherwise. The bearer
token is read from ``GROUNDSCORE_SERVE_TOKEN`` (or ``--token``). Image paths
in labels must lie inside ``--image-root`` when given; without it they are
accepted on loopback only. Every setting can also come from a
``GROUNDSCORE_SERVE_*`` environment variable or a ``--settings`` TOML file.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    from groundscore.server.settings import ServeSettings

    d = ServeSettings.default
    p = sub.add_parser("serve", help="run the reward server (OpenRLHF remote reward protocol)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=None, metavar="FILE",
                   help="TOML file of settings (flags and GROUNDSCORE_SERVE_* variables override it)")
    p.add_argument("--host", default=None, help=f"interface to bind (default {d('host')}; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=None, help=f"port (default {d('port')})")
    p.add_argument("--token", default=None,
                   help="require 'Authorization: Bearer TOKEN' (default: $GROUNDSCORE_SERVE_TOKEN; none when unset)")
    p.add_argument("--config", default=None, help="verifier chain configuration (TOML)")
    p.add_argument("--reward-config", default=None, help="reward policy (TOML/JSON path or inline JSON)")
    p.add_argument("--policy", default=None, help="reward policy name (overrides the reward configuration)")
    p.add_argument("--query-template", action="append", default=None,
                   help="regex with (?P<expr>...) reading the referring expression from the prompt (repeatable)")
    p.add_argument("--max-body-bytes", type=int, default=None, help=f"largest request body (default {d('max_body_bytes')})")
    p.add_argument("--max-queries", type=int, default=None, help=f"most queries in one request (default {d('max_queries')})")
    p.add_argument("--max-queue", type=int, default=None, help=f"most completions waiting; more get 503 (default {d('max_queue')})")
    p.add_argument("--max-batch", type=int, default=None, help=f"most completions in one chain call (default {d('max_batch')})")
    p.add_argument("--request-timeout", type=float, default=None,
                   help=f"seconds a request waits for its scores before 504 (default {d('request_timeout_s'):g})")
    p.add_argument("--image-root", default=None,
                   help="image paths in labels must resolve inside DIR (symlinks followed); without it they are "
                        "refused unless --host is loopback")
    p.add_argument("--max-image-bytes", type=int, default=None, help=f"largest image file (default {d('max_image_bytes')})")
    p.add_argument("--max-image-pixels", type=int, default=None,
                   help=f"most pixels of an image, read from its header (default {d('max_image_pixels')})")
    p.add_argument("--max-wait-ms", type=float, default=None,
                   help=f"how long a request waits for others to batch with (default {d('max_wait_ms'):g})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print("groundscore serve needs FastAPI and uvicorn: pip install 'groundscore[server]'", file=sys.stderr)
        return 2
    import json

    from pydantic import ValidationError

    from groundscore.reward import load_reward_config
    from groundscore.server.app import serve
    from groundscore.server.settings import ServeSettings

    reward_config = args.reward_config
    if args.policy:
        merged = load_reward_config(reward_config).model_copy(update={"policy": args.policy})
        reward_config = json.dumps(merged.model_dump())
    try:
        settings = ServeSettings.load(
            args.settings, host=args.host, port=args.port, token=args.token or None,
            max_body_bytes=args.max_body_bytes, max_queries=args.max_queries, max_queue=args.max_queue,
            max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, request_timeout_s=args.request_timeout,
            image_root=args.image_root, max_image_bytes=args.max_image_bytes, max_image_pixels=args.max_image_pixels,
            reward_config=reward_config, chain_config=args.config, query_templates=args.query_template,
        )
    except ValidationError as exc:
        print(f"groundscore serve: invalid settings: {exc}", file=sys.stderr)
        return 2
    if settings.image_root and not os.path.isdir(settings.image_root):
        print(f"groundscore serve: --image-root {settings.image_root!r} is not a directory", file=sys.stderr)
        return 2
    print(f"groundscore serve: loading models, then listening on http://{settings.host}:{settings.port}/get_reward",
          file=sys.stderr, flush=True)
    serve(settings)
    return 0

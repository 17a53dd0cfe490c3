"""``groundscore serve``: a reward server speaking OpenRLHF's remote reward protocol.

Point OpenRLHF 0.11 at it with ``--reward.remote_url http://127.0.0.1:8000/get_reward``
(the older ``--remote_rm_url`` is refused by 0.11).
The models load once at start-up; concurrent requests are scored together in
micro-batches. Binds 127.0.0.1 unless ``--host`` says otherwise. The bearer
token is read from ``GROUNDSCORE_SERVE_TOKEN`` (or ``--token``). Image paths
in labels must lie inside ``--image-root`` when given; without it they are
accepted on loopback only. Every setting can also come from a
``GROUNDSCORE_SERVE_*`` environment variable or a ``--settings`` TOML file.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from groundscore.commands.options import Command, namespace
from groundscore.server.defaults import DEFAULTS

_d = DEFAULTS.__getitem__


@click.command("serve", cls=Command, help=__doc__, short_help="run the reward server (OpenRLHF remote reward protocol)")
@click.option("--settings", default=None, metavar="FILE",
              help="TOML file of settings (flags and GROUNDSCORE_SERVE_* variables override it)")
@click.option("--host", default=None, help=f"interface to bind (default {_d('host')}; 0.0.0.0 exposes it)")
@click.option("--port", type=int, default=None, help=f"port (default {_d('port')})")
@click.option("--token", default=None,
              help="require 'Authorization: Bearer TOKEN' (default: $GROUNDSCORE_SERVE_TOKEN; none when unset)")
@click.option("--config", default=None, help="verifier chain configuration (TOML)")
@click.option("--reward-config", default=None, help="reward policy (TOML/JSON path or inline JSON)")
@click.option("--policy", default=None, help="reward policy name (overrides the reward configuration)")
@click.option("--query-template", multiple=True,
              help="regex with (?P<expr>...) reading the referring expression from the prompt (repeatable)")
@click.option("--max-body-bytes", type=int, default=None, help=f"largest request body (default {_d('max_body_bytes')})")
@click.option("--max-queries", type=int, default=None, help=f"most queries in one request (default {_d('max_queries')})")
@click.option("--max-queue", type=int, default=None, help=f"most completions waiting; more get 503 (default {_d('max_queue')})")
@click.option("--max-batch", type=int, default=None, help=f"most completions in one chain call (default {_d('max_batch')})")
@click.option("--request-timeout", type=float, default=None,
              help=f"seconds a request waits for its scores before 504 (default {_d('request_timeout_s'):g})")
@click.option("--image-root", default=None,
              help="image paths in labels must resolve inside DIR (symlinks followed); without it they are "
                   "refused unless --host is loopback")
@click.option("--max-image-bytes", type=int, default=None, help=f"largest image file (default {_d('max_image_bytes')})")
@click.option("--max-image-pixels", type=int, default=None,
              help=f"most pixels of an image, read from its header (default {_d('max_image_pixels')})")
@click.option("--max-wait-ms", type=float, default=None,
              help=f"how long a request waits for others to batch with (default {_d('max_wait_ms'):g})")
def command(query_template: tuple[str, ...], **options: Any) -> int:
    return run(namespace(query_template=list(query_template) or None, **options))


def run(args: Any) -> int:
    try:
        import fastapi  # noqa: F401
        import pydantic_settings  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print("groundscore serve needs FastAPI, uvicorn and pydantic-settings: pip install 'groundscore[server]'",
              file=sys.stderr)
        return 2
    import json

    from pydantic import ValidationError

    from groundscore.rewards.options import load_reward_config
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

"""A local Ray runtime for the tests: 2 CPUs on loopback, no dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_ray() -> Iterator[None]:
    """Start a local Ray runtime on 127.0.0.1 with 2 CPUs, and shut it down afterwards."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()

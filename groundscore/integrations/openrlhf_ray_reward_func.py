"""A reward file for OpenRLHF's ``--reward.remote_url /path/to/this/file.py`` that scores on a Ray reward pool.

OpenRLHF (0.11) loads this file by path inside its rollout actors and calls
``reward_func(queries, prompts, labels)``; the call goes to the groundscore
reward pool named by ``GROUNDSCORE_RAY_POOL`` (default ``groundscore``) in
the Ray namespace ``GROUNDSCORE_RAY_NAMESPACE`` (default ``groundscore``),
started beforehand with ``python -m groundscore.ray.reward_pool start``.
The reward and chain configurations are the pool's. Print the path with::

    python -c "import groundscore.integrations.openrlhf_ray_reward_func as m; print(m.__file__)"
"""

from groundscore.integrations.ray_pool import openrlhf_reward_func as reward_func

__all__ = ["reward_func"]

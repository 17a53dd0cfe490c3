"""A reward file for OpenRLHF's ``--reward.remote_url /path/to/this/file.py`` (0.11).

OpenRLHF loads this file by path and calls ``reward_func(queries, prompts,
labels)``. Print its path with::

    python -c "import groundscore.integrations.openrlhf_reward_func as m; print(m.__file__)"

Configure it with environment variables (read once, on the first call):
``GROUNDSCORE_REWARD_CONFIG`` (reward policy: TOML/JSON path or inline JSON),
``GROUNDSCORE_CONFIG`` (verifier chain: TOML path) and
``GROUNDSCORE_QUERY_TEMPLATE`` (a regex with ``(?P<expr>...)``). See
:mod:`groundscore.integrations.openrlhf` for the label format.
"""

from groundscore.integrations.openrlhf import reward_func

__all__ = ["reward_func"]

"""A verl 0.9 reward-loop manager that tells the reward function which prompt a response answers.

Why: verl marks the ``n`` responses of one prompt with one ``uid`` in the
batch, but its managers call ``compute_score`` with ``data_source``,
``solution_str``, ``ground_truth`` and ``extra_info`` only. This manager is
verl's ``naive`` one with ``uid`` copied into ``extra_info``, so that
:func:`groundscore.integrations.verl.compute_score_async` with
``group_size`` gathers a prompt's responses by it. Select it with::

    reward.reward_manager.source=importlib
    reward.reward_manager.name=GroupRewardManager
    +reward.reward_manager.module.path=/path/to/groundscore/integrations/verl_manager.py

Importing this module imports verl (it is loaded by verl, never by
``import groundscore``).
"""

from __future__ import annotations

from typing import Any

from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager


class GroupRewardManager(NaiveRewardManager):
    """verl's ``naive`` manager, with the batch's ``uid`` in ``extra_info["uid"]``."""

    async def run_single(self, data: Any) -> dict:
        item = data[-1]
        uid = item.non_tensor_batch.get("uid")
        extra = item.non_tensor_batch.get("extra_info")
        if uid is not None and isinstance(extra, dict):
            extra["uid"] = str(uid)
        return await super().run_single(data)

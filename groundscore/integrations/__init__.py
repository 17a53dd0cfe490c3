"""Adapters that make groundscore a reward function for RL trainers.

Each module fits one trainer's reward API exactly and imports nothing of the
trainer itself (so it can be used, and tested, where the trainer is not
installed):

- :mod:`groundscore.integrations.trl`: ``GRPOTrainer`` reward functions (sync and async).
- :mod:`groundscore.integrations.vlm_r1`: ``iou_reward``, ``format_reward``, ``grounding_reward``.
- :mod:`groundscore.integrations.verl`: ``compute_score`` (per sample, async) and ``compute_score_batch``.
- :mod:`groundscore.integrations.openrlhf`: ``reward_func(queries, prompts, labels)`` and the
  remote reward protocol; :mod:`groundscore.integrations.openrlhf_reward_func` is the file
  to pass as ``--remote_rm_url``.

All of them go through :class:`groundscore.reward.Rewarder`; see the reward policies
documentation for what the numbers mean.
"""

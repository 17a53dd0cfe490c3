"""Adapters that make groundscore a reward function for RL trainers.

Each module fits one trainer's reward API exactly and imports nothing of the
trainer itself (so it can be used, and tested, where the trainer is not
installed), except verifiers_env (verifiers' task API is classes to subclass)
and :mod:`groundscore.integrations.verl_manager`, which verl loads by path to
pass its ``uid`` (groups) to ``compute_score``:

- :mod:`groundscore.integrations.trl`: ``GRPOTrainer`` reward functions (sync and async; TRL 1.16).
- :mod:`groundscore.integrations.vlm_r1`: ``iou_reward``, ``iou_reward_vlm_r1``, ``format_reward``,
  ``grounding_reward`` and ``patch_vlm_module`` for the hook VLM-R1's scripts use.
- :mod:`groundscore.integrations.verl`: ``compute_score`` and ``compute_score_async`` for verl
  0.9.1's reward loop (``reward.custom_reward_function.*``), and ``compute_score_batch``.
- :mod:`groundscore.integrations.openrlhf`: ``reward_func(queries, prompts, labels)`` and the
  remote reward protocol; :mod:`groundscore.integrations.openrlhf_reward_func` is the file
  to pass as OpenRLHF 0.11's ``--reward.remote_url``.
- :mod:`groundscore.integrations.verifiers_env`: a ``verifiers.v1`` task (``GroundingTask``, its
  ``@vf.reward``) and a reward function to plug into any task, for PrimeIntellect verifiers 0.4
  (the one adapter that imports its host: verifiers' task API is classes to subclass).
- :mod:`groundscore.integrations.model_coords`: the coordinate space from the model family
  and processor, for trainers that pass no ``image_grid_thw``.

The versions each adapter is tested against are in ``constraints/trainers.txt``.

All of them go through :class:`groundscore.rewards.rewarder.Rewarder`; see the reward policies
documentation for what the numbers mean.
"""

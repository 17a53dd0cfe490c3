"""Deprecated alias of :mod:`groundscore.rewards` (kept for one release)."""

from groundscore.rewards.rewarder import *  # noqa: F403
from groundscore.rewards.rewarder import _hungarian_by_component  # noqa: F401

"""Reports (and ground truth) -> one reward per completion."""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = ("groundscore.rewards.rewarder", "groundscore.rewards.click", "groundscore.rewards.consensus")


def __getattr__(name: str) -> Any:
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'groundscore.rewards' has no attribute {name!r}")

"""Old import paths of modules that moved into the stage packages, kept for one release.

``import groundscore.calibration`` (and the other paths in :data:`MOVED`)
still works: a finder on ``sys.meta_path`` answers for the old name, imports
the module where it lives now and hands that very module back (so a
monkeypatch through the old path patches the real module), with a
``DeprecationWarning`` naming the new path. Nothing is imported until an old
path is asked for. ``groundscore.reward`` is a real module of its own (it
re-exports the split ``groundscore.rewards`` package).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

MOVED: dict[str, str] = {
    "groundscore.rewards_click": "groundscore.rewards.click",
    "groundscore.rewards_consensus": "groundscore.rewards.consensus",
    "groundscore.hygiene": "groundscore.inputs.hygiene",
    "groundscore.prompts": "groundscore.inputs.prompts",
    "groundscore.group_gather": "groundscore.groups.gather",
    "groundscore.calibration": "groundscore.scoring.calibration",
    "groundscore.filtering": "groundscore.scoring.filtering",
    "groundscore.evaluation": "groundscore.scoring.evaluation",
    "groundscore.labelled": "groundscore.scoring.labelled",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module puts the real module in its place

    def exec_module(self, module: ModuleType) -> None:
        new = MOVED[module.__name__]
        warnings.warn(f"{module.__name__} moved to {new}; the old path goes in the next release",
                      DeprecationWarning, stacklevel=2)
        # the import system returns what sys.modules holds after exec_module: the real module
        sys.modules[module.__name__] = importlib.import_module(new)


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (called by ``import groundscore``)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())

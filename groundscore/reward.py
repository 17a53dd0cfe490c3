"""Deprecated alias of :mod:`groundscore.rewards`, kept for one release.

The reward code was split into the :mod:`groundscore.rewards` package (one
module per job); every name this module offered is still importable here.
New code should import from ``groundscore.rewards``.
"""

import warnings

from groundscore.rewards import *  # noqa: F403
from groundscore.rewards import __all__  # noqa: F401

warnings.warn(
    "groundscore.reward is deprecated; import from groundscore.rewards (same names)",
    DeprecationWarning,
    stacklevel=2,
)

"""Where the real data lives: the read-only ``shared/data`` folder beside the checkout.

One definition for every test and benchmark. ``GROUNDSCORE_SHARED_DATA``
overrides it (a folder holding ``vlmr1-rec-logs/`` and ``qwen25vl-cookbook/``).
Tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("GROUNDSCORE_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
REC_LOGS = SHARED_DATA / "vlmr1-rec-logs"
COOKBOOK = SHARED_DATA / "qwen25vl-cookbook"

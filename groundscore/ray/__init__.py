"""Scale verification out on Ray Data (the ``[ray]`` extra).

Importing this package imports Ray; ``import groundscore`` does not.
"""

from groundscore.ray.dataset import read_samples, verify_dataset
from groundscore.ray.writer import write_reports

__all__ = ["read_samples", "verify_dataset", "write_reports"]

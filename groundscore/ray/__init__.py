"""Scale verification out on Ray Data (the ``[ray]`` extra).

Importing this package imports Ray; ``import groundscore`` does not.
"""

from groundscore.ray.dataset import read_samples, verify_dataset
from groundscore.ray.writer import read_reports, write_reports, written_ids

__all__ = ["read_reports", "read_samples", "verify_dataset", "write_reports", "written_ids"]

"""An example groundscore plugin; the verifier lives in :mod:`groundscore_example.box_area`."""

__version__ = "0.1.0"

"""An example groundscore plugin: one verifier, one parser, one reward policy, one module each.

- :mod:`groundscore_example.box_area`: the ``box_area`` verifier;
- :mod:`groundscore_example.box_call`: the ``box_call`` format parser;
- :mod:`groundscore_example.hit_rate`: the ``hit_rate`` reward policy.
"""

__version__ = "0.1.0"

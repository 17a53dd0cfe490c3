"""CLIP-style region scoring for the ``clip`` verifier.

Modules, one job each: :mod:`~groundscore.clip.weights` (finding weights on
disk, no torch), :mod:`~groundscore.clip.backend` (the backend contract),
:mod:`~groundscore.clip.open_clip_backend` and
:mod:`~groundscore.clip.transformers_backend` (the two built-in backends),
:mod:`~groundscore.clip.images` (decoding and the image cache),
:mod:`~groundscore.clip.crops` (box geometry and roi_align cropping),
:mod:`~groundscore.clip.texts` (the text-embedding cache),
:mod:`~groundscore.clip.distractors` (the alternatives a query must beat),
:mod:`~groundscore.clip.engine` (the batched pipeline and the score).

Importing this package imports no torch; only ``images``, ``crops``,
``texts`` and ``engine`` do, and only the verifier's first batch loads them.
"""

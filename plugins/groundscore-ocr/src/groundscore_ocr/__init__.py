"""groundscore-ocr: the ``ocr`` verifier (see :mod:`groundscore_ocr.verifier`)."""

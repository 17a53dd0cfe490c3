"""A static HTML report of a run: summary, plots, decision counts and a paged gallery of samples.

One page, no server and no CDN: the page holds a compact index of every
record (decision, low verifiers, issue codes) that the filters read, and
the cards sit beside it in small script files that vanilla JS loads only
for the page in view, so 100,000 records stay responsive; thumbnails are
written beside the page once (cached by content) and loaded lazily.
Modules: :mod:`.data` (records to cards), :mod:`.chunks` (data files and
index), :mod:`.thumbs` (thumbnails), :mod:`.svg` (plots), :mod:`.page` (HTML).
"""

from groundscore.report.build import build_report

__all__ = ["build_report"]

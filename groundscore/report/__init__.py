"""A static HTML report of a run: summary, plots, decision counts and a paged gallery of samples.

One page, no server and no CDN: the data travels as a JSON blob inside the
page and vanilla JS renders it a page of cards at a time, so 100,000
records stay responsive; thumbnails are written beside the page once
(cached by content) and loaded lazily. Modules: :mod:`.data` (records to
cards), :mod:`.thumbs` (thumbnails), :mod:`.svg` (plots), :mod:`.page` (HTML).
"""

from groundscore.report.build import build_report

__all__ = ["build_report"]

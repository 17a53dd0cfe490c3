"""What a command says on stderr about its input once it has read it all.

Per-sample issues are on every report, but a mistake that hits every line
(a JSONL with ``prompt``/``response`` keys, a wrong image folder) must be
said once, loudly, with a count: otherwise a run of ``text.empty``
rejections exits 0 and looks like a weak model. :class:`InputTally` counts
the lines with unknown keys (per key, with the field it probably meant) and
the lines whose image could not be read.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_KEY = re.compile(r"'((?:[^'\\]|\\.)*)'(?: \(did you mean '([^']+)'\?\))?")


class InputTally:
    """Counts over the reports of one run: unknown sample keys and unreadable images."""

    def __init__(self) -> None:
        self.lines_seen = 0
        self.keys: Counter[str] = Counter()
        self.hints: dict[str, str] = {}
        self.key_lines = 0
        self.images = 0

    def add(self, report: Any) -> None:
        """Count one report's input issues (``sample.unknown_key``, ``image.unreadable``)."""
        self.lines_seen += 1
        unknown = False
        for issue in report.parsed.issues:
            if issue.code == "sample.unknown_key":
                unknown = True
                listed = issue.message.split("key(s) ", 1)[-1].rsplit(" ignored", 1)[0]
                for key, hint in _KEY.findall(listed):
                    self.keys[key] += 1
                    if hint:
                        self.hints[key] = hint
            elif issue.code == "image.unreadable":
                self.images += 1
        self.key_lines += unknown

    def lines(self) -> list[str]:
        """The stderr lines (none when the input had neither mistake)."""
        out = []
        n = self.lines_seen
        if self.key_lines:
            keys = ", ".join(
                f"{key!r} on {count} line{'s' if count != 1 else ''}"
                + (f" (did you mean {self.hints[key]!r}?)" if key in self.hints else "")
                for key, count in self.keys.most_common(8)
            )
            more = f" and {len(self.keys) - 8} more" if len(self.keys) > 8 else ""
            out.append(f"warning: {self.key_lines} of {n} input lines have keys that are no sample field, "
                       f"ignored: {keys}{more}")
        if self.images:
            out.append(f"warning: {self.images} of {n} input lines name an image that is missing or unreadable "
                       "(issue image.unreadable; check the paths or --image-root)")
        return out


def warn_about_inputs(items: Any) -> None:
    """Print :class:`InputTally`'s lines for labelled items (anything with a ``report``) on stderr."""
    import sys

    tally = InputTally()
    for item in items:
        tally.add(item.report)
    for line in tally.lines():
        print(line, file=sys.stderr)

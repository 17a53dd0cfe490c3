"""Writing JSONL that every input line survives.

Model text may hold lone surrogates (a JSON-escaped ``"\\ud800"`` is plain
ASCII in the input and an unencodable code point once read), and a line may
nest deeper than the JSON encoder recurses. Neither may stop a run half-way:
streams are opened with ``errors="backslashreplace"``, which writes a lone
surrogate as the JSON escape ``\\udXXX`` it came from (so the line stays
valid JSON and reads back as the same string), and :func:`json_line` falls
back to a record that says what could not be written.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

ERRORS = "backslashreplace"


def safe_stream(stream: Any) -> Any:
    """``stream`` (stdout, stderr) set to write what UTF-8 cannot encode as escapes, where it can be."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError, TypeError):
            pass
    return stream


def open_output(path: str | None) -> IO[str]:
    """A text stream for ``path`` (``-`` or None: stdout) that cannot fail on a lone surrogate."""
    if path in (None, "-"):
        return safe_stream(sys.stdout)  # type: ignore[no-any-return]
    return open(path, "w", encoding="utf-8", errors=ERRORS)


def close_output(stream: IO[str]) -> None:
    if stream is sys.stdout:
        stream.flush()
    else:
        stream.close()


def json_line(record: dict[str, Any]) -> str:
    """One JSONL line for ``record``; a record the encoder cannot write becomes a line that says why."""
    try:
        return json.dumps(record, ensure_ascii=False) + "\n"
    except (RecursionError, ValueError, TypeError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        slim = {k: v for k, v in record.items() if k not in ("sample", "meta", "parsed")}
        slim["unwritable"] = f"the full record could not be written as JSON ({why})"
        try:
            return json.dumps(slim, ensure_ascii=False, default=str) + "\n"
        except (RecursionError, ValueError, TypeError):
            return json.dumps({"id": str(record.get("id")), "unwritable": slim["unwritable"]}) + "\n"

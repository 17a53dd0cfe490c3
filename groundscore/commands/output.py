"""Writing JSONL that every input line survives.

Model text may hold lone surrogates (a JSON-escaped ``"\\ud800"`` is plain
ASCII in the input and an unencodable code point once read), and a line may
nest deeper than the JSON encoder recurses. Neither may stop a run half-way:
streams are opened with ``errors="backslashreplace"``, which writes a lone
surrogate as the JSON escape ``\\udXXX`` it came from (so the line stays
valid JSON and reads back as the same string), and :func:`json_line` falls
back to a record that says what could not be written.

Nothing a failed command does may cost the user a file: :func:`output_file`
writes to a temporary file beside the target and renames it over the target
only when the command completed, so an error (a mistyped input, a missing
extra, Ctrl-C) leaves an existing file byte-identical and creates none.
:func:`output_dir` creates a command's folder only when it is first written
to, and removes it again if the command fails before putting anything in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _mode_for(target: Path) -> int:
    """The permissions ``target`` ends with: its own when it exists, else what ``open`` would give (umask)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def output_file(path: str | Path | None, *, binary: bool = False) -> Iterator[Any]:
    """A text stream (bytes with ``binary``) for ``path`` (``-`` or None: stdout) that becomes ``path`` only if
    the block completes.

    The lines go to ``.NAME.XXXX.part`` beside ``path`` (same folder, so the
    rename is atomic); on success it replaces ``path``, on any error or
    interrupt it is removed and ``path`` is left as it was.
    """
    if path is None or str(path) == "-":
        stream = sys.stdout.buffer if binary else safe_stream(sys.stdout)
        try:
            yield stream
        finally:
            stream.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder, not a file")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with (open(fd, "wb") if binary else open(fd, "w", encoding="utf-8", errors=ERRORS)) as stream:
            yield stream
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through :func:`output_file` (all or nothing)."""
    with output_file(path) as stream:
        stream.write(text)
    return Path(path)


@contextlib.contextmanager
def output_dir(path: str | Path) -> Iterator[Path]:
    """A command's output folder; one this call created is removed again if the command fails leaving it empty.

    The folder is created here (with its parents); pass it on only once the
    inputs have been checked, so a mistyped input creates nothing.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a folder")
    created: list[Path] = []
    probe = folder
    while not probe.exists():
        created.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for made in created:  # innermost first; a folder holding anything stays
            try:
                made.rmdir()
            except OSError:
                break
        raise


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

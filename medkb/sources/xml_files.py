"""Opening source files (plain or gzipped) and saying why an XML file cannot be read.

Shared by the MEDLINE and BioC readers; a file that cannot be read raises `SourceFileError`
naming the file, the reason and what to do.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError

from medkb.errors import SourceFileError

_GZIP_MAGIC = b"\x1f\x8b"


def open_source_file(path: Path) -> IO[bytes]:
    """Open plain or gzipped bytes; refuse empty files and `.gz` files that are not gzip."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceFileError(f"{path.name}: cannot open ({exc.strerror}); check the path") from None
    if size == 0:
        raise SourceFileError(f"{path.name}: empty file (0 bytes); re-download it")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    if path.suffix == ".gz":
        raise SourceFileError(f"{path.name}: named .gz but is not gzip data; re-download the file")
    return open(path, "rb")


def xml_error_message(path: Path, exc: ParseError) -> str:
    """Why the XML parser stopped, in words that say what to do (truncated, not UTF-8, not XML)."""
    line, col = getattr(exc, "position", (0, 0))
    if "no element found" in str(exc) and line <= 1 and col == 0:
        return f"{path.name}: no XML in the file (empty after decompression); re-download it"
    if "no element found" in str(exc):
        return f"{path.name}: XML ends early at line {line} (truncated file); re-download it"
    bad = _first_invalid_utf8(path)
    if bad is not None:
        return f"{path.name}: invalid UTF-8 at byte {bad} (line {line}); the file is corrupt or not UTF-8"
    return f"{path.name}: not well-formed XML at line {line}, column {col} ({exc}); re-download or fix it"


def _first_invalid_utf8(path: Path) -> int | None:
    """Byte offset (in the decompressed stream) of the first invalid UTF-8 sequence, if any."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with open_source_file(path) as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as err:
                    return offset + err.start
                offset += len(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return None

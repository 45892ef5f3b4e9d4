"""Errors more than one room raises or catches. Each message names the record or file and what to do."""

from __future__ import annotations


class SourceFileError(RuntimeError):
    """A source file cannot be read as a whole (empty, not gzip, truncated, not XML, not UTF-8)."""

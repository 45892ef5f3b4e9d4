"""What every reader yields for a record it cannot type: it goes to the quarantine with its raw payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rejected:
    """A record a reader could not turn into a typed record; it goes to the quarantine with its raw payload."""

    source: str
    key: str  # the record key when readable, else "<file>#<position>"
    version: int
    reason: str  # names what is wrong and what to do
    payload: Mapping[str, Any]  # the raw record (pseudonymised for patient data)
    origin: str = ""
    check: str = "readable_record"  # what it failed, as the quarantine lists it

"""Typed records that cross from the source readers to staging. Provenance fields are required."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One PubMed/MEDLINE citation as a source delivered it."""

    source: str  # medline | pubmed | pubtator | bioc
    key: str  # the PMID
    version: int
    title: str
    abstract: str
    language: str | None = None
    journal: str | None = None
    pub_year: int | None = None
    mesh_terms: tuple[str, ...] = field(default_factory=tuple)
    origin: str = ""  # the file or request it came from

    @property
    def content_hash(self) -> str:
        body = asdict(self)
        body.pop("origin")
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=list).encode()).hexdigest()


@dataclass(frozen=True)
class Retraction:
    """A `DeleteCitation` entry: the source withdrew this key."""

    source: str
    key: str
    origin: str = ""


@dataclass(frozen=True)
class Rejected:
    """A record a reader could not turn into a typed record; it goes to the quarantine with its raw payload."""

    source: str
    key: str  # the record key when readable, else "<file>#<position>"
    version: int
    reason: str  # names what is wrong and what to do
    payload: Mapping[str, Any]  # the raw record (pseudonymised for patient data)
    origin: str = ""

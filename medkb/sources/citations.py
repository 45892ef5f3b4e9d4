"""Citations and retractions as the literature readers deliver them to staging (provenance required)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


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

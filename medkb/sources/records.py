"""Typed records that cross from the source readers to staging. Provenance fields are required."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
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
    check: str = "readable_record"  # what it failed, as the quarantine lists it


def _shallow(record: Any) -> dict[str, Any]:
    """The record's fields except `origin` (where it came from is not what it says); no deep copy."""
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name != "origin"}


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class PatientCase:
    """One patient, pseudonymised: a keyed hash for the id, birth year only, no names or contacts."""

    source: str  # fhir
    key: str  # keyed HMAC of the patient id
    version: int
    gender: str | None
    birth_year: int | None
    deceased: bool = False
    origin: str = ""

    @cached_property
    def content_hash(self) -> str:
        return _hash(_shallow(self))


@dataclass(frozen=True)
class ClinicalRecord:
    """One clinical fact of a case: a condition, an observation value, a medication, a procedure,
    an encounter or a note. Already pseudonymised (payload scrubbed, names masked in notes)."""

    source: str
    key: str  # keyed HMAC of the resource id (+ "#c<n>" for an Observation component)
    version: int
    case_key: str
    resource_type: str
    code_system: str | None  # snomed | loinc | rxnorm, or the system URL when unknown
    code: str | None
    display: str | None = None
    value: float | None = None
    value_text: str | None = None
    unit: str | None = None
    effective_at: str | None = None  # ISO 8601 as given
    note_text: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""

    @cached_property
    def content_hash(self) -> str:
        return _hash(_shallow(self))

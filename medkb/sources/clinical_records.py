"""Patient cases and their clinical facts as the FHIR reader delivers them, already pseudonymised."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any


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

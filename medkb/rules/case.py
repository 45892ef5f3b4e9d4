"""The case the rules read: a patient's coded facts, typed, dated and with normalised units.

Built from staged clinical records (FHIR: Conditions in SNOMED, Observations in LOINC, medications
in RxNorm, procedures) or from any rows with the same columns (the benchmark builds cases from
bundles directly). Values are brought to their code's canonical unit here (rules/units.py), so no
rule ever sees a raw unit; an observation whose unit does not convert keeps `unit_error`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from medkb.rules.units import normalise


@dataclass(frozen=True)
class Observation:
    key: str
    code: str  # LOINC
    display: str
    value: float | None  # in `unit`, the canonical unit for the code when it has one
    unit: str | None
    at: datetime | None
    raw_value: float | None = None
    raw_unit: str | None = None
    value_text: str | None = None
    unit_error: str | None = None

    def fact(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "observation", "key": self.key, "loinc": self.code, "display": self.display,
                               "value": self.value, "unit": self.unit, "at": _iso(self.at)}
        if self.raw_unit != self.unit:
            out.update(raw_value=self.raw_value, raw_unit=self.raw_unit)
        if self.unit_error:
            out["unit_error"] = self.unit_error
        return out


@dataclass(frozen=True)
class Coded:
    """A condition (SNOMED, `at` = onset), medication (RxNorm, `at` = start) or procedure (SNOMED)."""

    key: str
    kind: str  # condition | medication | procedure
    system: str | None
    code: str | None
    display: str
    at: datetime | None

    def fact(self) -> dict[str, Any]:
        return {"type": self.kind, "key": self.key, "system": self.system, "code": self.code,
                "display": self.display, "at": _iso(self.at)}


@dataclass(frozen=True)
class CasePhenotype:
    hpo_id: str
    excluded: bool = False
    onset: str | None = None
    evidence: str = ""  # where the link came from: "snomed:271737000 via hp.obo", "note", "phenopacket"

    def fact(self) -> dict[str, Any]:
        return {"type": "phenotype", "hpo_id": self.hpo_id, "excluded": self.excluded, "onset": self.onset,
                "evidence": self.evidence}


@dataclass(frozen=True)
class Case:
    source: str
    case_key: str
    gender: str | None
    birth_year: int | None
    observations: tuple[Observation, ...] = ()
    conditions: tuple[Coded, ...] = ()
    medications: tuple[Coded, ...] = ()
    procedures: tuple[Coded, ...] = ()
    phenotypes: tuple[CasePhenotype, ...] = ()
    record_hash: str = ""  # what the case was built from; a changed record changes it
    field_notes: tuple[str, ...] = field(default=())  # problems found while building (no patient data)

    @property
    def as_of(self) -> date:
        """The date the case is read at: its latest dated fact (so re-reading an unchanged case gives
        the same answer whenever it runs), or today for a case with no dated fact."""
        dates = [x.at for x in (*self.observations, *self.conditions, *self.medications, *self.procedures) if x.at]
        return max(dates).date() if dates else datetime.now(UTC).date()

    def observations_of(self, codes: Iterable[str]) -> list[Observation]:
        wanted = set(codes)
        return sorted((o for o in self.observations if o.code in wanted), key=lambda o: (o.at or _EPOCH, o.key))

    def without_conditions(self) -> Case:
        """The case with its coded diagnoses hidden (the benchmark scores against them)."""
        return replace(self, conditions=())


_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v else None


def _when(v: Any) -> datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    text = str(v).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_KIND = {"Condition": "condition", "MedicationRequest": "medication", "MedicationStatement": "medication",
         "Procedure": "procedure"}


def build_case(case: Mapping[str, Any], records: Iterable[Mapping[str, Any]],
               phenotypes: Iterable[CasePhenotype] = ()) -> Case:
    """A Case from a staged case row and its clinical record rows (staged_clinical_records columns).

    Rows with the same record key keep the highest version. Observations without a value (growth
    charts, questionnaires with a coded answer) are kept only when they have a text value.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for r in records:
        key = str(r["record_key"])
        if key not in latest or int(r.get("version") or 1) > int(latest[key].get("version") or 1):
            latest[key] = r
    obs: list[Observation] = []
    coded: dict[str, list[Coded]] = {"condition": [], "medication": [], "procedure": []}
    digest = hashlib.sha256(f"{case.get('case_key')}|{case.get('content_hash', '')}".encode())
    for key in sorted(latest):
        r = latest[key]
        digest.update(f"|{key}:{r.get('version', 1)}:{r.get('content_hash', '')}".encode())
        rtype = r.get("resource_type")
        if rtype == "Observation":
            if r.get("code_system") != "loinc" or not r.get("code"):
                continue
            if r.get("value") is None and not r.get("value_text"):
                continue
            conv = normalise(r["code"], r.get("value"), r.get("unit"))
            obs.append(Observation(
                key=key, code=str(r["code"]), display=str(r.get("display") or ""), value=conv.value,
                unit=conv.unit, at=_when(r.get("effective_at")), raw_value=r.get("value"), raw_unit=r.get("unit"),
                value_text=r.get("value_text"), unit_error=conv.error,
            ))
        elif rtype in _KIND:
            kind = _KIND[str(rtype)]
            coded[kind].append(Coded(key=key, kind=kind, system=r.get("code_system"), code=r.get("code"),
                                     display=str(r.get("display") or ""), at=_when(r.get("effective_at"))))
    by_time = lambda x: (x.at or _EPOCH, x.key)  # noqa: E731
    return Case(
        source=str(case.get("source") or "fhir"), case_key=str(case["case_key"]), gender=case.get("gender"),
        birth_year=case.get("birth_year"), observations=tuple(sorted(obs, key=by_time)),
        conditions=tuple(sorted(coded["condition"], key=by_time)),
        medications=tuple(sorted(coded["medication"], key=by_time)),
        procedures=tuple(sorted(coded["procedure"], key=by_time)),
        phenotypes=tuple(phenotypes), record_hash=digest.hexdigest(),
    )

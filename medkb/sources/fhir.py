"""Reader for FHIR R4 bundles (Synthea's transaction bundles, or any R4 bundle of patient data).

Each entry is parsed with `fhir.resources` (its R4B models: R4B is R4 plus errata, and reads R4
JSON), a case per Patient, and a clinical record per Condition, Observation value,
MedicationRequest, Procedure, Encounter and DocumentReference note. Everything is pseudonymised
here, before it leaves the reader (see medkb.sources.pseudonym), including the dates of events on
the patient's day of birth (generalised to the birth year; the birth dates, taken from the bundle's
Patient entries, parsed or not, stay inside `parse_bundle`). An entry that does not parse or
points at a patient/encounter/medication not in the bundle is yielded as `Rejected` with its
scrubbed payload; a file that is not a readable bundle raises `SourceFileError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from medkb.errors import SourceFileError
from medkb.sources.clinical_records import ClinicalRecord, PatientCase
from medkb.sources.pseudonym import (
    IDENTIFYING_LOINC,
    Pseudonymiser,
    birth_year,
    generalise_dates,
    generalise_time,
    mask_names,
    patient_names,
)
from medkb.sources.rejected import Rejected

SOURCE = "fhir"
CLINICAL = ("Condition", "Observation", "MedicationRequest", "Procedure", "Encounter", "DocumentReference")
SYSTEMS = {
    "http://snomed.info/sct": "snomed",
    "http://loinc.org": "loinc",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
}
# The references each resource type must resolve inside its bundle.
_REFS = {"subject": "Patient", "patient": "Patient", "encounter": "Encounter", "medicationReference": "Medication"}

Record = PatientCase | ClinicalRecord | Rejected


def load_bundle(path: Path) -> dict[str, Any]:
    """The bundle's JSON; raises SourceFileError naming the file for empty, non-UTF-8 or non-bundle files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceFileError(f"{path.name}: cannot open ({exc.strerror}); check the path") from None
    if not raw.strip():
        raise SourceFileError(f"{path.name}: empty file; expected a FHIR Bundle (JSON)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"{path.name}: invalid UTF-8 at byte {exc.start}; FHIR JSON must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise SourceFileError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno}); truncated?") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise SourceFileError(f"{path.name}: not a FHIR Bundle (resourceType {data.get('resourceType')!r})"
                              if isinstance(data, dict) else f"{path.name}: not a FHIR Bundle")
    return data


def read_fhir_bundle(path: Path | str, pseudonymiser: Pseudonymiser) -> Iterator[Record]:
    """Yield the cases and clinical records of one bundle file, pseudonymised."""
    path = Path(path)
    label = pseudonymiser.file_label(path.name)  # Synthea names files after the patient
    try:
        bundle = load_bundle(path)
    except SourceFileError as exc:
        raise SourceFileError(str(exc).replace(path.name, label)) from None
    yield from parse_bundle(bundle, label, pseudonymiser)


def parse_bundle(bundle: Mapping[str, Any], origin: str, p: Pseudonymiser) -> Iterator[Record]:
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)]
    index: dict[str, tuple[str, Mapping[str, Any]]] = {}  # reference forms -> (type, resource)
    for e in entries:
        res = e["resource"]
        rtype, rid = res.get("resourceType"), res.get("id")
        if e.get("fullUrl"):
            index[e["fullUrl"]] = (rtype, res)
        if rid:
            index[f"{rtype}/{rid}"] = (rtype, res)
    patients: dict[str, str] = {}  # patient resource id -> case key
    names: dict[str, list[str]] = {}
    refs: dict[str, str] = {}  # original patient references -> pseudonymous ones
    # original patient references -> birth date, also of a Patient that does not parse (its rejected
    # resources are scrubbed the same way); only used to generalise dates, never yielded
    births: dict[str, str] = {}
    for e in entries:
        res = e["resource"]
        if res.get("resourceType") == "Patient" and isinstance(res.get("birthDate"), str):
            for form in (e.get("fullUrl"), f"Patient/{res['id']}" if res.get("id") else None):
                if form:
                    births[form] = res["birthDate"]
    for e in entries:
        res = e["resource"]
        if res.get("resourceType") != "Patient":
            continue
        try:
            model = get_fhir_model_class("Patient").model_validate(res)
        except ValidationError as exc:
            yield _rejected(p, res, refs, origin, f"Patient does not parse as FHIR R4: {_first_error(exc)}",
                            birth=_str(res.get("birthDate")))
            continue
        case_key = p.token(model.id or e.get("fullUrl", ""))
        patients[model.id or ""] = case_key
        names[case_key] = patient_names(res)
        for form in (e.get("fullUrl"), f"Patient/{model.id}"):
            if form:
                refs[form] = f"Patient/{case_key}"
        yield PatientCase(
            source=SOURCE, key=case_key, version=_version(res), gender=model.gender,
            birth_year=birth_year(model.birthDate), deceased=bool(model.deceasedBoolean or model.deceasedDateTime),
            origin=origin,
        )
    for e in entries:
        res = e["resource"]
        if res.get("resourceType") in CLINICAL:
            yield from _clinical(res, index, refs, names, births, origin, p)


def _subject_ref(res: Mapping[str, Any]) -> str:
    """The raw resource's patient reference (before parsing: a rejected resource has no model)."""
    for field_name in ("subject", "patient"):
        ref = res.get(field_name)
        if isinstance(ref, Mapping) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return ""


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _clinical(res: Mapping[str, Any], index: Mapping[str, tuple[str, Mapping[str, Any]]],
              refs: Mapping[str, str], names: Mapping[str, list[str]], births: Mapping[str, str], origin: str,
              p: Pseudonymiser) -> Iterator[Record]:
    rtype = res["resourceType"]
    birth = births.get(_subject_ref(res))
    try:
        model = get_fhir_model_class(rtype).model_validate(res)
    except ValidationError as exc:
        yield _rejected(p, res, refs, origin, f"{rtype} does not parse as FHIR R4: {_first_error(exc)}", birth=birth)
        return
    for field_name, want in _REFS.items():
        ref = getattr(model, field_name, None) if hasattr(model, field_name) else None
        target = getattr(ref, "reference", None) if ref is not None else None
        if target and (target not in index or index[target][0] != want):
            yield _rejected(p, res, refs, origin,
                            f"{rtype} {field_name} points at {want} {p.token(target, 'reference')[:12]}… which is "
                            "not in the bundle (dangling reference); send the bundle with that resource",
                            check="resolvable_reference", birth=birth)
            return
    subject = getattr(model, "subject", None) or getattr(model, "patient", None)
    patient_ref = getattr(subject, "reference", None)
    case = refs.get(patient_ref or "", "")
    if not case:
        yield _rejected(p, res, refs, origin, f"{rtype} has no subject patient in the bundle; it cannot join a case",
                        check="resolvable_reference", birth=birth)
        return
    case_key = case.split("/", 1)[1]
    payload = p.scrub(res, refs, birth)
    if rtype == "Observation" and _coding(model.code)[1] in IDENTIFYING_LOINC:
        payload = {k: v for k, v in payload.items() if not k.startswith("value")}  # e.g. the home address
    base = dict(source=SOURCE, version=_version(res), case_key=case_key, resource_type=rtype, origin=origin,
                payload=payload)
    key = p.token(f"{rtype}/{model.id}", "resource")
    if rtype == "Observation":
        yield from _observation(model, key, base, birth)
    elif rtype == "DocumentReference":
        system, code, display = _coding(model.type)
        yield ClinicalRecord(key=key, code_system=system, code=code, display=display,
                             effective_at=generalise_time(_iso(model.date), birth),
                             note_text=_note(model, names.get(case_key, []), birth), **base)
    else:
        concept = {"Condition": "code", "Procedure": "code", "MedicationRequest": "medicationCodeableConcept",
                   "Encounter": "type"}[rtype]
        cc = getattr(model, concept, None)
        if rtype == "MedicationRequest" and cc is None and model.medicationReference is not None:
            cc = index[model.medicationReference.reference][1].get("code")
            cc = get_fhir_model_class("CodeableConcept").model_validate(cc) if cc else None
        system, code, display = _coding(cc[0] if isinstance(cc, list) and cc else cc)
        yield ClinicalRecord(key=key, code_system=system, code=code, display=display,
                             effective_at=generalise_time(_when(model), birth), **base)


def _observation(model: Any, key: str, base: dict[str, Any], birth: str | None) -> Iterator[ClinicalRecord]:
    when = _iso(model.effectiveDateTime) or _iso(getattr(model.effectivePeriod, "start", None)) or _iso(model.issued)
    when = generalise_time(when, birth)
    parts = [(model, key)] if not model.component else [(c, f"{key}#c{i}") for i, c in enumerate(model.component)]
    for part, part_key in parts:
        system, code, display = _coding(part.code)
        value = value_text = unit = None
        if part.valueQuantity is not None:
            q = part.valueQuantity
            value = float(q.value) if q.value is not None else None
            unit = q.code or q.unit
        elif part.valueCodeableConcept is not None:
            _, value_text, _ = _coding(part.valueCodeableConcept)
        elif part.valueString is not None and code not in IDENTIFYING_LOINC:
            value_text = part.valueString
        elif part.valueInteger is not None:
            value = float(part.valueInteger)
        yield ClinicalRecord(key=part_key, code_system=system, code=code, display=display, value=value,
                             value_text=value_text, unit=unit, effective_at=when, **base)


def _coding(cc: Any) -> tuple[str | None, str | None, str | None]:
    """(system short name, code, display) of the first coding, preferring a known system."""
    codings = list(getattr(cc, "coding", None) or [])
    if not codings:
        return None, None, getattr(cc, "text", None)
    best = next((c for c in codings if c.system in SYSTEMS), codings[0])
    return SYSTEMS.get(best.system or "", best.system), best.code, best.display


def _note(model: Any, names: list[str], birth: str | None = None) -> str | None:
    for content in model.content or []:
        att = content.attachment
        if att is not None and att.data:
            data = att.data  # fhir.resources decodes base64Binary to bytes; older versions keep str
            try:
                raw = data if isinstance(data, bytes) else base64.b64decode(data)
                text = raw.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            masked = mask_names(text, names)  # the birth date as a word too
            return generalise_dates(masked, birth) if birth else masked  # and a time on that day
    return None


def _when(model: Any) -> str | None:
    for attr in ("onsetDateTime", "recordedDate", "authoredOn", "performedDateTime"):
        v = getattr(model, attr, None)
        if v is not None:
            return _iso(v)
    for attr in ("performedPeriod", "period", "onsetPeriod"):
        v = getattr(model, attr, None)
        if v is not None and v.start is not None:
            return _iso(v.start)
    return None


def _iso(v: Any) -> str | None:
    return v.isoformat() if hasattr(v, "isoformat") else (str(v) if v is not None else None)


def _version(res: Mapping[str, Any]) -> int:
    v = str((res.get("meta") or {}).get("versionId") or "1")
    return int(v) if v.isdigit() else 1


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"


def _rejected(p: Pseudonymiser, res: Mapping[str, Any], refs: Mapping[str, str], origin: str, reason: str,
              check: str = "valid_fhir_r4", birth: str | None = None) -> Rejected:
    rtype = res.get("resourceType", "?")
    key = p.token(f"{rtype}/{res.get('id', '')}", "resource") if res.get("id") else f"{origin}#{rtype}"
    return Rejected(source=SOURCE, key=key, version=_version(res), reason=f"{origin}: {reason}",
                    payload={"resourceType": rtype, **p.scrub(res, refs, birth)}, origin=origin, check=check)

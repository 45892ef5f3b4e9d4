"""Reader for GA4GH Phenopackets v2: one case per phenopacket, pseudonymised, HPO ids resolved.

Two forms: a phenopacket JSON file (parsed into the protobuf classes of the `phenopackets`
package with `google.protobuf.json_format.Parse`, so a field the schema lacks or a wrong type is a
parse error, not a silent skip), and the gzipped JSON-lines files of `../shared/phenopackets/`,
whose records are phenopackets already flattened (id, pmid, disease, observed, excluded; see that
README). The case id becomes a keyed hash like a FHIR patient's; only the sex, the age at the last
encounter, the onset, the diagnosis, the source paper's PMID and the HPO terms are kept.

HPO ids go through hp.obo's map: an obsolete or alternative id is replaced by its current term
(and noted), an unknown one is noted and left out; the case is still staged on the rest. A
phenopacket with no diagnosis, no usable observed term, or that does not parse is `Rejected`
with a scrubbed payload and a reason naming the case; the rest of the file goes on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from medkb.errors import SourceFileError
from medkb.sources.hpo_ids import HpoIdMap
from medkb.sources.pseudonym import Pseudonymiser
from medkb.sources.rejected import Rejected

SOURCE = "phenopacket"
SEXES = {"MALE": "male", "FEMALE": "female", "OTHER_SEX": "other", "UNKNOWN_SEX": "unknown"}
DIAGNOSIS_PREFIXES = ("OMIM:", "ORPHA:", "MONDO:", "DECIPHER:")
# Keys dropped from a rejected phenopacket's payload: free text and who/where, never clinical.
_DROP = frozenset({"description", "alternateIds", "dateOfBirth", "createdBy", "submittedBy", "files",
                   "biosamples", "pedigree", "reference", "notes"})


@dataclass(frozen=True)
class TermNote:
    hpo_id: str
    status: str  # replaced | unknown | obsolete
    replacement: str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class PhenotypeTerm:
    hpo_id: str
    excluded: bool
    onset: str | None = None


@dataclass(frozen=True)
class PhenopacketCase:
    """One case, pseudonymised: a keyed hash for the id; no names, dates of birth or free text."""

    source: str
    key: str
    version: int
    sex: str | None
    age: str | None  # ISO 8601 duration at the last encounter
    onset: str | None
    diagnosis: str
    diagnosis_label: str
    reference: str | None  # PMID:… of the published case report
    terms: tuple[PhenotypeTerm, ...]
    notes: tuple[TermNote, ...] = ()
    origin: str = ""

    @property
    def observed(self) -> tuple[str, ...]:
        return tuple(t.hpo_id for t in self.terms if not t.excluded)

    @property
    def excluded(self) -> tuple[str, ...]:
        return tuple(t.hpo_id for t in self.terms if t.excluded)

    @cached_property
    def content_hash(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if k not in ("origin", "content_hash")}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=repr).encode()).hexdigest()


@dataclass(frozen=True)
class _Raw:
    """What both forms reduce to before ids are resolved."""

    case_id: str
    sex: str | None
    age: str | None
    onset: str | None
    diagnosis: str
    diagnosis_label: str
    reference: str | None
    terms: Sequence[PhenotypeTerm]
    extra_notes: Sequence[TermNote] = field(default_factory=tuple)


def phenopacket_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, or found (sorted) in the folders named: *.json, *.jsonl, *.jsonl.gz."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and _kind(q)))
        else:
            out.append(p)
    return out


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".jsonl.gz", ".jsonl")):
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    return None


def read_phenopackets(path: Path, pseudonymiser: Pseudonymiser, ids: HpoIdMap) -> Iterator[PhenopacketCase | Rejected]:
    """Yield the cases (or rejections) of one file; raise SourceFileError if the file is unreadable."""
    path = Path(path)
    kind = _kind(path)
    label = pseudonymiser.file_label(path.name)  # file names carry the case id (as FHIR's: find_file)
    if kind == "json":
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceFileError(f"{label}: cannot read a phenopacket JSON file ({exc}); check the file") from None
        yield _from_json(text, label, pseudonymiser, ids)
        return
    if kind != "jsonl":
        raise SourceFileError(f"{label}: not a phenopacket file (expected .json, .jsonl or .jsonl.gz)")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    yield _from_line(line, f"{label}:{lineno}", pseudonymiser, ids)
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise SourceFileError(f"{label}: cannot read the JSON-lines file ({exc}); truncated or not gzip?") from None


def _from_json(text: str, origin: str, p: Pseudonymiser, ids: HpoIdMap) -> PhenopacketCase | Rejected:
    from google.protobuf.json_format import MessageToDict, Parse, ParseError
    from phenopackets import Phenopacket

    try:
        raw_dict = json.loads(text)
    except json.JSONDecodeError as exc:
        return _reject(p, origin, {"text_sha256": hashlib.sha256(text.encode()).hexdigest()},
                       f"not valid JSON ({exc.msg} at line {exc.lineno}); is the file truncated?", "valid_json")
    if not isinstance(raw_dict, dict):
        return _reject(p, origin, {}, "a phenopacket must be a JSON object", "valid_phenopacket")
    try:
        packet = Parse(text, Phenopacket())
    except ParseError as exc:
        return _reject(p, origin, raw_dict, f"does not parse as a GA4GH Phenopacket v2: {exc}", "valid_phenopacket")
    d = MessageToDict(packet)
    diagnosis, label = _diagnosis(d)
    subject = d.get("subject") or {}
    onset = next((_time(x.get("onset")) for x in d.get("diseases") or [] if x.get("onset")), None)
    terms = [PhenotypeTerm(f["type"]["id"], bool(f.get("excluded")), _time(f.get("onset")))
             for f in d.get("phenotypicFeatures") or [] if (f.get("type") or {}).get("id")]
    refs = [r.get("id", "") for r in (d.get("metaData") or {}).get("externalReferences") or []]
    raw = _Raw(case_id=d.get("id") or subject.get("id") or "", sex=SEXES.get(subject.get("sex", "")),
               age=_time(subject.get("timeAtLastEncounter")), onset=onset, diagnosis=diagnosis,
               diagnosis_label=label, reference=next((r for r in refs if r.startswith("PMID:")), None), terms=terms)
    return _case(raw, raw_dict, origin, p, ids)


def _from_line(line: str, origin: str, p: Pseudonymiser, ids: HpoIdMap) -> PhenopacketCase | Rejected:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        return _reject(p, origin, {"line_sha256": hashlib.sha256(line.encode()).hexdigest()},
                       f"not valid JSON ({exc.msg}); the line is damaged", "valid_json")
    if not isinstance(rec, dict) or not isinstance(rec.get("observed", []), list) \
            or not isinstance(rec.get("excluded", []), list):
        return _reject(p, origin, rec if isinstance(rec, dict) else {},
                       "a flattened phenopacket needs lists `observed` and `excluded`", "valid_phenopacket")
    notes = [TermNote(h, "unknown", None, False) for h in rec.get("unmapped_observed") or []]
    notes += [TermNote(h, "unknown", None, True) for h in rec.get("unmapped_excluded") or []]
    terms = [PhenotypeTerm(h, False) for h in rec.get("observed") or []]
    terms += [PhenotypeTerm(h, True) for h in rec.get("excluded") or []]
    raw = _Raw(case_id=str(rec.get("id") or ""), sex=SEXES.get(str(rec.get("sex", "")).upper(), rec.get("sex")),
               age=rec.get("age"), onset=rec.get("onset"), diagnosis=str(rec.get("disease") or ""),
               diagnosis_label=str(rec.get("disease_label") or ""), reference=rec.get("pmid"), terms=terms,
               extra_notes=notes)
    return _case(raw, rec, origin, p, ids)


def _case(raw: _Raw, payload: Mapping[str, Any], origin: str, p: Pseudonymiser,
          ids: HpoIdMap) -> PhenopacketCase | Rejected:
    if not raw.case_id:
        return _reject(p, origin, payload, "the phenopacket has no id (nor a subject id); it cannot be a case",
                       "case_id_present")
    key = p.token(raw.case_id)
    if not raw.diagnosis:
        return _reject(p, origin, payload, f"case {key[:12]}…: no diagnosis (no interpretation's diagnosis "
                       "and no disease); a phenopacket for ranking needs its OMIM diagnosis", "diagnosis_present", key)
    notes = list(raw.extra_notes)
    terms: dict[tuple[str, bool], PhenotypeTerm] = {}
    for t in raw.terms:
        current, status = ids.resolve(t.hpo_id)
        if status != "ok":
            notes.append(TermNote(t.hpo_id, status, current, t.excluded))
        if current is not None:
            terms.setdefault((current, t.excluded), PhenotypeTerm(current, t.excluded, t.onset))
    if not any(not ex for _, ex in terms):
        return _reject(p, origin, payload, f"case {key[:12]}…: no observed HPO term left after resolving ids "
                       f"({len(raw.terms)} given); nothing to rank on", "observed_terms_present", key)
    return PhenopacketCase(source=SOURCE, key=key, version=1, sex=raw.sex, age=raw.age, onset=raw.onset,
                           diagnosis=raw.diagnosis, diagnosis_label=raw.diagnosis_label, reference=raw.reference,
                           terms=tuple(terms.values()), notes=tuple(notes), origin=origin.split(":")[0])


def _diagnosis(d: Mapping[str, Any]) -> tuple[str, str]:
    for interp in d.get("interpretations") or []:
        disease = (interp.get("diagnosis") or {}).get("disease") or {}
        if disease.get("id"):
            return disease["id"], disease.get("label", "")
    for disease in d.get("diseases") or []:
        term = disease.get("term") or {}
        if term.get("id") and not disease.get("excluded"):
            return term["id"], term.get("label", "")
    return "", ""


def _time(element: Mapping[str, Any] | None) -> str | None:
    """A TimeElement as text: an ISO 8601 age, an ontology class id, or a gestational age."""
    if not element:
        return None
    if "age" in element:
        return element["age"].get("iso8601duration")
    if "ontologyClass" in element:
        return element["ontologyClass"].get("id")
    if "gestationalAge" in element:
        return f"gestational:{element['gestationalAge'].get('weeks')}w"
    return None


def _reject(p: Pseudonymiser, origin: str, payload: Mapping[str, Any], reason: str, check: str,
            key: str | None = None) -> Rejected:
    return Rejected(source=SOURCE, key=key or origin, version=1, reason=f"{origin}: {reason}",
                    payload=scrub(payload, p), origin=origin.split(":")[0], check=check)


def scrub(node: Any, p: Pseudonymiser) -> Any:
    """A copy without free text or dates of birth, with every `id` of a person or packet hashed."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in _DROP:
                continue
            if k in ("id", "subject_id") and isinstance(v, str) and not _is_curie(v):
                out[k] = p.token(v)
            elif k == "path" and isinstance(v, str):
                continue  # store paths carry the case id
            else:
                out[k] = scrub(v, p)
        return out
    if isinstance(node, list):
        return [scrub(v, p) for v in node]
    return node


def _is_curie(value: str) -> bool:
    """An ontology or reference id (HP:…, OMIM:…, PMID:…) is knowledge, not a person."""
    prefix, sep, local = value.partition(":")
    return bool(sep) and prefix.isupper() and bool(local) and " " not in value and not prefix.startswith("PMID_")

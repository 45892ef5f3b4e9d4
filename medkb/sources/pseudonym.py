"""Pseudonymisation of patient data, applied by the reader before anything is stored.

Ids become keyed hashes (HMAC-SHA256 with MEDKB_PSEUDONYM_KEY): stable across runs, so a patient's
records join up, but not reversible or guessable without the key. Direct identifiers (names,
addresses, telecom, identifiers, photos, contacts, narrative text, reference display strings,
attachment data) are dropped from payloads, also from those of rejected resources kept in the
quarantine; a birth date becomes a birth year; the value of an Observation that records an address
is dropped; the patient's names are masked inside note text; file names (Synthea's carry the
patient's name) are stored and logged as keyed labels (`file_label`).

Events on the patient's day of birth (Synthea dates some conditions at the instant of birth) would
give the birth date away: in a clinical resource of that patient, every date/dateTime on the birth
date becomes the birth year ("2019", a valid FHIR partial date/dateTime; an `instant` on that day,
which cannot be partial, is dropped), and the record's time becomes the first instant of the birth
year (`generalise_time`), the granularity the case keeps. The reader knows each patient's birth date
while it reads a bundle and never passes it on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

# Keys removed wherever they appear in a resource (who was involved is not clinical knowledge).
DROP_KEYS = frozenset({
    "name", "address", "telecom", "identifier", "photo", "contact", "text", "display",
    "data", "url", "link", "communication", "generalPractitioner", "managingOrganization",
    "extension", "modifierExtension", "note", "authorString", "performer", "requester", "recorder",
    "asserter", "author", "participant", "custodian",
})
# LOINC codes whose values identify a person (Synthea records the home address as an Observation).
IDENTIFYING_LOINC = frozenset({"56799-0"})
MASK = "[PATIENT]"
# FHIR `instant` elements (full precision required, so no year-only form): dropped when on the birth date.
INSTANT_KEYS = frozenset({"issued", "lastUpdated", "recorded", "when"})
_INSTANT_BY_TYPE = {"DocumentReference": frozenset({"date"})}
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PseudonymKeyMissing(RuntimeError):
    """No key is configured; patient data is never stored without one."""


class Pseudonymiser:
    """Keyed hashing and scrubbing for one key."""

    def __init__(self, key: str) -> None:
        if not key:
            raise PseudonymKeyMissing(
                "MEDKB_PSEUDONYM_KEY is empty: a deployment sets its own secret key; locally, "
                "`source ops/env.sh` makes a per-machine key in .local/pseudonym.key"
            )
        self._key = key.encode()

    def token(self, value: str, kind: str = "patient") -> str:
        """Keyed hash of an id; `kind` separates namespaces so a patient and a resource never collide."""
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def file_label(self, name: str) -> str:
        """What is stored and logged instead of a file name (Synthea names files after the patient):
        `file-` and a keyed hash. The operator finds the file again by labelling the names in the
        drop folder with the same key (`find_file`)."""
        return f"file-{self.token(name, 'file')[:20]}"

    def scrub(self, resource: Mapping[str, Any], refs: Mapping[str, str],
              birth_date: str | None = None) -> dict[str, Any]:
        """A copy without direct identifiers, with references rewritten through `refs`
        (original reference -> pseudonymous one); references not in `refs` are hashed.
        `birth_date`: the patient's ('2019-03-04'); dates on that day become its year."""
        return _scrub(resource, refs, self, _birth_day(birth_date))


def _identifying_observation(node: Mapping[str, Any]) -> bool:
    codings = ((node.get("code") or {}).get("coding") or []) if isinstance(node.get("code"), Mapping) else []
    return node.get("resourceType") == "Observation" and any(
        isinstance(c, Mapping) and c.get("code") in IDENTIFYING_LOINC for c in codings)


def _birth_day(birth_date: Any) -> str | None:
    """The birth date when it is a full date ('2019-03-04'); a year (or year-month) gives nothing away here."""
    text = str(birth_date or "")[:10]
    return text if _FULL_DATE.match(text) else None


def _scrub(node: Any, refs: Mapping[str, str], p: Pseudonymiser, birth: str | None = None) -> Any:
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        identifying = _identifying_observation(node)
        instants = INSTANT_KEYS | _INSTANT_BY_TYPE.get(str(node.get("resourceType")), frozenset())
        for k, v in node.items():
            if k in DROP_KEYS or (identifying and k.startswith("value")):
                continue
            if birth and k in instants and isinstance(v, str) and birth in v:
                continue  # an instant on the day of birth: no partial form exists
            if k == "birthDate":  # a birth date is an identifier; its year is what the cases keep
                out["birthYear"] = birth_year(v)
                continue
            if k == "reference" and isinstance(v, str):
                out[k] = refs.get(v) or f"ref:{p.token(v, 'reference')}"
            elif k == "id" and isinstance(v, str):
                out[k] = p.token(v, "resource")
            elif k == "fullUrl":
                continue
            else:
                out[k] = _scrub(v, refs, p, birth)
        return out
    if isinstance(node, list):
        return [_scrub(v, refs, p, birth) for v in node]
    if birth and isinstance(node, str) and birth in node:
        return generalise_dates(node, birth)
    return node


def _birth_pattern(birth: str) -> re.Pattern[str]:
    # the date, and a time that follows it (`T10:22:00-05:00`, `T10:22:00.123Z`)
    return re.compile(rf"(?<![\d-]){re.escape(birth)}(?:T[\d:.]+(?:Z|[+-]\d{{2}}:\d{{2}})?)?(?!\d)")


def generalise_dates(text: str, birth_date: str) -> str:
    """`text` with every date (or dateTime) on `birth_date` replaced by the birth year:
    '2019-03-04T10:22:00-05:00' -> '2019'."""
    birth = _birth_day(birth_date)
    if not birth:
        return text
    return _birth_pattern(birth).sub(birth[:4], text)


def generalise_time(when: str | None, birth_date: str | None) -> str | None:
    """A record's time (ISO 8601) on the patient's day of birth -> the first instant of the birth year
    (UTC), which keeps it before every later event of that patient. "On the day" is the date as
    written or in UTC (how Postgres shows a timestamptz here). For a patient born on 1 January that
    instant is the birth date itself, so the time is dropped (None: the rules sort an undated record
    first and count an undated condition as present)."""
    birth = _birth_day(birth_date)
    if not when or not birth:
        return when
    days = {when[:10]}
    try:
        parsed = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        days.add(parsed.astimezone(UTC).date().isoformat())
    if birth not in days:
        return when
    return None if birth.endswith("-01-01") else f"{birth[:4]}-01-01T00:00:00+00:00"


def birth_year(birth_date: Any) -> int | None:
    """'1967-04-02' (or a date) -> 1967."""
    if birth_date is None:
        return None
    text = str(birth_date)
    return int(text[:4]) if text[:4].isdigit() else None


def mask_names(text: str, names: Iterable[str]) -> str:
    """Replace the patient's names (given, family, with digits Synthea appends stripped) in free text."""
    words = sorted({n for n in names if n and len(n) > 1}, key=len, reverse=True)
    if not words:
        return text
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    return pattern.sub(MASK, text)


def patient_names(patient: Mapping[str, Any]) -> list[str]:
    """What a note may quote about its patient, to mask: every name part (also without the digits
    Synthea appends), the birth date (Synthea's notes open with it), address lines, phone numbers
    and e-mail addresses, identifier values."""
    parts: list[str] = []
    if isinstance(patient.get("birthDate"), str):
        parts.append(patient["birthDate"])
    for a in patient.get("address") or []:
        parts.extend(line for line in a.get("line") or [] if isinstance(line, str))
    for item in [*(patient.get("telecom") or []), *(patient.get("identifier") or [])]:
        if isinstance(item, Mapping) and isinstance(item.get("value"), str):
            parts.append(item["value"])
    for n in patient.get("name") or []:
        for part in [n.get("family"), *(n.get("given") or []), *(n.get("prefix") or [])]:
            if part:
                parts.append(part)
                parts.append(re.sub(r"\d+$", "", part))
    return [p.rstrip(".") for p in parts if p]


def find_file(p: Pseudonymiser, label: str, folder: str) -> list[str]:
    """The files under `folder` whose label is `label` (a quarantine entry or log line names one)."""
    from pathlib import Path

    return sorted(str(f) for f in Path(folder).rglob("*") if f.is_file() and p.file_label(f.name) == label)

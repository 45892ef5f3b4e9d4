"""A scanner for patient identifiers: what Synthea wrote about each patient, searched for everywhere.

The needles are taken from the raw bundles (the only place they may be): every name part as written,
address lines, phone numbers and e-mail addresses, identifier values (MRN, SSN, driver's licence,
passport, Synthea's own id), the Patient resource id and the birth date (as a date, also with a time
after it: a timestamp of an event on that day gives the birth date away just the same; in a case's
own rows only that patient's birth date counts, another's is just a date). The haystacks are every
text, character, JSON, array, date and timestamp column of every table in the project's Postgres
schema, files under the folders named, and every property of every node and relationship in the graph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CASE_TABLES = ("staged_clinical_records", "staged_cases")
# also dates and times: a record's time on the day of birth is a birth date (read as text, in the
# session's time zone, UTC here)
_TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "USER-DEFINED",
               "date", "timestamp with time zone", "timestamp without time zone")


@dataclass(frozen=True)
class Needle:
    patient: str  # which bundle it came from (for the report only; never printed outside the test)
    kind: str  # name | address | telecom | identifier | birth_date
    value: str
    case_key: str = ""  # the patient's pseudonymous case key (to tell their dates from another's)


@dataclass
class Report:
    needles: int = 0
    places: dict[str, int] = field(default_factory=dict)  # where -> values searched there
    hits: list[tuple[str, str, str]] = field(default_factory=list)  # (where, kind, excerpt)

    def searched(self, where: str, n: int = 1) -> None:
        self.places[where] = self.places.get(where, 0) + n

    @property
    def values_searched(self) -> int:
        return sum(self.places.values())

    def summary(self) -> str:
        by_kind: dict[str, int] = {}
        for _, kind, _ in self.hits:
            by_kind[kind] = by_kind.get(kind, 0) + 1
        groups: dict[str, int] = {}
        for where, n in self.places.items():
            head = where.split(":", 1)[0]
            groups[head] = groups.get(head, 0) + n
        return (f"{self.needles} identifiers searched for in {self.values_searched} values "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(groups.items()))}); "
                f"{len(self.hits)} hits {by_kind or ''}")


def needles_from_bundles(paths: Iterable[Path], case_key_of: Any = None) -> list[Needle]:
    """`case_key_of(patient_id)`: the case key the reader gives a Patient (Pseudonymiser.token)."""
    out: list[Needle] = []
    for path in paths:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle.get("entry") or []:
            res = entry.get("resource") or {}
            if res.get("resourceType") == "Patient":
                key = case_key_of(res["id"]) if case_key_of and res.get("id") else ""
                out.extend(Needle(n.patient, n.kind, n.value, key) for n in _patient_needles(path.stem, res))
    return out


def _patient_needles(who: str, p: Mapping[str, Any]) -> Iterator[Needle]:
    for n in p.get("name") or []:
        for part in [n.get("family"), *(n.get("given") or [])]:
            if part and len(part) > 2:
                yield Needle(who, "name", part)
    for a in p.get("address") or []:
        for line in a.get("line") or []:
            yield Needle(who, "address", line)
    for t in p.get("telecom") or []:
        if t.get("value"):
            yield Needle(who, "telecom", t["value"])
    for i in p.get("identifier") or []:
        if i.get("value"):
            yield Needle(who, "identifier", i["value"])
    if p.get("id"):
        yield Needle(who, "identifier", p["id"])
    if p.get("birthDate"):
        yield Needle(who, "birth_date", p["birthDate"])


class Matcher:
    """One compiled pattern for all needles; names match as whole words, case-insensitively."""

    def __init__(self, needles: list[Needle]) -> None:
        self.kinds: dict[str, str] = {}
        self.owners: dict[str, set[str]] = {}  # birth date -> the case keys born that day
        parts = []
        for n in sorted(needles, key=lambda n: len(n.value), reverse=True):
            key = n.value.casefold()
            if n.kind == "birth_date":
                self.owners.setdefault(key, set()).add(n.case_key)
            if key in self.kinds:
                continue
            self.kinds[key] = n.kind
            body = re.escape(n.value)
            if n.kind == "birth_date":
                parts.append(rf"(?<![\d-]){body}(?!\d)")  # the date, also as the start of a timestamp
            else:
                parts.append(rf"(?<![^\W_]){body}(?![^\W_])")  # `_` separates: Synthea's file names
        self.pattern = re.compile("|".join(parts), re.IGNORECASE)

    def find(self, text: str, case_key: str | None = None) -> Iterator[tuple[str, str]]:
        """`case_key`: the case the text belongs to; another patient's birthday on it is just a date."""
        for m in self.pattern.finditer(text):
            kind = self.kinds.get(m.group(0).casefold(), "?")
            if kind == "birth_date" and case_key and case_key not in self.owners.get(m.group(0).casefold(), set()):
                continue
            yield kind, text[max(0, m.start() - 40): m.end() + 40]


def scan_text(m: Matcher, report: Report, where: str, text: str, case_key: str | None = None) -> None:
    report.searched(where)
    for kind, excerpt in m.find(text, case_key):
        report.hits.append((where, kind, excerpt))


def scan_postgres(conn: Any, m: Matcher, report: Report) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = ANY(%s) ORDER BY table_name, ordinal_position",
            (list(_TEXT_TYPES),),
        )
        columns = cur.fetchall()
        for table, column in columns:
            # names from the catalogue, quoted as identifiers; rows of a case say whose they are
            owner = '"case_key"' if table in _CASE_TABLES else "NULL"
            cur.execute(f'SELECT "{column}"::text, {owner} FROM "{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608
            for value, case_key in cur.fetchall():
                scan_text(m, report, f"postgres:{table}.{column}", value, case_key)


def scan_files(folders: Iterable[Path], m: Matcher, report: Report, label: str = "files") -> None:
    for folder in folders:
        if not folder.exists():
            continue
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for f in files:
            scan_text(m, report, f"{label}:{f}", f.name)  # file names count too
            scan_text(m, report, f"{label}:{f}", f.read_bytes().decode("utf-8", errors="replace"))


def scan_graph(client: Any, m: Matcher, report: Report) -> None:
    """Every label, property key and value of every node and relationship (Run and Change too)."""
    for row in client.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p"):
        scan_text(m, report, "graph:nodes", json.dumps(row, default=str, ensure_ascii=False))
    for row in client.read("MATCH ()-[r]->() RETURN type(r) AS t, properties(r) AS p"):
        scan_text(m, report, "graph:relationships", json.dumps(row, default=str, ensure_ascii=False))

"""Where cases come from: the staged FHIR records in Postgres, or bundle files read directly (the
benchmark), both through the same builder (rules/case.py), so the two paths cannot drift apart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from medkb.db.postgres import fetch_all
from medkb.rules.case import Case, CasePhenotype, build_case
from medkb.sources.clinical_records import ClinicalRecord, PatientCase
from medkb.sources.fhir import read_fhir_bundle
from medkb.sources.pseudonym import Pseudonymiser

# The latest version of each case; quarantined rows never reach a rule.
_CASES = """
SELECT DISTINCT ON (source, case_key) source, case_key, version, gender, birth_year, content_hash
FROM staged_cases WHERE state <> 'quarantined' {where}
ORDER BY source, case_key, version DESC
"""

_RECORDS = """
SELECT record_key, version, case_key, resource_type, code_system, code, display, value, value_text, unit,
       effective_at, content_hash
FROM staged_clinical_records
WHERE source = %s AND case_key = ANY(%s) AND state <> 'quarantined'
"""

# What a case was built from, as one hash per case: the case row, every record and the phenotypes
# others staged for it (a phenopacket's terms). Rows the rules derived themselves (run ids
# 'diagnose-…') are left out, so that writing them does not make the case look changed.
RECORD_HASHES = """
WITH c AS (
  SELECT DISTINCT ON (source, case_key) source, case_key, content_hash
  FROM staged_cases WHERE state <> 'quarantined' ORDER BY source, case_key, version DESC
), r AS (
  SELECT source, case_key,
         string_agg(record_key || ':' || version || ':' || content_hash, ',' ORDER BY record_key, version) AS h
  FROM staged_clinical_records WHERE state <> 'quarantined' GROUP BY source, case_key
)
SELECT c.source, c.case_key, md5(c.content_hash || '|' || coalesce(r.h, '') || '|' || coalesce(p.h, '')) AS record_hash
FROM c LEFT JOIN r USING (source, case_key)
LEFT JOIN (
  SELECT source, case_key,
         string_agg(hpo_id || ':' || excluded::text || ':' || coalesce(onset, ''), ',' ORDER BY hpo_id, excluded) AS h
  FROM case_phenotypes WHERE run_id NOT LIKE 'diagnose-%%' GROUP BY source, case_key
) p USING (source, case_key)
"""


def staged_phenotypes(conn: Any, source: str, keys: list[str]) -> dict[str, list[CasePhenotype]]:
    """Phenotypes staged for these cases by others (phenopackets, the note extraction)."""
    if not _has_phenotype_table(conn):
        return {}
    rows = fetch_all(conn, "SELECT case_key, hpo_id, excluded, onset, evidence FROM case_phenotypes "
                     "WHERE source = %s AND case_key = ANY(%s) AND run_id NOT LIKE 'diagnose-%%'", (source, keys))
    out: dict[str, list[CasePhenotype]] = defaultdict(list)
    for r in rows:
        out[r["case_key"]].append(CasePhenotype(hpo_id=r["hpo_id"], excluded=bool(r["excluded"]),
                                                onset=r.get("onset"), evidence=str(r.get("evidence") or "")))
    return out


def load_cases(conn: Any, keys: Iterable[tuple[str, str]] | None = None, batch_size: int = 200) -> Iterator[Case]:
    """Cases from staging, `keys` = (source, case_key) pairs, or every case."""
    if keys is None:
        heads = fetch_all(conn, _CASES.format(where=""))
    else:
        wanted = sorted(set(keys))
        heads = []
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, key in wanted:
            by_source[source].append(key)
        for source, ks in by_source.items():
            heads += fetch_all(conn, _CASES.format(where="AND source = %s AND case_key = ANY(%s)"), (source, ks))
    by_source_heads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in heads:
        by_source_heads[h["source"]].append(h)
    for source, hs in sorted(by_source_heads.items()):
        for start in range(0, len(hs), batch_size):
            part = hs[start:start + batch_size]
            ks = [h["case_key"] for h in part]
            records: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in fetch_all(conn, _RECORDS, (source, ks)):
                records[r["case_key"]].append(r)
            phenos = staged_phenotypes(conn, source, ks)
            for h in part:
                yield build_case(h, records.get(h["case_key"], []), phenos.get(h["case_key"], []))


_NO_PHENOTYPES = "(SELECT NULL::text AS source, NULL::text AS case_key, NULL::text AS h WHERE false) p"


def _has_phenotype_table(conn: Any) -> bool:
    return bool(fetch_all(conn, "SELECT to_regclass('case_phenotypes') AS t")[0]["t"])


def record_hashes(conn: Any) -> dict[tuple[str, str], str]:
    """(source, case_key) -> the hash of everything the case is built from."""
    sql = RECORD_HASHES
    if not _has_phenotype_table(conn):  # before migration 0040 (phenopackets) there are none
        head, _, _tail = sql.partition("LEFT JOIN (\n  SELECT source, case_key,\n         string_agg(hpo_id")
        sql = head + "LEFT JOIN " + _NO_PHENOTYPES + " USING (source, case_key)\n"
    return {(r["source"], r["case_key"]): r["record_hash"] for r in fetch_all(conn, sql)}


def bundle_rows(path: Path, pseudonymiser: Pseudonymiser) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(case row, record rows) per patient of one FHIR bundle, pseudonymised exactly as staging would:
    the same columns `load_cases` reads from Postgres."""
    heads: list[dict[str, Any]] = []
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in read_fhir_bundle(path, pseudonymiser):
        if isinstance(rec, PatientCase):
            heads.append({"source": rec.source, "case_key": rec.key, "version": rec.version, "gender": rec.gender,
                          "birth_year": rec.birth_year, "content_hash": rec.content_hash})
        elif isinstance(rec, ClinicalRecord):
            row = {k: v for k, v in asdict(rec).items() if k not in ("payload", "note_text")}
            row.update(record_key=rec.key, content_hash=rec.content_hash)
            records[rec.case_key].append(row)
    return [(h, records.get(h["case_key"], [])) for h in heads]


def cases_from_bundle(path: Path, pseudonymiser: Pseudonymiser) -> list[Case]:
    """The cases of one FHIR bundle file (no store involved)."""
    return [build_case(h, rows) for h, rows in bundle_rows(path, pseudonymiser)]

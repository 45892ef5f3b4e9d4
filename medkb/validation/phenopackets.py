"""Validate staged phenopacket cases with a suite of their own (not the FHIR cases suite).

A phenopacket case is usable for ranking when its key is a pseudonym, its diagnosis is a disease
CURIE, it has at least one observed HPO term and every term id is well formed. An HPO id that
hp.obo does not know was already left out at ingest and noted on the case; here it is a warning
(the case is still ranked on the rest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import great_expectations.expectations as gxe
import pandas as pd

from medkb.db.postgres import fetch_all
from medkb.validation.batch import Outcome, Target, validate_batches
from medkb.validation.gx_runner import WARNING, Check, check

SOURCE = "phenopacket"
BATCH = 5_000
_QUERY = """
SELECT c.source, c.case_key, c.version, c.gender, c.diagnosis, c.reference, c.onset, c.age, c.term_notes,
       count(p.hpo_id) FILTER (WHERE NOT p.excluded) AS n_observed,
       count(p.hpo_id) FILTER (WHERE p.excluded) AS n_excluded,
       count(p.hpo_id) FILTER (WHERE p.hpo_id !~ '^HP:[0-9]{7}$') AS n_malformed
FROM staged_cases c LEFT JOIN case_phenotypes p ON p.source = c.source AND p.case_key = c.case_key
WHERE c.source = %s AND c.state = 'staged' AND (c.case_key, c.version) > (%s, %s)
GROUP BY c.source, c.case_key, c.version ORDER BY c.case_key, c.version LIMIT %s
"""


def phenopacket_suite() -> list[Check]:
    return [
        check("case_key_format", gxe.ExpectColumnValuesToMatchRegex, column="case_key", regex=r"^[0-9a-f]{32}$"),
        check("sex", gxe.ExpectColumnValuesToBeInSet, column="gender", value_set=["male", "female", "other", "unknown"]),
        check("diagnosis_curie", gxe.ExpectColumnValuesToMatchRegex, column="diagnosis",
              regex=r"^(?:OMIM|ORPHA|MONDO|DECIPHER):[0-9A-Za-z]+$"),
        check("diagnosis_present", gxe.ExpectColumnValuesToNotBeNull, column="diagnosis"),
        check("observed_terms_present", gxe.ExpectColumnValuesToBeBetween, column="n_observed", min_value=1),
        check("hpo_id_format", gxe.ExpectColumnValuesToBeBetween, column="n_malformed", min_value=0, max_value=0),
        check("reference_pmid", gxe.ExpectColumnValuesToMatchRegex, WARNING, column="reference", regex=r"^PMID:[0-9]+$"),
        check("hpo_ids_known", gxe.ExpectColumnValuesToBeBetween, WARNING, column="n_unknown", min_value=0, max_value=0),
    ]


def phenopacket_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in ("n_observed", "n_excluded", "n_malformed"):
        out[col] = pd.to_numeric(out[col]).astype("int64")
    out["n_unknown"] = out["term_notes"].map(
        lambda notes: sum(1 for n in (notes or []) if n.get("status") != "replaced")).astype("int64")
    return out


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("case_key", "version", "gender", "diagnosis", "reference", "onset", "age",
                                    "n_observed", "n_excluded", "n_malformed", "term_notes")}


TARGET = Target(table="staged_cases", key_column="case_key", suite_name="phenopackets", suite=phenopacket_suite,
                frame=phenopacket_frame, payload=_payload)


def _batches(conn: Any, batch: int) -> Iterator[list[dict[str, Any]]]:
    after: tuple[str, int] = ("", 0)
    while True:
        rows = fetch_all(conn, _QUERY, (SOURCE, *after, batch))
        if not rows:
            return
        after = (rows[-1]["case_key"], rows[-1]["version"])
        yield rows


def validate_staged_phenopackets(conn: Any, run_id: str, threshold: float | None = None,
                                 batch: int = BATCH) -> Outcome:
    """Quarantine unusable phenopacket cases, move the rest to `validated`."""
    return validate_batches(conn, TARGET, _batches(conn, batch), run_id, threshold)

"""The Great Expectations suites, one per kind of source, kept as code.

`literature` runs over staged citations (MEDLINE, PubMed, PubTator, BioC); `records` over staged
clinical facts from FHIR bundles. A critical check quarantines the row; a warning lets it go on
with a note (a title-only citation is normal in MEDLINE: half the 2020 baseline has no abstract).
"""

from __future__ import annotations

import datetime as dt

import great_expectations.expectations as gxe
import pandas as pd

from medkb.validation.gx_runner import WARNING, Check, check
from medkb.validation.vocab import (
    CLINICAL_RESOURCE_TYPES,
    CODE_SYSTEMS,
    LOINC_RANGES,
    LOINC_UNITS,
)

MAX_TITLE = 2_000
MAX_ABSTRACT = 100_000  # the longest in the 30,000-citation baseline is 4,143 characters
FIRST_YEAR = 1800


def literature_suite(today: dt.date | None = None) -> list[Check]:
    """Checks for one batch of citations (columns of staged_documents)."""
    year = (today or dt.date.today()).year
    return [
        check("pmid_format", gxe.ExpectColumnValuesToMatchRegex, column="source_key", regex=r"^[1-9][0-9]{0,8}$"),
        check("title_present", gxe.ExpectColumnValueLengthsToBeBetween, column="title_stripped",
              min_value=1, max_value=MAX_TITLE),
        check("abstract_length", gxe.ExpectColumnValueLengthsToBeBetween, column="abstract",
              min_value=0, max_value=MAX_ABSTRACT),
        check("abstract_present", gxe.ExpectColumnValueLengthsToBeBetween, WARNING, column="abstract",
              min_value=1),
        check("language_code", gxe.ExpectColumnValuesToMatchRegex, column="language", regex=r"^[a-z]{3}$"),
        check("publication_year", gxe.ExpectColumnValuesToBeBetween, column="pub_year",
              min_value=FIRST_YEAR, max_value=year + 1),
        check("unique_key_in_batch", gxe.ExpectCompoundColumnsToBeUnique, column_list=["source", "source_key"]),
    ]


def records_suite(now: dt.datetime | None = None) -> list[Check]:
    """Checks for one batch of clinical records (columns of staged_clinical_records)."""
    now = now or dt.datetime.now(dt.UTC)
    latest = (now + dt.timedelta(days=1)).timestamp()
    earliest = dt.datetime(1900, 1, 1, tzinfo=dt.UTC).timestamp()
    coded = [t for t in CLINICAL_RESOURCE_TYPES if t != "DocumentReference"]
    checks = [
        check("resource_type", gxe.ExpectColumnValuesToBeInSet, column="resource_type",
              value_set=list(CLINICAL_RESOURCE_TYPES)),
        check("code_present", gxe.ExpectColumnValuesToNotBeNull, column="code",
              row_condition=f"resource_type in {coded!r}", condition_parser="pandas"),
        check("code_system", gxe.ExpectColumnPairValuesToBeInSet, column_A="resource_type",
              column_B="code_system", value_pairs_set=sorted(CODE_SYSTEMS), ignore_row_if="either_value_is_missing"),
        check("unit_present", gxe.ExpectColumnValuesToNotBeNull, column="unit",
              row_condition="value == value", condition_parser="pandas"),  # value == value: not NaN
        # GX 1.24 ignores row_condition in column-pair expectations, so the pair is one derived column
        check("unit_known", gxe.ExpectColumnValuesToBeInSet, column="loinc_unit",
              value_set=sorted(f"{c}|{u}" for c, u in LOINC_UNITS)),
        check("loinc_registered", gxe.ExpectColumnValuesToBeInSet, WARNING, column="code",
              value_set=sorted({c for c, _ in LOINC_UNITS}),
              row_condition="resource_type == 'Observation' and value == value", condition_parser="pandas"),
        check("effective_time", gxe.ExpectColumnValuesToBeBetween, column="effective_epoch",
              min_value=earliest, max_value=latest),
    ]
    for code, (low, high, label) in sorted(LOINC_RANGES.items()):
        checks.append(check(f"range_{label}", gxe.ExpectColumnValuesToBeBetween, column="value",
                            min_value=low, max_value=high, row_condition=f"code == {code!r}",
                            condition_parser="pandas"))
    return checks


def cases_suite(today: dt.date | None = None) -> list[Check]:
    """Checks for pseudonymised patient cases (columns of staged_cases)."""
    year = (today or dt.date.today()).year
    return [
        check("case_key_format", gxe.ExpectColumnValuesToMatchRegex, column="case_key", regex=r"^[0-9a-f]{32}$"),
        check("gender", gxe.ExpectColumnValuesToBeInSet, column="gender",
              value_set=["male", "female", "other", "unknown"]),
        check("birth_year", gxe.ExpectColumnValuesToBeBetween, column="birth_year", min_value=1880, max_value=year),
    ]


def literature_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns the literature checks read."""
    out = df.copy()
    out["title_stripped"] = out["title"].fillna("").str.strip()
    out["abstract"] = out["abstract"].fillna("")
    return out


def records_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns the records checks read (epoch seconds; LOINC code|unit pairs)."""
    out = df.copy()
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    ts = pd.to_datetime(out["effective_at"], utc=True, errors="coerce")
    out["effective_epoch"] = ts.map(lambda t: t.timestamp() if not pd.isna(t) else None).astype("float64")
    registered = {c for c, _ in LOINC_UNITS}
    is_lab = (out["resource_type"] == "Observation") & out["value"].notna() & out["code"].isin(registered)
    pair = out["code"].astype(str) + "|" + out["unit"].fillna("").astype(str)
    out["loinc_unit"] = pair.where(is_lab & out["unit"].notna(), None)
    return out

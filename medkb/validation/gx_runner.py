"""Run a Great Expectations 1.x suite over a pandas batch and turn the result into per-row failures.

GX reports per expectation; the quarantine needs per row. With `result_format` COMPLETE, each
failed expectation lists the failing rows' indices, which are mapped back to the batch's keys.
One ephemeral GX context serves the whole process (building one costs more than a batch).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)
CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, with the name operators see and whether failing it stops the row."""

    name: str  # e.g. "pmid_format": shown in logs and in the quarantine's reasons
    expectation: Any  # a great_expectations.expectations.Expectation
    severity: str = CRITICAL  # critical: row quarantined; warning: row goes on with a note


@dataclass
class RowFailure:
    check: str
    column: str | None
    observed: Any
    severity: str

    def as_reason(self) -> dict[str, Any]:
        return {"expectation": self.check, "column": self.column, "observed": _short(self.observed),
                "severity": self.severity}


@dataclass
class SuiteResult:
    """Failures per row index, and per check the failing row count."""

    rows: int
    failures: dict[Any, list[RowFailure]] = field(default_factory=dict)
    per_check: dict[str, list[Any]] = field(default_factory=dict)  # check -> failing indices
    severities: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # expectations that raised (a suite bug)

    def critical_indices(self) -> set[Any]:
        return {i for i, fs in self.failures.items() if any(f.severity == CRITICAL for f in fs)}


@lru_cache(maxsize=1)
def _context() -> Any:
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)  # our CLI draws its own bars
    ctx.data_sources.add_pandas("medkb")
    return ctx


_VALIDATIONS: dict[tuple[str, str], Any] = {}


def check(name: str, expectation_cls: type, severity: str = CRITICAL, **kwargs: Any) -> Check:
    """Build a Check; the expectation carries the check's name in its meta to map results back."""
    return Check(name, expectation_cls(meta={"check": name}, **kwargs), severity)


def _validation(suite_name: str, checks: Sequence[Check]) -> Any:
    """One GX ValidationDefinition per distinct suite, built once per process."""
    import great_expectations as gx

    signature = repr([(c.name, c.severity, c.expectation.configuration.kwargs) for c in checks])
    cached = _VALIDATIONS.get((suite_name, signature))
    if cached is not None:
        return cached
    ctx = _context()
    ds = ctx.data_sources.get("medkb")
    name = f"{suite_name}-{len(_VALIDATIONS)}"
    batch = ds.add_dataframe_asset(name).add_batch_definition_whole_dataframe("batch")
    suite = ctx.suites.add(gx.ExpectationSuite(name=name))
    for c in checks:
        suite.add_expectation(c.expectation)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    _VALIDATIONS[(suite_name, signature)] = vd
    return vd


def run_suite(suite_name: str, checks: Sequence[Check], df: pd.DataFrame) -> SuiteResult:
    """Validate `df` (index = row ids) and return which rows failed which checks."""
    result = SuiteResult(rows=len(df), severities={c.name: c.severity for c in checks})
    if df.empty:
        return result
    vd = _validation(suite_name, checks)
    res = vd.run(batch_parameters={"dataframe": df}, result_format={"result_format": "COMPLETE"})
    by_name = {c.name: c for c in checks}
    for r in res.results:
        name = (r.expectation_config.meta or {}).get("check", r.expectation_config.type)
        check = by_name.get(name)
        if r.exception_info and r.exception_info.get("raised_exception"):
            result.errors.append(f"{name}: {r.exception_info.get('exception_message')}")
            continue
        if r.success or check is None:
            continue
        column = r.expectation_config.kwargs.get("column")
        indices = list(r.result.get("unexpected_index_list") or [])
        indices = [i[next(iter(i))] if isinstance(i, dict) else i for i in indices]
        result.per_check[name] = indices
        for i in indices:
            observed = df.at[i, column] if column and column in df.columns else _pair(df, r, i)
            result.failures.setdefault(i, []).append(RowFailure(name, column, observed, check.severity))
    return result


def _pair(df: pd.DataFrame, r: Any, i: Any) -> Any:
    kw = r.expectation_config.kwargs
    cols = [kw.get("column_A"), kw.get("column_B")] + list(kw.get("column_list") or [])
    return {c: df.at[i, c] for c in cols if c and c in df.columns}


def _short(value: Any) -> Any:
    """Observed values go to the quarantine (not to logs); long text is cut to what identifies the problem."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and len(value) > 200:
        return f"{value[:80]}… ({len(value)} characters)"
    if hasattr(value, "item"):
        return value.item()
    return value

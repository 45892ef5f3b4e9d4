"""The model-refinement DAG's last steps: the gate as a dry run, the promotion, re-extraction.

With human approval on (`MEDKB_PROMOTION_APPROVAL=1`), the gate first runs as a dry run (the
registry's own `promote`, in a transaction that is rolled back: same rules, nothing recorded), an
operator approves in the Airflow UI, and only then `promote` runs it for real (recording the
decision; a champion that changed meanwhile makes it refuse). After a promotion the recent
documents are re-extracted with the new champion (`medkb.pipelines.reextract`, issue 17).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from medkb.db.postgres import connect
from medkb.settings import Settings

log = logging.getLogger(__name__)


def evaluate(settings: Settings, version: str) -> dict[str, Any]:
    """Would the gate promote `version` now? Nothing is written."""
    from medkb import registry

    with connect(settings) as conn:
        decision = registry.promote(conn, version)
        conn.rollback()  # a dry run: the registry's rules, none of its writes
    log.info("gate (dry run, awaiting approval) %s: %s: %s", version, "would promote" if decision.promote else
             "would keep the champion", "; ".join(decision.reasons))
    return {"version": version, "promoted": decision.promote, "reasons": list(decision.reasons), "dry_run": True}


def promote(settings: Settings, version: str) -> dict[str, Any]:
    """Promote for real after an approval (the gate runs again and records its decision)."""
    from medkb import registry

    with connect(settings) as conn:
        decision = registry.promote(conn, version)
    log.info("%s %s: %s", "promoted" if decision.promote else "kept the champion over", version,
             "; ".join(decision.reasons))
    return {"version": version, "promoted": decision.promote, "reasons": list(decision.reasons)}


def reextract_recent(settings: Settings, version: str, days: int) -> dict[str, Any]:
    """Re-extract and load the documents staged in the last `days` days with the new champion.

    With the dictionary extractor chosen on purpose (MEDKB_EXTRACTOR=dictionary) the champion does
    not serve, so there is nothing to re-extract with it: skipped, said in the log and the result.
    """
    from medkb.pipelines.reextract import reextract

    if settings.extractor == "dictionary":
        log.warning("re-extraction skipped: MEDKB_EXTRACTOR=dictionary, so %s does not serve the nightly "
                    "extraction; unset it and run `medkb kb reextract` to bring the graph to the champion", version)
        return {"skipped": "MEDKB_EXTRACTOR=dictionary", "model": version}
    since = (dt.date.today() - dt.timedelta(days=days)).isoformat()
    summary = reextract(settings, since=since, model=version, progress=False)
    return {k: v for k, v in summary.as_dict().items() if isinstance(v, (int, float, str, bool))}

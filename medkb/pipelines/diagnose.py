"""The diagnose pipeline: re-run the rule engine over the cases that a change can affect.

Run by `dags/medkb_diagnose.py` whenever the graph or the cases Asset is updated. Which cases are
affected is the rule engine's business (`medkb.rules.incremental.rerun_changed`, issue 16: cases
whose record changed since their last evaluation, cases touching graph facts that changed, all
cases when the rule set changed); this module only frames it as a recorded pipeline run.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from medkb.pipelines import run_status
from medkb.settings import Settings

log = logging.getLogger(__name__)
KIND = "diagnose"


def begin(settings: Settings, run_id: str, params: dict[str, Any] | None = None) -> str:
    return run_status.start(settings, run_id, KIND, params)


def rerun_changed(settings: Settings, run_id: str) -> dict[str, Any]:
    """Re-evaluate the affected cases only; return the engine's summary as plain numbers."""
    from medkb.rules.incremental import rerun_changed as engine_rerun

    summary = engine_rerun(settings)
    out = _plain(summary)
    log.info("diagnose %s: %s", run_id, {k: v for k, v in out.items() if isinstance(v, (int, float))})
    return out


def finish(settings: Settings, run_id: str, counts: dict[str, Any]) -> dict[str, Any]:
    run_status.finish(settings, run_id, counts)
    return counts


def _plain(summary: Any) -> dict[str, Any]:
    """The engine's summary (a dataclass, a pydantic model or a dict) as JSON-able data for XCom.
    Sequences of case keys are reduced to their length: XCom and asset events carry no case keys."""
    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        data = dataclasses.asdict(summary)
    elif hasattr(summary, "model_dump"):
        data = summary.model_dump()
    else:
        data = dict(summary)
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, (list, tuple, set, frozenset)):
            out[k] = len(v)
        elif isinstance(v, dict):
            out[k] = {kk: (len(vv) if isinstance(vv, (list, tuple, set)) else vv) for kk, vv in v.items()}
        else:
            out[k] = v
    return out


STAGES = (begin, rerun_changed, finish)

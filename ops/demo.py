"""`make demo`: two simulated nights of the pipelines on the sample data, then the diagnoses.

1. the shipped models are imported when the registry has none;
2. night 1: the first slice of the MEDLINE sample and the first half of the synthetic patients
   (and of a few real phenopackets, when `../shared/phenopackets` is there) land in the demo's drop
   folders; `medkb_kb_refresh` and `medkb_records_refresh` run with `dag.test()`;
3. night 2: the next slice and the other half; the same two DAGs again (only the new documents
   are extracted and loaded);
4. `medkb_diagnose` re-evaluates the affected cases;
5. a short summary: documents, assertions, quarantined rows, cases diagnosed, three explanations,
   the commands to open the UI page and to query the graph; then the time of each step.

Task logs go to `.local/demo/logs/<dag>-<night>.log`; the terminal shows one line per task.
Environment from ops/env.sh (the Makefile sources it). MEDKB_DEMO_LIMIT: citations over both
nights (default 1000, taken from the 30,000-citation baseline file; 0 = the whole file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_output import TaskLines, quiet_to  # noqa: E402

from medkb.settings import Settings  # noqa: E402

PHENOPACKETS = Path(os.environ.get("MEDKB_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")) / "phenopackets"
# the strongest facts: most documents first, then the relation model's score
SAMPLE_QUERY = ("MATCH (c:Chemical)-[i:INDUCES]->(d:Disease) RETURN c.name AS chemical, d.name AS disease, "
                "i.docs AS docs, round(i.score, 2) AS score ORDER BY docs DESC, score DESC LIMIT 5")


class Steps:
    """Times each step and prints one line per step; the table at the end goes in the README."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out, self.times = out, []

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        result = fn()
        self.times.append((name, time.monotonic() - t0))
        return result


def main() -> int:
    settings = Settings.from_env()
    limit = int(os.environ.get("MEDKB_DEMO_LIMIT", "1000")) or None
    os.environ.setdefault("MEDKB_DAG_RETRIES", "0")  # a failing task fails the demo at once
    demo = settings.local_dir / "demo"
    logs = demo / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    lines = TaskLines(sys.stdout)
    steps = Steps(lines.say)
    t_start = time.monotonic()

    from medkb.db.migrate import migrate

    steps.run("medkb db migrate", lambda: migrate(settings))  # idempotent; `make demo` ran it already
    steps.run("import shipped models", lambda: lines.say(f"demo: models: {ensure_models(settings)}"))
    lines.say(f"demo: migrating Airflow's metadata database ({os.environ['MEDKB_AIRFLOW_DB']})")
    steps.run("airflow db migrate", lambda: subprocess.run(["airflow", "db", "migrate"], check=True,
                                                            capture_output=True))
    with quiet_to(logs / "dagbag.log"):
        bag = steps.run("parse DAGs", _dagbag)
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"demo: DAG import error in {path}:\n{err}", file=sys.stderr)
        return 1
    lines.install()

    slices = steps.run("prepare the two nights' files", lambda: prepare_nights(settings, demo, limit))
    for night, files in enumerate(slices, start=1):
        deliver(files, demo / "inbox")
        lines.say(f"demo: night {night}: {files['summary']}")
        for dag_id, conf in (("medkb_kb_refresh", kb_conf(demo)), ("medkb_records_refresh", records_conf(demo))):
            ok = steps.run(f"night {night}: {dag_id}", lambda d=dag_id, c=conf, n=night: run_dag(bag, d, c, n, logs, lines))
            if not ok:
                return 1
    if not steps.run("medkb_diagnose", lambda: run_dag(bag, "medkb_diagnose", {}, "after night 2", logs, lines)):
        return 1
    from demo_summary import summary

    steps.run("summary", lambda: lines.say(summary(settings, SAMPLE_QUERY)))
    lines.say(f"\ndemo: done in {time.monotonic() - t_start:.0f} s; step by step:")
    for name, secs in steps.times:
        lines.say(f"  {name:42s} {secs:6.1f} s")
    lines.say(f"task logs: {logs}/")
    return 0


def ensure_models(settings: Settings) -> str:
    """Import the shipped models when the registry has none (issue 11, the lead's release module)."""
    try:
        from medkb.registry.release import ensure_shipped_models
    except ImportError:
        # WIRE-ME (lead): medkb/registry/release.py is not there yet; until it is, the registry is
        # used as it is (its champion, else the dictionary extractor).
        return "medkb.registry.release not available yet: using the registry as it is"
    from medkb.db.postgres import connect

    with connect(settings) as conn:
        versions = ensure_shipped_models(settings, conn)
    return f"imported {', '.join(versions)}" if versions else "the registry already has its models"


def _dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def prepare_nights(settings: Settings, demo: Path, limit: int | None) -> list[dict[str, Any]]:
    """Per night: a MEDLINE slice, half of the patient bundles, half of a few phenopackets."""
    from demo_data import night_files

    return night_files(settings, demo / "nights", limit, PHENOPACKETS)


def deliver(files: dict[str, Any], inbox: Path) -> None:
    """Copy a night's files into the drop folders (what an upstream system would do)."""
    for kind in ("medline", "fhir", "phenopackets"):
        for path in files.get(kind, []):
            target = inbox / kind / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != path.read_bytes():
                shutil.copyfile(path, target)


def kb_conf(demo: Path) -> dict[str, Any]:
    return {"medline_drop_dir": str(demo / "inbox" / "medline")}


def records_conf(demo: Path) -> dict[str, Any]:
    return {"fhir_drop_dir": str(demo / "inbox" / "fhir"), "phenopacket_drop_dir": str(demo / "inbox" / "phenopackets")}


def run_dag(bag: Any, dag_id: str, conf: dict[str, Any], night: Any, logs: Path, lines: TaskLines) -> bool:
    """dag.test() with its logs in a file; the terminal gets one line per task and one per run."""
    label = night if isinstance(night, str) else f"night {night}"
    log_file = logs / f"{dag_id}-{str(label).replace(' ', '-')}.log"
    lines.begin(f"{dag_id} ({label})")
    t0 = time.monotonic()
    with quiet_to(log_file):
        dr = bag.get_dag(dag_id).test(run_conf=conf)
    state = str(getattr(dr, "state", "unknown"))
    lines.end(f"{dag_id} ({label}): {state.split('.')[-1]} in {time.monotonic() - t0:.0f} s"
              + ("" if "success" in state else f"; see {log_file}"))
    return "success" in state


if __name__ == "__main__":
    sys.exit(main())

"""Parse time of each DAG file, as a fresh DAG-processor child pays it, and what heavy modules it imports.

Airflow is imported once (the processor has it already); before each file, every `medkb` and
plugin module is evicted so that each file pays for its own imports. Prints one line per file;
`--json` prints one JSON object {file: {"seconds": s, "heavy": [modules]}} instead.

    python bench/dag_parse.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "spacy", "scispacy", "great_expectations", "neo4j", "pandas", "sklearn",
         "medkb.nlp", "medkb.kb", "medkb.training", "medkb.validation", "medkb.rules", "medkb.registry")


def measure(dags: Path = ROOT / "dags") -> dict[str, dict]:
    from airflow.dag_processing.dagbag import DagBag

    out: dict[str, dict] = {}
    for path in sorted(dags.glob("*.py")):
        for name in [m for m in sys.modules if m == "medkb" or m.startswith(("medkb.", "medkb_"))]:
            del sys.modules[name]
        before = set(sys.modules)
        t0 = time.perf_counter()
        bag = DagBag(dag_folder=str(path))
        secs = time.perf_counter() - t0
        new = set(sys.modules) - before
        heavy = sorted(m for m in new if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY)))
        out[path.name] = {"seconds": round(secs, 3), "heavy": heavy, "dags": sorted(bag.dag_ids),
                          "errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()}}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = measure()
    if args.json:
        print(json.dumps(result))
        return 0
    print("DAG parse time per file (airflow loaded, medkb modules evicted before each file):")
    for name, r in result.items():
        flag = f"  heavy imports: {', '.join(r['heavy'][:6])}" if r["heavy"] else ""
        print(f"  {name:28s} {r['seconds'] * 1000:7.0f} ms  {','.join(r['dags'])}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

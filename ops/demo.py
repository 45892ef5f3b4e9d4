"""`make demo`: run the nightly refresh DAG end to end with dag.test() and show what landed.

Environment from ops/env.sh (the Makefile sources it). MEDKB_DEMO_LIMIT caps the citations taken
from the sample baseline file (default 1000; 0 = the whole file).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

from medkb.db.postgres import connect, fetch_all
from medkb.kb.client import GraphClient
from medkb.settings import Settings

SAMPLE_QUERY = """MATCH (c:Chemical)-[i:INDUCES]->(d:Disease)
RETURN c.name AS chemical, d.name AS disease, i.docs AS docs, i.score AS score
ORDER BY docs DESC, score DESC LIMIT 5"""


def main() -> int:
    limit = int(os.environ.get("MEDKB_DEMO_LIMIT", "1000")) or None
    os.environ.setdefault("MEDKB_DAG_RETRIES", "0")  # a failing task fails the demo at once
    print(f"demo: migrating Airflow's metadata database ({os.environ['MEDKB_AIRFLOW_DB']})", flush=True)
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"demo: DAG import error in {path}:\n{err}", file=sys.stderr)
        return 1
    dag = bag.get_dag("medkb_kb_refresh")
    print(f"demo: running DAG medkb_kb_refresh with dag.test() (limit={limit or 'none'})", flush=True)
    logging.getLogger("airflow").setLevel(logging.WARNING)
    t0 = time.monotonic()
    dr = dag.test(run_conf={"limit": limit})
    took = time.monotonic() - t0
    state = str(getattr(dr, "state", "unknown"))
    print(f"demo: DAG run {dr.run_id} finished {state} in {took:.0f} s")
    if "success" not in state:
        return 1
    return report(Settings.from_env(), dr.run_id)


def report(settings: Settings, run_id: str) -> int:
    with connect(settings) as conn:
        states = fetch_all(conn, "SELECT state, count(*) AS n FROM staged_documents GROUP BY state ORDER BY state")
        run = fetch_all(conn, "SELECT status, counts FROM pipeline_runs WHERE run_id = %s", (run_id,))
    with GraphClient(settings.neo4j) as graph:
        labels = graph.read("MATCH (n) UNWIND labels(n) AS l RETURN l AS label, count(*) AS n ORDER BY l")
        rels = graph.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type")
        sample = graph.read(SAMPLE_QUERY)
    print("\nPostgres staged_documents by state: " + ", ".join(f"{r['state']}={r['n']}" for r in states))
    if run:
        print(f"run {run_id}: {run[0]['status']} {run[0]['counts']}")
    print("Neo4j nodes: " + ", ".join(f"{r['label']}={r['n']}" for r in labels))
    print("Neo4j relationships: " + (", ".join(f"{r['type']}={r['n']}" for r in rels) or "none"))
    print("\nA query to paste (Neo4j Browser http://127.0.0.1:7474, or `medkb cypher '…'`):\n")
    print(SAMPLE_QUERY + "\n")
    for row in sample:
        print(f"  {row['chemical']} -> {row['disease']}  (docs={row['docs']}, score={row['score']:.2f})")
    if not sample:
        print("  (no INDUCES edges yet: the slice was too small to find any)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

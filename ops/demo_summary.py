"""The demo's closing summary: what the two nights left in the stores, and where to look next."""

from __future__ import annotations

import logging
import os
from typing import Any

from medkb.db.postgres import connect, fetch_all
from medkb.kb.client import GraphClient
from medkb.settings import Settings


def _table_exists(conn: Any, name: str) -> bool:
    return bool(fetch_all(conn, "SELECT to_regclass(%s) IS NOT NULL AS ok", (name,))[0]["ok"])


def summary(settings: Settings, sample_query: str) -> str:
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)  # "label does not exist yet" on a small graph
    out: list[str] = ["", "MedKB demo summary"]
    with connect(settings) as conn:
        states = fetch_all(conn, "SELECT state, count(*) AS n FROM staged_documents GROUP BY state ORDER BY state")
        quarantined = fetch_all(conn, "SELECT stage, count(*) AS n FROM quarantine GROUP BY stage ORDER BY stage")
        cases = fetch_all(conn, "SELECT source, count(*) AS n FROM staged_cases GROUP BY source ORDER BY source")
        runs = fetch_all(conn, "SELECT kind, status, count(*) AS n FROM pipeline_runs GROUP BY kind, status "
                               "ORDER BY kind, status")
        diagnosed, explanations = _diagnoses(conn)
    with GraphClient(settings.neo4j) as graph:
        docs = graph.read("MATCH (d:Document) RETURN count(d) AS n")[0]["n"]
        assertions = graph.read("MATCH (a:Assertion) RETURN count(a) AS n")[0]["n"]
        evidence = graph.read("MATCH (:Assertion)-[e:EVIDENCE]->(:Document) RETURN count(e) AS n")[0]["n"]
        induces = graph.read(sample_query)
    out.append(f"  documents      {docs} in the graph; staged by state: "
               + ", ".join(f"{r['state']}={r['n']}" for r in states))
    out.append(f"  assertions     {assertions} (with {evidence} evidence links)")
    out.append("  quarantined    " + (", ".join(f"{r['stage']}={r['n']}" for r in quarantined) or "none"))
    out.append("  cases          " + (", ".join(f"{r['source']}={r['n']}" for r in cases) or "none")
               + f"; diagnosed: {diagnosed}")
    out.append("  pipeline runs  " + ", ".join(f"{r['kind']} {r['status']}={r['n']}" for r in runs))
    out.append("  top chemical -> disease edges:")
    out.extend(f"    {r['chemical']} -> {r['disease']} (docs={r['docs']}"
               + (f", score={r['score']})" if r.get("score") is not None else ")") for r in induces)
    if not induces:
        out.append("    (none yet: the slices were too small)")
    out.append("  example explanations:")
    out.extend(f"    - {e}" for e in explanations) if explanations else out.append("    (none available)")
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    out += [
        "",
        "Next:",
        f"  make airflow, then open http://127.0.0.1:{port}/plugin/medkb (user admin, password "
        "$MEDKB_AIRFLOW_ADMIN_PASSWORD) for the MedKB page, the DAGs and their Assets",
        "  query the graph:  medkb cypher \"" + sample_query + "\"",
        f"  or Neo4j Browser http://127.0.0.1:{os.environ.get('MEDKB_NEO4J_HTTP_PORT', '7474')}",
        "  a case's suggestions with their reasons:  medkb diagnose CASE --explain",
    ]
    return "\n".join(out)


def _diagnoses(conn: Any) -> tuple[str, list[str]]:
    """Cases diagnosed and three rendered explanations, from the rule engine's results (issue 16).
    The text names the rule, the facts and the evidence; case keys are pseudonyms, shown shortened."""
    if not _table_exists(conn, "diagnosis_evaluations"):
        return "(the rule engine's results table is not there: run `medkb db migrate`)", []
    n = fetch_all(conn, "SELECT count(*) AS n FROM diagnosis_evaluations")[0]["n"]
    with_s = fetch_all(conn, "SELECT count(DISTINCT (source, case_key)) AS n FROM diagnosis_suggestions")[0]["n"]
    rows = fetch_all(conn, """SELECT DISTINCT ON (kind) kind, name, text FROM diagnosis_suggestions
                              ORDER BY kind, score DESC NULLS LAST, name LIMIT 3""")
    if len(rows) < 3:  # one of each kind first, then rule explanations (the ranking's are term lists)
        more = fetch_all(conn, "SELECT kind, name, text FROM diagnosis_suggestions "
                               "ORDER BY kind = 'phenotype_ranking', score DESC NULLS LAST, name LIMIT 50")
        for r in more:
            if len(rows) < 3 and r["name"] not in {x["name"] for x in rows}:
                rows.append(r)
    return f"{n} evaluated, {with_s} with suggestions", [f"[{r['kind']}] {r['name']}: {' '.join(r['text'].split())[:300]}"
                                                         for r in rows]

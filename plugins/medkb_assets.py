"""The Assets that chain MedKB's DAGs: who publishes what, who waits on what.

One definition per store so that a producer's `outlets=` and a consumer's `schedule=` name the same
object. The URIs are identifiers, not addresses (nothing connects to them).

| Asset      | published by                                   | consumed by      |
|------------|------------------------------------------------|------------------|
| GRAPH      | medkb_kb_refresh (load_graph), medkb_ontology_sync | medkb_diagnose |
| CASES      | medkb_records_refresh (finish)                 | medkb_diagnose   |
| MODEL      | medkb_model_refine (promote)                   | (the UI, people) |
| DIAGNOSES  | medkb_diagnose (rerun_changed)                 | (the UI, people) |

Each event carries the run's counts in its `extra` (no patient data: counts and versions only).
"""

from __future__ import annotations

from airflow.sdk import Asset

GRAPH = Asset(uri="medkb://neo4j/knowledge-graph", name="medkb_graph", group="medkb")
CASES = Asset(uri="medkb://postgres/cases", name="medkb_cases", group="medkb")
MODEL = Asset(uri="medkb://registry/ner-champion", name="medkb_model", group="medkb")
DIAGNOSES = Asset(uri="medkb://postgres/diagnoses", name="medkb_diagnoses", group="medkb")

ALL = (GRAPH, CASES, MODEL, DIAGNOSES)

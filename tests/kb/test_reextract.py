"""Re-extraction end to end against the real Postgres and Neo4j: the graph built with model A, then
re-extracted with model B (tests/kb/reextract_fixtures.py), holds what a graph built with B alone
holds, keeps A's evidence as superseded history, rolls back exactly, survives a SIGKILL, and a
later night reads nothing of A's again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from medkb.db.postgres import fetch_all
from medkb.kb.analyst import run_named
from medkb.kb.dump import canonical_dump
from medkb.nlp.store import read_extractions
from medkb.pipelines import kb_refresh
from medkb.pipelines.reextract import ReextractError, documents_to_reextract, reextract, rollback, serves
from medkb.vocabulary import doc_id

from .reextract_fixtures import LITHIUM, STRAINS, SUMMARY_EDGES, TREMOR, extractor, stage, staged_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AS_OF_B = "2026-11-20"


def night(settings, monkeypatch, model: str, run_id: str) -> None:
    """The night's own extract and load stages, with the serving extractor replaced by `model`'s."""
    ex = extractor(model)
    monkeypatch.setattr("medkb.nlp.serving.build_extractor", lambda *a, **k: ex)
    monkeypatch.setattr("medkb.pipelines.kb_extraction._EXTRACTORS", {})  # the per-process cache
    kb_refresh.extract_literature(settings, run_id)
    kb_refresh.load_graph(settings, run_id)


def b_run(settings, **kw):
    return reextract(settings, extractor=extractor("B"), as_of=AS_OF_B, batch_size=4, progress=False, **kw)


def _clear(pg, graph) -> None:
    with pg.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")
        cur.execute("TRUNCATE " + ", ".join(f'"{r[0]}"' for r in cur.fetchall()) + " CASCADE")
    pg.commit()
    graph.write_autocommit("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS")
    graph.write_autocommit("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS")


def _pg_models(pg) -> dict[str, set[str]]:
    rows = fetch_all(pg, """SELECT model, superseded_by_run AS by FROM extracted_mentions
                            UNION ALL SELECT model, superseded_by_run FROM extracted_assertions""")
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["model"], set()).add(r["by"])
    return out


def test_reextraction_supersedes_a_keeps_its_history_and_rolls_back_exactly(pg, graph, settings, monkeypatch):
    stage(pg, staged_rows(12))
    night(settings, monkeypatch, "A", "night-A")
    after_a = canonical_dump(graph)
    assert any(r["o"] == STRAINS for r in graph.read(SUMMARY_EDGES))  # A's "rat strain" facts

    summary = b_run(settings, run_id="R")
    assert (summary.documents, summary.superseded_documents, summary.batches) == (12, 12, 3)
    edges = graph.read(SUMMARY_EDGES)
    assert edges and not any(r["o"] == STRAINS for r in edges)
    assert {tuple(r["props"]["models"]) for r in edges} == {("dict-B",)}
    # A's evidence and mentions are all still there, every one superseded by R with B
    a_rels = graph.read("MATCH ()-[e:EVIDENCE|MENTIONS {model: 'dict-A'}]->() "
                        "RETURN e.superseded_by_run AS run, e.superseded_by_model AS by, e.superseded_at AS at")
    assert a_rels and {(r["run"], r["by"], r["at"]) for r in a_rels} == {("R", "dict-B", AS_OF_B)}
    history = run_named(graph, "fact_history", {"subject": LITHIUM, "object": STRAINS})
    assert history and {(h["model"], h["status"], h["superseded_by_run"]) for h in history} == {
        ("dict-A", "superseded", "R")}
    assert all("strain" in h["sentence"] for h in history)
    both = run_named(graph, "fact_history", {"subject": LITHIUM, "object": TREMOR})
    assert {(h["model"], h["status"]) for h in both} == {("dict-A", "superseded"), ("dict-B", "current")}
    assert _pg_models(pg) == {"dict-A": {"R"}, "dict-B": {None}}
    with pytest.raises(ReextractError, match="not the serving model"):
        reextract(settings, model="dict-C", extractor=extractor("B"), progress=False)

    counts = rollback(settings, "R")
    assert canonical_dump(graph) == after_a
    assert counts["pg_restored_documents"] == 12
    assert _pg_models(pg) == {"dict-A": {None}}
    assert fetch_all(pg, "SELECT status FROM pipeline_runs WHERE run_id = 'R'") == [{"status": "failed"}]


def test_the_summary_edges_equal_a_graph_built_with_b_alone(pg, graph, settings, monkeypatch):
    stage(pg, staged_rows(12))
    night(settings, monkeypatch, "A", "night-A")
    b_run(settings, run_id="R")
    after_a_then_b = graph.read(SUMMARY_EDGES)

    _clear(pg, graph)
    stage(pg, staged_rows(12), state="loaded")  # in the graph's past, never extracted: B alone builds it
    b_run(settings, run_id="R")
    assert graph.read(SUMMARY_EDGES) == after_a_then_b
    assert graph.read("MATCH ()-[e:EVIDENCE]->() WHERE e.model <> 'dict-B' RETURN e") == []


_KILLABLE = """
import time
from medkb.pipelines.reextract import reextract
from medkb.settings import Settings
from tests.kb.reextract_fixtures import extractor
reextract(Settings.from_env(), extractor=extractor("B"), run_id="R", as_of="2026-11-20", batch_size=2,
          progress=False, on_batch=lambda n: (print("batch", flush=True), time.sleep(0.3)))
"""


def test_a_reextraction_killed_halfway_and_run_again_equals_an_uninterrupted_one(pg, graph, settings, monkeypatch):
    stage(pg, staged_rows(12))
    night(settings, monkeypatch, "A", "night-A")
    reextract(settings, extractor=extractor("B"), run_id="R", as_of=AS_OF_B, batch_size=2, progress=False)
    expected = canonical_dump(graph)

    _clear(pg, graph)
    stage(pg, staged_rows(12))
    night(settings, monkeypatch, "A", "night-A")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE], cwd=root, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.stdout is not None
    for _ in range(2):
        assert proc.stdout.readline().startswith("batch"), "the re-extraction died before two batches"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = documents_to_reextract(pg, "dict-B")
    assert 0 < len(left) <= 8  # two batches of two done, perhaps a third
    assert canonical_dump(graph) != expected

    # run again without naming the run: the unfinished one is found and resumed, as of its own day
    again = reextract(settings, extractor=extractor("B"), batch_size=2, progress=False)
    assert (again.run_id, again.as_of, again.resumed, again.documents) == ("R", AS_OF_B, True, len(left))
    assert canonical_dump(graph) == expected
    assert documents_to_reextract(pg, "dict-B") == []


def test_a_night_after_the_reextraction_loads_nothing_from_as_rows(pg, graph, settings, monkeypatch):
    rows = staged_rows(12)
    stage(pg, rows)
    night(settings, monkeypatch, "A", "night-A")
    b_run(settings, run_id="R")
    before = graph.read(SUMMARY_EDGES)

    # the next night loads these documents again (as after a re-staging) plus one new document
    with pg.cursor() as cur:
        cur.execute("UPDATE staged_documents SET state = 'extracted'")
    pg.commit()
    mentions, assertions = read_extractions(pg, doc_ids=[doc_id(r["source_key"]) for r in rows])
    assert {m.model for m in mentions} | {a.model for a in assertions} == {"dict-B"}
    kb_refresh.load_graph(settings, "night-2")
    assert graph.read(SUMMARY_EDGES) == before
    current = graph.read("MATCH ()-[e:EVIDENCE|MENTIONS]->() WHERE e.superseded_by_run IS NULL "
                         "RETURN DISTINCT e.model AS model")
    assert current == [{"model": "dict-B"}]
    assert {r["run"] for r in graph.read("MATCH ()-[e:EVIDENCE|MENTIONS {model: 'dict-A'}]->() "
                                         "RETURN DISTINCT e.superseded_by_run AS run")} == {"R"}

    stage(pg, staged_rows(1, first_pmid=2000))  # a new citation, extracted by the serving model B
    night(settings, monkeypatch, "B", "night-3")
    assert graph.read("MATCH ()-[e:EVIDENCE|MENTIONS {model: 'dict-A'}]->() WHERE e.superseded_by_run IS NULL "
                      "RETURN e") == []
    (lith,) = [r for r in graph.read(SUMMARY_EDGES) if (r["s"], r["o"]) == (LITHIUM, TREMOR)]
    assert lith["props"]["docs"] == 1 + next(r for r in before if (r["s"], r["o"]) == (LITHIUM, TREMOR))["props"]["docs"]


def test_the_ner_champion_names_a_serving_model_that_pairs_it_with_a_relation_champion():
    assert serves("ner-20261201-2+re-20261201-1", "ner-20261201-2")  # what the refinement DAG passes
    assert serves("ner-20261201-2+re-20261201-1", "ner-20261201-2+re-20261201-1")
    assert serves("dict-B", "dict-B")
    assert not serves("ner-20261201-2+re-20261201-1", "ner-20261201-1")
    assert not serves("ner-20261201-2+re-20261201-1", "re-20261201-1")
    assert not serves("ner-20261201-2", "ner-20261201-2+re-20261201-1")

"""The loader against the real Neo4j: idempotence, re-extraction, derived edges, interrupted loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from medkb.kb.dump import canonical_dump
from medkb.kb.loader import evidence_key, load_extractions

from .factories import assertion, input_a, input_b, mention

pytestmark = pytest.mark.integration


def test_load_twice_leaves_the_graph_identical(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    first = canonical_dump(graph)
    load_extractions(graph, *input_a(), "A2", as_of="2026-11-05")
    assert canonical_dump(graph) == first
    assert first["relationships"]["EVIDENCE"] == 3


def test_summary_edge_follows_the_evidence(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    rows = graph.read(
        "MATCH (c:Chemical)-[i:INDUCES]->(d:Disease) RETURN c.id AS c, d.id AS d, properties(i) AS p ORDER BY c"
    )
    by_chem = {r["c"]: r["p"] for r in rows}
    assert by_chem["MESH:D008094"]["docs"] == 2  # lithium -> tremor in PMID:1 and PMID:2
    assert by_chem["MESH:D008094"]["score"] == pytest.approx(0.9)
    assert by_chem["MESH:D006220"]["docs"] == 1
    assert by_chem["MESH:D008094"]["first_seen"] == "2026-11-01"
    assert by_chem["MESH:D008094"]["runs"] == ["A"]


def test_every_write_records_its_run(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, *input_b(), "B", as_of="2026-11-02")
    assert graph.read("MATCH (n:Assertion|Document|Concept) WHERE n.created_run IS NULL RETURN count(n) AS n")[0]["n"] == 0
    assert graph.read("MATCH ()-[r:EVIDENCE|MENTIONS|SUBJECT|OBJECT]->() WHERE r.run IS NULL RETURN count(r) AS n")[0]["n"] == 0
    run = graph.read("MATCH (r:Run {id: 'B'}) RETURN r.status AS status, r.loaded_evidence AS ev")[0]
    assert run == {"status": "loaded", "ev": 3}


def test_reextraction_replaces_a_documents_evidence(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, *input_b(), "B", as_of="2026-11-02")
    # PMID:2 no longer supports haloperidol -> tremor: the assertion and its summary edge are gone
    assert graph.read("MATCH (a:Assertion {id: 'MESH:D006220|INDUCES|MESH:D014202'}) RETURN a") == []
    assert graph.read("MATCH (:Chemical {id: 'MESH:D006220'})-[i:INDUCES]->() RETURN i") == []
    score = graph.read("MATCH (:Assertion)-[e:EVIDENCE]->(:Document {id: 'PMID:2'}) RETURN e.score AS s")
    assert [r["s"] for r in score] == [pytest.approx(0.95)]
    treats = graph.read("MATCH (:Chemical {id: 'MESH:D002220'})-[t:TREATS]->(d) RETURN d.id AS d, t.docs AS n")
    assert treats == [{"d": "MESH:D014202", "n": 1}]


def test_an_interrupted_load_rerun_equals_an_uninterrupted_one(graph):
    mentions = [mention(f"PMID:{100 + i}", 0, f"MESH:C{i % 7:06d}") for i in range(60)]
    assertions = [
        assertion(f"PMID:{100 + i}", f"MESH:C{i % 7:06d}", f"MESH:D{i % 5:06d}", start=0, score=0.5 + i / 200)
        for i in range(60)
    ]
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, mentions, assertions, "B", as_of="2026-11-02", batch_size=10)
    expected = canonical_dump(graph)

    graph.write_autocommit("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    batches = []

    def die_after_two(rows: int) -> None:
        batches.append(rows)
        if len(batches) == 2:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        load_extractions(graph, mentions, assertions, "B", as_of="2026-11-02", batch_size=10, on_batch=die_after_two)
    assert canonical_dump(graph) != expected  # half-loaded
    load_extractions(graph, mentions, assertions, "B", as_of="2026-11-02", batch_size=10)
    assert canonical_dump(graph) == expected


def test_concurrent_batches_give_the_same_graph_as_one_at_a_time(graph):
    """Batches run `workers` transactions at once; shared (hot) assertions must neither deadlock nor
    change the result. Documents are new in B and old in C, so both statement paths run."""
    rows = [assertion(f"PMID:{700 + i // 4}", f"MESH:C{i % 3:06d}", f"MESH:D{i % 2:06d}", start=i % 4 * 40,
                      score=0.5 + (i % 7) / 20) for i in range(400)]
    mentions = [mention(f"PMID:{700 + i // 4}", i % 4 * 40, f"MESH:C{i % 3:06d}") for i in range(400)]
    revised = [r for i, r in enumerate(rows) if i % 5] + [assertion("PMID:700", "MESH:C000009", "MESH:D000001")]
    dumps = []
    for workers in (1, 4):
        graph.write_autocommit("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        load_extractions(graph, mentions, rows, "B", as_of="2026-11-02", batch_size=8, workers=workers)
        load_extractions(graph, mentions[::2], revised, "C", as_of="2026-11-03", batch_size=8, workers=workers)
        dumps.append(canonical_dump(graph))
    assert dumps[0] == dumps[1]
    assert dumps[0]["relationships"]["EVIDENCE"] == len(revised)


def test_evidence_key_is_the_extraction_primary_key():
    a = assertion("PMID:1", "MESH:D1", "MESH:D2", start=12)
    assert evidence_key(a) == "MESH:D1|INDUCES|MESH:D2|PMID:1|12|ner-test-1"


_KILLABLE = """
import sys
from medkb.kb.client import GraphClient
from medkb.kb.loader import load_extractions
from medkb.settings import Settings
from tests.kb.factories import assertion
rows = [assertion(f"PMID:{500 + i // 3}", f"MESH:C{i % 11:06d}", f"MESH:D{i % 13:06d}", start=i % 3 * 50)
        for i in range(3000)]
with GraphClient(Settings.from_env().neo4j) as g:
    load_extractions(g, [], rows, "K", as_of="2026-11-03", batch_size=30,
                     on_batch=lambda n: (print("batch", flush=True), __import__("time").sleep(0.05)))
"""


def test_a_loader_killed_mid_run_then_rerun_equals_an_uninterrupted_run(graph, tmp_path):
    """SIGKILL a loader process after a few committed batches; the re-run converges."""
    rows = [assertion(f"PMID:{500 + i // 3}", f"MESH:C{i % 11:06d}", f"MESH:D{i % 13:06d}", start=i % 3 * 50)
            for i in range(3000)]
    load_extractions(graph, [], rows, "K", as_of="2026-11-03", batch_size=30)
    expected = canonical_dump(graph)
    graph.write_autocommit("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE], cwd=root, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.stdout is not None
    for _ in range(5):
        assert proc.stdout.readline().startswith("batch"), "the loader died before committing five batches"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    half = graph.read("MATCH ()-[e:EVIDENCE]->() RETURN count(e) AS n")[0]["n"]
    assert 0 < half < 3000
    load_extractions(graph, [], rows, "K", as_of="2026-11-03", batch_size=30)
    assert canonical_dump(graph) == expected


def test_bad_records_are_named_and_the_rest_goes_on(graph, caplog):
    bad_mention = mention("PMID:1", 90, "tremor without prefix", "Disease")
    bad_assertion = assertion("PMID:1", "lithium", "MESH:D014202", 100)
    mentions, assertions = input_a()
    counts = load_extractions(graph, [*mentions, bad_mention], [*assertions, bad_assertion], "A", as_of="2026-11-01")
    assert counts["rejected"] == 2 and counts["evidence"] == 3
    assert "mention PMID:1:90-95" in caplog.text and "assertion lithium|INDUCES|MESH:D014202" in caplog.text
    assert graph.read("MATCH (c:Concept) WHERE NOT c.id CONTAINS ':' RETURN c") == []

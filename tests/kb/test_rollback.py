"""`rollback RUN` restores the graph exactly as it was before the run."""

from __future__ import annotations

import pytest

from medkb.kb.documents import merge_documents
from medkb.kb.dump import canonical_dump
from medkb.kb.loader import load_extractions
from medkb.kb.retraction import retract_documents
from medkb.kb.rollback import RollbackError, rollback_run

from .factories import input_a, input_b

pytestmark = pytest.mark.integration


def _staged(pmid: str, version: int, title: str) -> dict:
    return {"source_key": pmid, "title": title, "pub_year": 2020, "journal": "J", "version": version,
            "content_hash": f"{pmid}-{version}-{title}"}


def test_load_a_load_b_rollback_b_equals_a(graph):
    merge_documents(graph, [_staged("1", 1, "one"), _staged("2", 1, "two")], "A")
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    after_a = canonical_dump(graph)
    merge_documents(graph, [_staged("2", 2, "two, revised"), _staged("3", 1, "three")], "B")
    load_extractions(graph, *input_b(), "B", as_of="2026-11-02")
    assert canonical_dump(graph) != after_a
    counts = rollback_run(graph, "B")
    assert canonical_dump(graph) == after_a
    assert counts["change_records"] > 0
    assert graph.read("MATCH (c:Change) RETURN count(c) AS n")[0]["n"] == 0
    assert graph.read("MATCH (r:Run {id: 'B'}) RETURN r.status AS s") == [{"s": "rolled_back"}]
    # rolling back again changes nothing
    rollback_run(graph, "B")
    assert canonical_dump(graph) == after_a


def test_rolling_back_a_retraction_restores_the_evidence(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    before = canonical_dump(graph)
    retract_documents(graph, ["PMID:2"], "R")
    assert canonical_dump(graph) != before
    rollback_run(graph, "R")
    assert canonical_dump(graph) == before


def test_rollback_of_an_unknown_run_says_what_to_do(graph):
    with pytest.raises(RollbackError, match="not in the graph; `medkb query runs`"):
        rollback_run(graph, "no-such-run")


def test_a_run_that_a_later_run_built_on_is_refused_until_that_run_is_rolled_back(graph, capsys):
    from medkb.cli import main
    from medkb.kb.rollback import dependent_runs

    empty = canonical_dump(graph)
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    after_a = canonical_dump(graph)
    load_extractions(graph, *input_b(), "B", as_of="2026-11-02")  # adds evidence to A's assertions
    assert dependent_runs(graph, "A") == ["B"]
    assert dependent_runs(graph, "B") == []
    with pytest.raises(RollbackError, match=r"run\(s\) B added to or changed what it created; roll it back first"):
        rollback_run(graph, "A")
    assert main(["kb", "rollback", "A"]) != 0
    assert "roll it back first" in capsys.readouterr().err
    rollback_run(graph, "B")
    assert canonical_dump(graph) == after_a
    assert dependent_runs(graph, "A") == []  # B is rolled back: no longer a dependent
    rollback_run(graph, "A")
    assert canonical_dump(graph) == empty


def test_force_rolls_back_out_of_order(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, *input_b(), "B", as_of="2026-11-02")
    rollback_run(graph, "A", force=True)
    assert graph.read("MATCH (r:Run {id: 'A'}) RETURN r.status AS s") == [{"s": "rolled_back"}]
    assert graph.read("MATCH (n:Assertion|Document|Concept {created_run: 'A'}) RETURN count(n) AS n")[0]["n"] == 0

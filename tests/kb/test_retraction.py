"""Retracted citations lose their evidence; summaries follow; empty assertions go."""

from __future__ import annotations

import pytest

from medkb.kb.dump import canonical_dump
from medkb.kb.loader import load_extractions
from medkb.kb.retraction import retract_documents

from .factories import input_a

pytestmark = pytest.mark.integration


def test_retraction_removes_evidence_and_recomputes(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    counts = retract_documents(graph, ["PMID:2"], "R")
    assert counts["relationships_removed"] == 5  # 2 evidence + 3 mention edges
    assert graph.read("MATCH (d:Document {id: 'PMID:2'}) RETURN d.retracted AS r") == [{"r": True}]
    assert graph.read("MATCH ()-[r:EVIDENCE|MENTIONS]-(:Document {id: 'PMID:2'}) RETURN r") == []
    # haloperidol -> tremor had only PMID:2: the assertion and the summary edge are gone
    assert graph.read("MATCH (a:Assertion {id: 'MESH:D006220|INDUCES|MESH:D014202'}) RETURN a") == []
    assert graph.read("MATCH (:Chemical {id: 'MESH:D006220'})-[i:INDUCES]->() RETURN i") == []
    # lithium -> tremor keeps PMID:1 only
    assert graph.read("MATCH (:Chemical {id: 'MESH:D008094'})-[i:INDUCES]->() RETURN i.docs AS n") == [{"n": 1}]


def test_retraction_is_idempotent(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    retract_documents(graph, ["PMID:2"], "R")
    once = canonical_dump(graph)
    again = retract_documents(graph, ["PMID:2"], "R2")
    assert again["relationships_removed"] == 0
    assert canonical_dump(graph) == once


def test_a_new_version_of_a_retracted_citation_is_live_again(graph):
    from medkb.kb.documents import merge_documents
    from medkb.kb.retraction import retract_documents

    def staged(version: int, title: str) -> dict:
        return {"source_key": "77", "title": title, "pub_year": 2021, "journal": "J", "version": version,
                "content_hash": f"77-{version}"}

    merge_documents(graph, [staged(1, "first")], "A")
    retract_documents(graph, ["PMID:77"], "R")
    assert graph.read("MATCH (d:Document {id: 'PMID:77'}) RETURN d.retracted AS r") == [{"r": True}]
    merge_documents(graph, [staged(1, "first")], "R2")  # the same content again: still retracted
    assert graph.read("MATCH (d:Document {id: 'PMID:77'}) RETURN d.retracted AS r") == [{"r": True}]
    merge_documents(graph, [staged(2, "second")], "C")
    assert graph.read("MATCH (d:Document {id: 'PMID:77'}) RETURN d.retracted AS r, d.version AS v") == [{"r": None, "v": 2}]

"""The ontology sync reports what a re-seed added and pruned."""

from __future__ import annotations

import pytest

from medkb.pipelines import ontology_sync
from medkb.pipelines.ontology_sync import Snapshot, diff


def test_diff_counts_added_removed_and_pruned_with_examples():
    before = Snapshot({"Phenotype": frozenset({"HP:1", "HP:2"}), "Disease": frozenset({"OMIM:1"})},
                      {"IS_A": frozenset({1, 2, 3}), "XREF": frozenset({9})})
    after = Snapshot({"Phenotype": frozenset({"HP:1", "HP:2", "HP:3", "HP:4"}), "Disease": frozenset()},
                     {"IS_A": frozenset({1, 2, 4, 5}), "HAS_PHENOTYPE": frozenset({7})})
    report = diff(before, after)
    assert report["concepts_added"] == {"Phenotype": 2}
    assert report["examples_added"] == {"Phenotype": ["HP:3", "HP:4"]}
    assert report["concepts_removed"] == {"Disease": 1}
    assert report["edges_added"] == {"HAS_PHENOTYPE": 1, "IS_A": 2}
    assert report["edges_pruned"] == {"IS_A": 1, "XREF": 1}
    assert report["totals"] == {"concepts_added": 2, "concepts_removed": 1, "edges_added": 3, "edges_pruned": 2}


@pytest.mark.integration
def test_a_larger_release_reports_the_new_terms_and_a_rerun_reports_nothing(pg, graph, settings):
    ontology_sync.begin(settings, "sync-1", {})
    first = ontology_sync.sync(settings, "sync-1", ["hpo"], limit=20)
    assert first["concepts_added"]["Phenotype"] == 20 and first["complete"] is False
    grown = ontology_sync.sync(settings, "sync-1", ["hpo"], limit=40)
    assert grown["concepts_added"]["Phenotype"] == 20
    assert len(grown["examples_added"]["Phenotype"]) == ontology_sync.EXAMPLES
    assert grown["totals"]["edges_pruned"] == 0  # a subset never prunes
    again = ontology_sync.sync(settings, "sync-1", ["hpo"], limit=40)
    assert again["totals"] == {"concepts_added": 0, "concepts_removed": 0, "edges_added": 0, "edges_pruned": 0}
    ontology_sync.finish(settings, "sync-1", again)

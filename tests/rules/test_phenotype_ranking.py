"""Phenotype ranking on a tiny HPO (tests/fixtures/phenotype_ranking): the model's behaviour, the
agreement of the vectorised score with the per-disease explanation, the own-PMID protocol, and
the index read from a real (test) Neo4j seeded by the project's own seeder, cached per graph state."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from medkb.rules.phenotype_index import build_index, inputs_from_files, load_index, parse_frequency
from medkb.rules.ranking import (
    RankedDisease,
    RankingParams,
    rank_case,
    rank_of,
    resolve_terms,
    score_terms,
)
from medkb.sources.hpo_ids import read_hpo_id_map
from medkb.sources.ontologies import read_hpoa, read_obo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "phenotype_ranking"
FILES = {"hp.obo": FIXTURES / "hp.obo", "phenotype.hpoa": FIXTURES / "phenotype.hpoa"}


@pytest.fixture(scope="module")
def index():
    replaced = read_hpo_id_map(FILES["hp.obo"]).replaced
    return build_index(inputs_from_files(read_obo(FILES["hp.obo"]), read_hpoa(FILES["phenotype.hpoa"]), replaced))


def _ids(ranked: list[RankedDisease]) -> list[str]:
    return [r.disease_id for r in ranked]


def test_only_omim_phenotype_annotations_are_indexed(index):
    assert index.disease_ids == ["OMIM:100001", "OMIM:100002", "OMIM:100003", "OMIM:100004"]
    # the inheritance row (aspect I) is not a phenotype annotation
    assert "HP:0000006" not in {index.term_ids[t] for terms in index.ann_terms for t in terms}


@pytest.mark.parametrize("text,expected", [("HP:0040280", 1.0), ("HP:0040283", 0.17), ("3/10", 0.3),
                                           ("45%", 0.45), ("", 0.5), ("garbage", 0.5)])
def test_frequencies(text, expected):
    assert parse_frequency(text, 0.5) == pytest.approx(expected)


def test_exact_terms_rank_their_disease_first_with_contributions(index):
    ranked = rank_case(index, ["HP:0007359", "HP:0001249"], top=4)
    assert ranked[0].disease_id == "OMIM:100001" and ranked[0].rank == 1
    by_term = {c.hpo_id: c for c in ranked[0].contributions}
    assert by_term["HP:0007359"].kind == "observed" and by_term["HP:0007359"].matched_annotation_id == "HP:0007359"
    assert by_term["HP:0007359"].contribution > 0
    assert ranked[0].prior + sum(c.contribution for c in ranked[0].contributions) == pytest.approx(
        ranked[0].score, abs=1e-6)
    # a disease that explains neither term lists both as unmatched, with the noise floor
    last = next(r for r in ranked if r.disease_id == "OMIM:100004")
    assert {c.kind for c in last.contributions} == {"unmatched"}
    assert all(c.contribution == pytest.approx(math.log10(RankingParams().alpha)) for c in last.contributions)


def test_an_imprecise_term_still_counts_but_less(index):
    exact = rank_case(index, ["HP:0007359"], top=1)[0]
    vague = rank_case(index, ["HP:0001250"], top=4)  # Seizure: parent of both diseases' seizure types
    assert {vague[0].disease_id, vague[1].disease_id} == {"OMIM:100001", "OMIM:100003"}
    c_vague = next(r for r in vague if r.disease_id == "OMIM:100001").contributions[0]
    assert 0 < c_vague.contribution < exact.contributions[0].contribution
    assert c_vague.matched_annotation_id == "HP:0007359"


def test_a_more_specific_term_than_the_annotation_counts(index):
    # OMIM:100002 is annotated with Cataract; the case says the same, through an obsolete id
    terms = resolve_terms(index, ["HP:0009998", "HP:0000252"])
    assert terms.replaced == (("HP:0009998", "HP:0000518"),)
    assert _ids(rank_case(index, ["HP:0009998", "HP:0000252"], top=1)) == ["OMIM:100002"]


def test_excluded_terms_count_against(index):
    without = rank_case(index, ["HP:0001249", "HP:0001250"], ["HP:0007359"], top=2)
    assert without[0].disease_id == "OMIM:100003"
    against = next(c for c in without[1].contributions if c.kind == "excluded")
    assert without[1].disease_id == "OMIM:100001" and against.contribution < 0
    assert against.matched_annotation_id == "HP:0007359"


def test_unknown_and_unscored_ids_are_reported_and_the_rest_ranked(index):
    terms = resolve_terms(index, ["HP:9999999", "HP:0000006", "HP:0000518", "HP:0001275"])
    assert terms.unknown == ("HP:9999999",) and terms.unscored == ("HP:0000006",)
    assert [index.term_ids[t] for t in terms.observed] == ["HP:0000518", "HP:0001250"]  # alt id resolved
    ranked = rank_case(index, ["HP:9999999", "HP:0000518"], top=1)
    assert ranked[0].disease_id in {"OMIM:100002", "OMIM:100004"}
    assert any(c.hpo_id == "HP:9999999" and c.kind == "unmatched" for c in ranked[0].contributions)


def test_vectorised_scores_equal_the_explanations(index):
    for observed, excluded in [(["HP:0007359", "HP:0000252"], ["HP:0000518"]),
                               (["HP:0001250", "HP:0000478"], []), (["HP:0000505"], ["HP:0001249"])]:
        scores = score_terms(index, resolve_terms(index, observed, excluded))
        for r in rank_case(index, observed, excluded, top=4):
            d = index.disease_ids.index(r.disease_id)
            assert r.score == pytest.approx(scores[d], abs=1e-6)
            assert r.prior + sum(c.contribution for c in r.contributions) == pytest.approx(scores[d], abs=1e-6)


def test_own_pmid_protocol_drops_the_papers_annotations(index):
    d4 = index.disease_ids.index("OMIM:100004")
    terms = resolve_terms(index, ["HP:0000518"])
    assert np.isfinite(score_terms(index, terms)[d4])
    dropped = score_terms(index, terms, drop_references=["PMID:9"])
    assert dropped[d4] == -math.inf and rank_of(dropped, d4) == index.n_diseases
    assert "OMIM:100004" not in _ids(rank_case(index, ["HP:0000518"], drop_references=["PMID:9"]))
    # a disease keeps the annotations its other papers support
    d1 = index.disease_ids.index("OMIM:100001")
    s = score_terms(index, resolve_terms(index, ["HP:0000252", "HP:0007359"]), drop_references=["PMID:1"])
    full = score_terms(index, resolve_terms(index, ["HP:0000252", "HP:0007359"]))
    assert np.isfinite(s[d1]) and s[d1] < full[d1]


def test_ties_count_against_the_ranker():
    scores = np.array([1.0, 2.0, 2.0, 0.5])
    assert rank_of(scores, 1) == 2 and rank_of(scores, 2) == 2 and rank_of(scores, 0) == 3


@pytest.mark.integration
def test_index_from_the_graph_matches_the_files_and_is_cached(graph, tmp_path, index):
    from medkb.kb.documents import record_run
    from medkb.kb.seed_hpo import seed_hpo

    seed_hpo(graph, FILES, "seed-hpo")
    record_run(graph, "seed-hpo", {"kind": "seed", "status": "succeeded"})
    from_graph = load_index(graph, tmp_path)
    assert from_graph.disease_ids == index.disease_ids
    assert from_graph.replaced["HP:0001275"] == "HP:0001250"
    observed = ["HP:0007359", "HP:0000252"]
    assert [(r.disease_id, r.score) for r in rank_case(from_graph, observed, top=4)] == \
        [(r.disease_id, r.score) for r in rank_case(index, observed, top=4)]
    cached = list(tmp_path.glob("phenotype-index-*.pkl"))
    assert len(cached) == 1 and load_index(graph, tmp_path).key == from_graph.key
    record_run(graph, "refresh-1", {"kind": "refresh", "status": "succeeded"})
    assert load_index(graph, tmp_path).key != from_graph.key  # a new run: a new index
    assert len(list(tmp_path.glob("phenotype-index-*.pkl"))) == 2

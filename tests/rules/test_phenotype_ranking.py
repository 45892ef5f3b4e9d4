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
    LR_PARAMS,
    RankedDisease,
    RankingParams,
    order,
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
    # a disease that explains neither term lists both as unmatched, with the noise floor:
    # log10(nu * u / ((1 - nu) * mbg[q] + nu * u)), u uniform over the scored terms
    last = next(r for r in ranked if r.disease_id == "OMIM:100004")
    assert {c.kind for c in last.contributions} == {"unmatched"}
    nu = RankingParams().nu
    noise = nu / index.scored.sum()
    for c in last.contributions:
        q = index.term_pos[c.hpo_id]
        assert c.contribution == pytest.approx(math.log10(noise / ((1 - nu) * index.mbg[q] + noise)))
        assert c.contribution < 0


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


@pytest.mark.parametrize("params", [RankingParams(), LR_PARAMS], ids=["mixture", "lr"])
def test_vectorised_scores_equal_the_explanations(index, params):
    for observed, excluded in [(["HP:0007359", "HP:0000252"], ["HP:0000518"]),
                               (["HP:0001250", "HP:0000478"], []), (["HP:0000505"], ["HP:0001249"])]:
        scores = score_terms(index, resolve_terms(index, observed, excluded, params), params)
        for r in rank_case(index, observed, excluded, top=4, params=params):
            d = index.disease_ids.index(r.disease_id)
            assert r.score == pytest.approx(scores[d], abs=1e-6)
            assert r.prior + sum(c.contribution for c in r.contributions) == pytest.approx(scores[d], abs=1e-6)


def test_mixture_kernel_an_ancestor_counts_less_each_step_up(index):
    # Focal-onset seizure -> Seizure -> Abnormality of the nervous system (tiny HPO)
    t, parent, grand = (index.term_pos[h] for h in ("HP:0007359", "HP:0001250", "HP:0000707"))
    k = index.kernel(t)
    assert set(k) == {t, parent, grand}  # Phenotypic abnormality itself is not scored
    assert k[t] == pytest.approx(index.rho)
    assert k[parent] == pytest.approx(1 - index.rho)
    assert k[grand] == pytest.approx((1 - index.rho) * index.step)
    # a row of M: each feature's share (frequencies normalised) spread by the kernel
    d = index.disease_ids.index("OMIM:100001")
    row = index.mixture_row(index.ann_terms[d], index.ann_freq[d])
    share = index.ann_freq[d] / index.ann_freq[d].sum()
    for a, f in zip(index.ann_terms[d].tolist(), share.tolist(), strict=True):
        assert row[a] >= f * index.rho - 1e-12
    # two steps up still counts, explained by the annotation that gives it the most weight
    c2 = next(r for r in rank_case(index, ["HP:0000707"], top=4) if r.disease_id == "OMIM:100001").contributions[0]
    assert c2.kind == "observed" and c2.contribution > 0
    assert c2.matched_annotation_id == "HP:0001249"  # its child, one step: more than the grandchild


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


def test_top_k_order_equals_the_full_order_ties_and_removed_included():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, 200).astype(float)  # many ties
    scores[rng.choice(200, 20, replace=False)] = -math.inf
    full = order(scores)
    for k in (1, 3, 10, 57, 180, 199, 200, 250):
        assert order(scores, k).tolist() == full[:k].tolist()


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

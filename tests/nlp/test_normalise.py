from __future__ import annotations

import pytest

from medkb.nlp.normalise import Normaliser, american, split_composite
from medkb.nlp.vocab import Entry, norm


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    return Normaliser([
        Entry("breast cancer", "MESH:D001943", "Disease", "gold"),
        Entry("ovarian cancer", "MESH:D010051", "Disease", "gold"),
        Entry("myocardial infarction", "MESH:D009203", "Disease", "gold"),
        Entry("heart attack", "MESH:D999999", "Disease", "mesh-disease"),  # package id, bridged below
        Entry("myocardial infarction", "MESH:D999999", "Disease", "mesh-disease"),
        Entry("gout", "MESH:D006073", "Disease", "mesh-disease"),  # disease package id, no bridge
        Entry("aspirin", "MESH:D000894", "Chemical", "mesh-drug"),  # drug package id, no bridge
        Entry("lorazepam", "MESH:D000927", "Chemical", "mesh-drug"),  # a class id shared by two drugs ...
        Entry("clonazepam", "MESH:D000927", "Chemical", "mesh-drug"),
        Entry("lorazepam", "MESH:D008140", "Chemical", "gold"),  # ... whose gold ids differ
        Entry("clonazepam", "MESH:D002998", "Chemical", "gold"),
        Entry("cocaine", "MESH:D003042", "Chemical", "gold"),
        Entry("edema", "MESH:D004487", "Disease", "mesh"),
        Entry("hemorrhagic cystitis", "MESH:D006470", "Disease", "mesh"),
        Entry("disease", "MESH:D004194", "Disease", "mesh"),
        Entry("pulmonary toxicity", "MESH:D000001", "Disease", "mesh"),
        Entry("toxicity", "MESH:D064420", "Disease", "mesh"),
    ])


def test_norm_folds_case_plurals_punctuation_and_greek():
    assert norm("Beta-Blockers") == norm("β blocker") == "beta blocker"
    assert norm("Parkinson's disease") == "parkinson disease"


def test_exact_normalised_and_ngram(normaliser):
    assert normaliser.link("Cocaine", "Chemical").ids == ("MESH:D003042",)
    assert normaliser.link("myocardial infarctions", "Disease").method == "normalised"
    fuzzy = normaliser.link("myocardial infarct", "Disease")
    assert fuzzy.ids == ("MESH:D009203",) and fuzzy.method == "ngram"


def test_type_matters(normaliser):
    assert normaliser.link("cocaine", "Disease").ids == ()


def test_package_concepts_take_the_gold_id_of_a_synonym(normaliser):
    assert normaliser.link("heart attack", "Disease").ids == ("MESH:D009203",)


def test_unbridged_drug_ids_are_not_confident_disease_ids_are(normaliser):
    link = normaliser.link("aspirin", "Chemical")
    assert link.ids == () and link.method == "unlinked"
    assert normaliser.link("gout", "Disease").ids == ("MESH:D006073",)


def test_a_package_id_shared_by_different_gold_concepts_is_not_bridged(normaliser):
    assert normaliser.link("lorazepam", "Chemical").ids == ("MESH:D008140",)
    assert normaliser.link("clonazepam", "Chemical").ids == ("MESH:D002998",)


def test_composite_mentions_are_split(normaliser):
    assert split_composite("breast and ovarian cancer") == ["breast cancer", "ovarian cancer"]
    assert split_composite("renal failure") == ["renal failure"]
    link = normaliser.link("breast and ovarian cancer", "Disease")
    assert link.ids == ("MESH:D001943", "MESH:D010051") and link.method == "composite"


def test_unknown_mention_stays_unlinked(normaliser):
    assert normaliser.link("zzqx syndrome", "Disease").ids == ()


def test_link_many_caches_across_calls_and_agrees_with_link(normaliser):
    items = [("tremors", "Disease"), ("Lithium", "Chemical"), ("tremors", "Disease"), ("qwertyuiop", "Disease")]
    first = normaliser.link_many(items)
    assert first == [normaliser.link(t, k) for t, k in items]
    again = normaliser.link_many(items[:2])
    assert again[0] is first[0] and again[1] is first[1]  # served from the cache, not re-linked


def test_fast_query_vector_equals_sklearn_transform():
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from medkb.nlp.normalise import _QueryVectoriser

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), dtype=np.float32)
    vec.fit(["acute renal failure", "hypertension", "parkinson disease", "cocaine"])
    fast = _QueryVectoriser(vec)
    for text in ("renal failures", "hypertensive crisis", "parkinsons"):
        assert np.allclose(fast(text).toarray(), vec.transform([text]).toarray(), atol=1e-6)
    assert fast("zzz") is None  # no known n-gram


def test_mesh_entries_are_trusted_rank_between_gold_and_packages_and_are_not_bridged():
    n = Normaliser([
        Entry("cocaine", "MESH:D003042", "Chemical", "gold"),
        Entry("cocaine", "MESH:D999001", "Chemical", "mesh"),  # gold wins over MeSH for the name ...
        Entry("benzoylmethylecgonine", "MESH:D999001", "Chemical", "mesh"),  # ... but its group keeps its id
        Entry("bevonium", "MESH:C000002", "Chemical", "mesh"),
        Entry("bevonium", "MESH:D000999", "Chemical", "mesh-drug"),  # MeSH wins over a package
        Entry("bevonium benzilate", "MESH:D000999", "Chemical", "mesh-drug"),
    ])
    assert n.link("cocaine", "Chemical").ids == ("MESH:D003042",)
    assert n.link("benzoylmethylecgonine", "Chemical").ids == ("MESH:D999001",)
    bevonium = n.link("Bevonium", "Chemical")
    assert bevonium.ids == ("MESH:C000002",) and bevonium.score == 1.0  # a MeSH id alone is confident
    assert n.link("bevonium benzilate", "Chemical").ids == ()  # an unbridged drug-package id is not


def test_american_spelling():
    assert [american(w) for w in ("oedema", "Anaemia", "haemorrhagic", "oesophagitis", "diarrhoea", "tumour")] == \
        ["edema", "Anemia", "hemorrhagic", "esophagitis", "diarrhea", "tumor"]
    assert [american(w) for w in ("does", "aloe", "coenzyme")] == ["does", "aloe", "coenzyme"]


@pytest.fixture(scope="module")
def exact_only(normaliser) -> Normaliser:
    """The same entries with the n-gram match off (a tiny index makes any shared word look similar)."""
    entries = [Entry(name, cid, typ, "mesh") for (typ, name), cid in normaliser.exact.items()]
    return Normaliser(entries, min_similarity=1.01)


def test_an_unlinked_mention_is_tried_in_american_spelling_then_by_its_head(exact_only):
    normaliser = exact_only
    assert normaliser.link("oedema", "Disease").ids == ("MESH:D004487",)
    head = normaliser.link("advanced ovarian cancer", "Disease")
    assert head.ids == ("MESH:D010051",) and head.method == "head" and head.score < 1.0
    assert normaliser.link("severe haemorrhagic cystitis", "Disease").ids == ("MESH:D006470",)
    assert normaliser.link("cocaine", "Chemical").method == "exact"  # a mention that links is not touched


def test_the_head_never_falls_to_a_lone_generic_noun(exact_only):
    normaliser = exact_only
    assert normaliser.link("adenovirus disease", "Disease").ids == ()
    assert normaliser.link("acute toxicity", "Disease").ids == ()  # "toxicity" alone is too general
    assert normaliser.link("acute pulmonary toxicity", "Disease").ids == ("MESH:D000001",)  # two words are not

"""The on-disk cache of built normalisers and dictionary taggers (nlp/build_cache.py, nlp/serving.py)."""

from __future__ import annotations

import logging
import os
import pickle
import time
from pathlib import Path

import pytest

from medkb.nlp import build_cache, serving
from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.normalise import Normaliser, _QueryVectoriser
from medkb.nlp.vocab import Entry

ENTRIES = [
    Entry("breast cancer", "MESH:D001943", "Disease", "gold"),
    Entry("ovarian cancer", "MESH:D010051", "Disease", "gold"),
    Entry("myocardial infarction", "MESH:D009203", "Disease", "gold"),
    Entry("heart attack", "MESH:D999999", "Disease", "mesh-disease"),
    Entry("myocardial infarction", "MESH:D999999", "Disease", "mesh-disease"),
    Entry("gout", "MESH:D006073", "Disease", "mesh-disease"),
    Entry("aspirin", "MESH:D000894", "Chemical", "mesh-drug"),
    Entry("acetylsalicylic acid", "MESH:D001241", "Chemical", "mesh"),
    Entry("β-blockers", "MESH:D000319", "Chemical", "mesh"),
    Entry("cocaine", "MESH:D003042", "Chemical", "gold"),
    Entry("lorazepam", "MESH:D008140", "Chemical", "gold"),
]
MENTIONS = [("Cocaine", "Chemical"), ("beta blocker", "Chemical"), ("acetylsalicylic acids", "Chemical"),
            ("acetylsalicylic", "Chemical"), ("lorazepan", "Chemical"), ("myocardial infarct", "Disease"),
            ("breast and ovarian cancer", "Disease"), ("heart attacks", "Disease"), ("gout", "Disease"),
            ("nothing like it", "Disease"), ("cocaine", "Disease"), ("", "Chemical")]
OBO = """format-version: 1.2

[Term]
id: HP:0001250
name: Seizure
synonym: "Seizures" EXACT []
synonym: "Epileptic seizure" RELATED []

[Term]
id: HP:0002315
name: Headache
synonym: "Cephalgia" EXACT []

[Term]
id: HP:0000001
name: Obsolete thing
is_obsolete: true
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDKB_NORMALISER_CACHE", "on")
    monkeypatch.setattr(build_cache, "cache_dir", lambda: tmp_path / "cache")
    serving.phenotype_normaliser.cache_clear()
    yield tmp_path / "cache"
    serving.phenotype_normaliser.cache_clear()


def name(kind: str, key: str, slot: str = "") -> str:
    """The cache file's name (build_cache.cached_build)."""
    import hashlib

    return f"{kind}.{hashlib.blake2b(slot.encode(), digest_size=4).hexdigest()}.{key}.pkl"


def counting(value):
    calls = []

    def build():
        calls.append(1)
        return value

    return build, calls


def test_a_second_build_is_read_from_disk_and_the_file_is_written_whole(cache):
    build, calls = counting({"a": (1, 2)})
    assert build_cache.cached_build("thing", "k1", build) == {"a": (1, 2)}
    assert build_cache.cached_build("thing", "k1", build) == {"a": (1, 2)}
    assert len(calls) == 1
    assert [p.name for p in cache.iterdir()] == [name("thing", "k1")]  # no temporary file left behind


def test_a_corrupt_cache_file_is_rebuilt_and_rewritten(cache, caplog):
    build, calls = counting([1, 2, 3])
    build_cache.cached_build("thing", "k1", build)
    (cache / name("thing", "k1")).write_bytes(b"\x80\x05not a pickle")
    with caplog.at_level(logging.WARNING):
        assert build_cache.cached_build("thing", "k1", build) == [1, 2, 3]
    assert "unreadable" in caplog.text and len(calls) == 2
    assert pickle.loads((cache / name("thing", "k1")).read_bytes()) == [1, 2, 3]


def test_an_unwritable_cache_is_not_fatal(tmp_path, monkeypatch, caplog):
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(build_cache, "cache_dir", lambda: tmp_path / "file" / "cache")  # a file in the way
    build, calls = counting(7)
    with caplog.at_level(logging.WARNING):
        assert build_cache.cached_build("thing", "k1", build) == 7
    assert "could not cache" in caplog.text


def test_off_builds_every_time(cache, monkeypatch):
    monkeypatch.setenv("MEDKB_NORMALISER_CACHE", "off")
    build, calls = counting(1)
    build_cache.cached_build("thing", "k1", build)
    build_cache.cached_build("thing", "k1", build)
    assert len(calls) == 2 and not cache.exists()


def test_old_files_of_a_kind_and_slot_are_pruned(cache):
    for i in range(build_cache.KEEP + 2):
        build_cache.cached_build("thing", f"k{i}", lambda i=i: i, slot="model-a")
        os.utime(cache / name("thing", f"k{i}", "model-a"), (time.time() - 100 + i,) * 2)
    build_cache.cached_build("other", "k0", lambda: 0, slot="model-a")
    build_cache.cached_build("thing", "k0", lambda: 0, slot="model-b")  # another model's: not evicted
    build_cache.cached_build("thing-ngram-X", "k0", lambda: 0, slot="model-a")  # a kind of its own
    build_cache.cached_build("thing", "k9", lambda: 9, slot="model-a")
    kept = [name("thing", f"k{i}", "model-a") for i in range(build_cache.KEEP + 2)][-(build_cache.KEEP - 1):]
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [name("other", "k0", "model-a"), *kept, name("thing", "k9", "model-a"), name("thing", "k0", "model-b"),
         name("thing-ngram-X", "k0", "model-a")])


def test_a_file_unused_for_a_month_goes_and_a_read_keeps_one_fresh(cache):
    build_cache.cached_build("old", "k0", lambda: 0)
    build_cache.cached_build("used", "k0", lambda: 0)
    month = time.time() - (build_cache.MAX_AGE_DAYS + 1) * 86400
    for kind in ("old", "used"):
        os.utime(cache / name(kind, "k0"), (month, month))
    assert build_cache.cached_build("used", "k0", lambda: 1) == 0  # read: touched
    build_cache.cached_build("new", "k0", lambda: 0)  # a write prunes
    assert sorted(p.name for p in cache.iterdir()) == sorted([name("new", "k0"), name("used", "k0")])


def test_the_key_follows_file_contents_and_code(tmp_path):
    f = tmp_path / "lexicon.tsv"
    f.write_text("a\tMESH:1\tChemical\tgold\n")
    key = build_cache.cache_key(contents=[f], modules=[build_cache])
    assert build_cache.cache_key(contents=[f], modules=[build_cache]) == key
    f.write_text("a\tMESH:2\tChemical\tgold\n")
    assert build_cache.cache_key(contents=[f], modules=[build_cache]) != key
    assert build_cache.cache_key(contents=[tmp_path / "missing"]) != build_cache.cache_key(contents=[f])
    copy = tmp_path / "registry-copy.tsv"  # a release copied into the registry: the same build
    copy.write_bytes(f.read_bytes())
    assert build_cache.cache_key(contents=[copy], modules=[build_cache]) == build_cache.cache_key(contents=[f], modules=[build_cache])
    assert build_cache.cache_key(contents=[f], extra=["x"]) != build_cache.cache_key(contents=[f])


def links(n: Normaliser) -> list:
    return [n.link(t, typ) for t, typ in MENTIONS]


def test_a_pickled_normaliser_links_as_the_built_one():
    built = Normaliser(ENTRIES)
    expected = links(built)  # builds the n-gram indexes and fills the link cache
    assert {lk.method for lk in expected} >= {"exact", "normalised", "ngram", "composite", "unlinked"}
    restored = pickle.loads(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored._links == {} and restored._index == {} and restored.index_cache is None
    assert restored.exact == built.exact and restored.normed == built.normed and restored.trust == built.trust
    assert links(restored) == expected
    # the n-gram index itself through the cache hook, as serving sets it
    index_store: dict = {}
    again = pickle.loads(pickle.dumps(built))
    again.index_cache = lambda typ, build: index_store.setdefault(typ, pickle.loads(pickle.dumps(build())))
    assert links(again) == expected and set(index_store) == {"Chemical", "Disease"}
    assert again.link_many(MENTIONS) == expected


def test_the_query_analyser_is_sklearns_char_wb():
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyse = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3)).build_analyzer()
    for text in ["", "a", "ab", "abc", "Aspirin  and\tX", " beta-blocker  ", "HIV-1 protease inhibitors",
                 "x y z", "   ", "Ünïcode ÉX", "acetylsalicylic acid"]:
        assert _QueryVectoriser.analyse(text) == analyse(text), text


def test_a_pickled_dictionary_tagger_tags_as_the_built_one():
    built = DictionaryTagger(ENTRIES)
    text = ["Cocaine and beta blockers were given after the heart attack; acetylsalicylic acid too."]
    restored = pickle.loads(pickle.dumps(built))
    assert restored.names == built.names and restored.predict(text) == built.predict(text)
    assert built.predict(text) != [[]]


def test_phenotype_normaliser_reads_the_cache_and_rebuilds_on_a_changed_obo(cache, tmp_path, caplog):
    obo = tmp_path / "hp.obo"
    obo.write_text(OBO)
    first = serving.phenotype_normaliser(str(obo))
    expected = [first.link(t, "Phenotype") for t in ("seizures", "Cephalgia", "headaches", "Epileptic seizur")]
    assert expected[0].ids == ("HP:0001250",) and expected[3].method == "ngram"
    serving.phenotype_normaliser.cache_clear()
    with caplog.at_level(logging.INFO):
        second = serving.phenotype_normaliser(str(obo))
        assert [second.link(t, "Phenotype") for t in ("seizures", "Cephalgia", "headaches", "Epileptic seizur")] == expected
    assert "phenotypes read from the cache" in caplog.text
    assert "phenotypes-ngram-Phenotype read from the cache" in caplog.text
    obo.write_text(OBO.replace("Cephalgia", "Cephalalgia"))
    serving.phenotype_normaliser.cache_clear()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        third = serving.phenotype_normaliser(str(obo))
    assert "phenotypes built" in caplog.text
    assert third.link("Cephalalgia", "Phenotype").ids == ("HP:0002315",)
    assert third.link("Cephalgia", "Phenotype").method != "exact"


def _build_in_a_process(directory: str) -> list[int]:
    import time

    return build_cache.cached_build("race", "k1", lambda: (time.sleep(0.2), list(range(100_000)))[1],
                                    directory=Path(directory))


def test_processes_building_at_once_all_get_the_whole_result(tmp_path, monkeypatch):
    """Mapped tasks start together: each builds or reads a whole file, and no temporary file stays."""
    import multiprocessing

    monkeypatch.setenv("MEDKB_NORMALISER_CACHE", "on")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_build_in_a_process, [str(tmp_path)] * 8)
    assert all(r == list(range(100_000)) for r in results)
    assert [p.name for p in tmp_path.iterdir()] == [name("race", "k1")]

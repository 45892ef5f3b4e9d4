from __future__ import annotations

from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.extract import Extractor, SourceDoc, propagate_abbreviations
from medkb.nlp.normalise import Normaliser
from medkb.nlp.sentences import Abbreviation
from medkb.nlp.vocab import Entry
from medkb.nlp.windows import Span

ENTRIES = [
    Entry("famotidine", "MESH:D015738", "Chemical", "gold"),
    Entry("delirium", "MESH:D003693", "Disease", "gold"),
    Entry("neuroleptic malignant syndrome", "MESH:D009459", "Disease", "gold"),
]


def test_short_form_takes_type_of_its_long_form():
    spans = [Span(0, 30, "Disease", 0.9), Span(32, 35, "Chemical", 0.6)]
    out = propagate_abbreviations(spans, [Abbreviation(32, 35, 0, 30), Abbreviation(60, 63, 0, 30)])
    assert [(s.start, s.end, s.type) for s in out] == [(0, 30, "Disease"), (32, 35, "Disease"), (60, 63, "Disease")]


def test_pipeline_gives_mentions_concepts_and_an_induces_assertion():
    extractor = Extractor(DictionaryTagger(ENTRIES), Normaliser(ENTRIES))
    doc = SourceDoc("PMID:1", "Famotidine-associated delirium.",
                    "Neuroleptic malignant syndrome (NMS) is rare. We saw NMS and delirium induced by famotidine.")
    [res] = extractor.extract([doc])
    got = {(m.text, m.type, m.concept_id) for m in res.mentions}
    assert ("NMS", "Disease", "MESH:D009459") in got  # the abbreviation inherits type and concept
    assert ("famotidine", "Chemical", "MESH:D015738") in got
    assert {(a.subject_id, a.object_id) for a in res.assertions} >= {("MESH:D015738", "MESH:D003693")}
    a = next(a for a in res.assertions if a.object_id == "MESH:D003693")
    assert doc.text[a.start : a.end] == a.sentence and a.model == "dictionary-v1"
    assert res.concepts >= {("Chemical", "MESH:D015738"), ("Disease", "MESH:D003693"), ("Disease", "MESH:D009459")}


def test_phenotype_links_add_a_phenotype_mention():
    hpo = Normaliser([Entry("Delirium", "HP:0031258", "Phenotype", "hpo")])
    extractor = Extractor(DictionaryTagger(ENTRIES), Normaliser(ENTRIES), phenotypes=hpo)
    [res] = extractor.extract([SourceDoc("PMID:2", "Delirium after famotidine.", "")])
    assert ("Phenotype", "HP:0031258") in {(m.type, m.concept_id) for m in res.mentions}


def test_repeats_of_a_tagged_string_are_tagged_too():
    from medkb.nlp.extract import propagate_repeats

    text = "Cocaine use. Cocaine-induced seizures; cocaineX is not a word match."
    out = propagate_repeats(text, [Span(0, 7, "Chemical", 0.8)])
    assert [(text[s.start : s.end], s.type) for s in out] == [("Cocaine", "Chemical"), ("Cocaine", "Chemical")]


def test_a_definition_the_detector_misses_is_found_from_the_tagged_long_form():
    entries = [*ENTRIES, Entry("nitroglycerin", "MESH:D005996", "Chemical", "gold")]
    extractor = Extractor(DictionaryTagger(entries), Normaliser(entries))
    doc = SourceDoc("PMID:3", "Nitroglycerin (NTG)-induced headache.", "We gave NTG twice; NTGX is another word.")
    [res] = extractor.extract([doc])
    ntg = [(m.start, m.type, m.concept_id) for m in res.mentions if m.text == "NTG"]
    assert ntg == [(15, "Chemical", "MESH:D005996"), (46, "Chemical", "MESH:D005996")]  # type and concept inherited
    assert not any(m.text.startswith("NTGX") for m in res.mentions)


def test_the_recall_dictionary_adds_only_what_the_tagger_left_untouched():
    tagger = DictionaryTagger([Entry("famotidine", "MESH:D015738", "Chemical", "gold")])
    recall = DictionaryTagger([Entry("delirium", "MESH:D003693", "Disease", "gold"),
                               Entry("famotidine-associated", "", "Chemical", "gold")])
    extractor = Extractor(tagger, Normaliser(ENTRIES), recall=recall)
    [res] = extractor.extract([SourceDoc("PMID:4", "Famotidine-associated delirium.", "")])
    assert [(m.text, m.type) for m in res.mentions] == [("Famotidine", "Chemical"), ("delirium", "Disease")]

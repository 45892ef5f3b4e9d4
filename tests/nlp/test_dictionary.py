from __future__ import annotations

from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.vocab import Entry


def test_longest_match_wins_and_types_come_from_the_names():
    tagger = DictionaryTagger([
        Entry("renal failure", "", "Disease", "gold"),
        Entry("acute renal failure", "", "Disease", "gold"),
        Entry("gentamicin", "", "Chemical", "gold"),
        Entry("the", "", "Chemical", "gold"),  # stop word: never a name
    ])
    text = "Gentamicin-induced acute renal failure in the rat."
    [spans] = tagger.predict([text])
    assert [(text[s.start : s.end], s.type) for s in spans] == [("Gentamicin", "Chemical"), ("acute renal failure", "Disease")]


def test_matching_ignores_case_and_plural():
    tagger = DictionaryTagger([Entry("seizure", "", "Disease", "gold")])
    text = "Recurrent SEIZURES were seen."
    [spans] = tagger.predict([text])
    assert [text[s.start : s.end] for s in spans] == ["SEIZURES"]

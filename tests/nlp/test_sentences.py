from __future__ import annotations

from medkb.nlp.sentences import Abbreviation, analyse, tagged_abbreviations
from medkb.nlp.windows import Span


def test_tagged_long_form_followed_by_a_parenthesised_short_form_defines_it():
    text = "Nitroglycerin (NTG)-induced migraine. NTG again, not NTGs or pre-NTG."
    found = tagged_abbreviations(text, [Span(0, 13, "Chemical")], [])
    assert [(text[a.start : a.end], a.long_start, a.long_end) for a in found] == [("NTG", 0, 13), ("NTG", 0, 13)]
    assert found[1].start == text.index("NTG again")


def test_short_forms_failing_schwartz_hearst_or_already_known_are_skipped():
    text = "morphine (IV) and haloperidol (HAL) and cocaine (5 mg) and lithium (Li)."
    spans = [Span(0, 8, "Chemical"), Span(18, 29, "Chemical"), Span(40, 47, "Chemical"), Span(59, 66, "Chemical")]
    got = {text[a.start : a.end] for a in tagged_abbreviations(text, spans, [])}
    assert got == {"HAL", "Li"}  # IV: wrong first letter; "5 mg": not a short form
    known = [Abbreviation(31, 34, 18, 29)]
    assert {text[a.start : a.end] for a in tagged_abbreviations(text, spans, known)} == {"Li"}


def test_analyse_finds_sentences_and_the_detectors_abbreviations():
    text = "Neuroleptic malignant syndrome (NMS) is rare. We saw NMS twice."
    [(sents, abbrs)] = analyse([text])
    assert {(text[a.start : a.end], text[a.long_start : a.long_end]) for a in abbrs} == {
        ("NMS", "Neuroleptic malignant syndrome")
    }

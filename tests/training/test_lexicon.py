from __future__ import annotations

from medkb.nlp.vocab import read_lexicon
from medkb.training.data import Example, GoldMention
from medkb.training.lexicon import LEXICON_FILE, PRECISE_FILE, build_lexicon, precise_names


def ex(source: str, key: str, text: str, *names: tuple[str, str, str]) -> Example:
    mentions = []
    for name, typ, cid in names:
        start = text.index(name)
        mentions.append(GoldMention(start, start + len(name), typ, name, (cid,)))
    return Example(source, key, text, tuple(mentions), ())


EXAMPLES = [
    ex("cdr", "1", "Cocaine and lead caused seizures.", ("Cocaine", "Chemical", "D003042"), ("lead", "Chemical", "D007854"),
       ("seizures", "Disease", "D012640")),
    ex("cdr", "2", "Cocaine again; lead the way; heparin.", ("Cocaine", "Chemical", "D003042"), ("heparin", "Chemical", "D006493")),
    ex("cdr", "3", "Heparin or heparin.", ("Heparin", "Chemical", "D006493")),  # the second one was not annotated
    # a disease-only corpus: its unannotated cocaine does not count against the name
    ex("ncbi", "4", "Cocaine users had seizures.", ("seizures", "Disease", "D012640")),
]


def test_precise_names_are_annotated_nearly_wherever_they_occur():
    names = {e.name for e in precise_names(EXAMPLES)}
    assert names == {"Cocaine"}  # heparin: 2 of 3 occurrences; seizures: not a precise type
    # lead is a stop word the dictionary never matches, so it is never precise
    assert {e.name for e in precise_names(EXAMPLES, min_precision=0.5)} == {"Cocaine", "heparin", "Heparin"}


def test_build_lexicon_writes_both_files(tmp_path):
    pubtator = tmp_path / "tiny.PubTator.txt"
    pubtator.write_text(
        "1|t|Cocaine toxicity.\n1|a|Cocaine caused seizures.\n"
        "1\t0\t7\tCocaine\tChemical\tD003042\n1\t18\t25\tCocaine\tChemical\tD003042\n"
        "1\t33\t41\tseizures\tDisease\tD012640\n\n"
    )
    build_lexicon(tmp_path, [pubtator])
    assert {e.name for e in read_lexicon(tmp_path / PRECISE_FILE)} == {"Cocaine"}
    assert {(e.name, e.type) for e in read_lexicon(tmp_path / LEXICON_FILE)} == {("Cocaine", "Chemical"), ("seizures", "Disease")}

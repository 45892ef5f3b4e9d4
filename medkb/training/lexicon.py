"""The gold lexicon: (mention text, concept id, type) pairs of the training corpora, saved beside a model.

The normaliser and the dictionary extractor read it from the model directory, so a deployed
model carries the vocabulary it was trained with and needs no corpus at run time. Beside it,
precise.tsv holds the training names that are annotated nearly wherever they occur; the
extractor adds their matches that the tagger left untouched.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.vocab import LEXICON_FILE, PRECISE_FILE, PRECISE_TYPES, Entry, curie, norm, write_lexicon
from medkb.settings import REPO_ROOT
from medkb.training.data import Example, load_corpora

CORPORA = REPO_ROOT.parent / "shared" / "corpora"
TRAIN_FILES = (CORPORA / "bc5cdr" / "CDR_TrainingSet.PubTator.txt", CORPORA / "ncbi-disease" / "NCBItrainset_corpus.txt")
DEV_FILES = (CORPORA / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt", CORPORA / "ncbi-disease" / "NCBIdevelopset_corpus.txt")
__all__ = ["LEXICON_FILE", "PRECISE_FILE", "PRECISE_TYPES", "build_lexicon", "gold_entries", "gold_names", "precise_names"]
MIN_PRECISION = 0.9


def gold_entries(examples: list[Example]) -> list[Entry]:
    """Every (mention, id) pair of the examples; mentions without an id give no entry."""
    out = []
    for ex in examples:
        for m in ex.mentions:
            if len(m.ids) == 1:  # composite mentions' parts are not separable here
                out.append(Entry(m.text, curie(m.ids[0]), m.type, "gold"))
    return out


def gold_names(examples: list[Example]) -> list[Entry]:
    """Every training mention as a dictionary name (with its id when it has exactly one)."""
    return [Entry(m.text, curie(m.ids[0]) if len(m.ids) == 1 else "", m.type, "gold") for ex in examples for m in ex.mentions]


def build_lexicon(model_dir: Path, train_files: list[Path] | tuple[Path, ...] = TRAIN_FILES) -> Path:
    """Write lexicon.tsv (gold names of the training files) and precise.tsv into a model directory."""
    examples = load_corpora(train_files)
    write_lexicon(model_dir / PRECISE_FILE, precise_names(examples))
    return write_lexicon(model_dir / LEXICON_FILE, gold_names(examples))


def precise_names(examples: list[Example], types: tuple[str, ...] = PRECISE_TYPES,
                  min_precision: float = MIN_PRECISION) -> list[Entry]:
    """Gold names whose dictionary matches in the training text are gold spans ≥ min_precision of the time.

    Only documents of corpora that annotate a type count for it: a chemical name in NCBI Disease
    text is not a miss, since that corpus annotates no chemicals.
    """
    names = [e for e in gold_names(examples) if e.type in types]
    annotated: dict[str, set[str]] = {}
    for ex in examples:
        annotated.setdefault(ex.source, set()).update(m.type for m in ex.mentions)
    tagger = DictionaryTagger(names, types=types)
    seen: Counter = Counter()
    hit: Counter = Counter()
    for ex, found in zip(examples, tagger.predict([ex.text for ex in examples]), strict=True):
        gold = {(s.start, s.end, s.type) for s in ex.spans}
        for sp in found:
            if sp.type in annotated[ex.source]:
                key = norm(ex.text[sp.start : sp.end])
                seen[key] += 1
                hit[key] += (sp.start, sp.end, sp.type) in gold
    return [e for e in names if seen[k := norm(e.name)] and hit[k] >= min_precision * seen[k]]


"""The gold lexicon: (mention text, concept id, type) pairs of the training corpora, saved beside a model.

The normaliser and the dictionary extractor read it from the model directory, so a deployed
model carries the vocabulary it was trained with and needs no corpus at run time.
"""

from __future__ import annotations

from pathlib import Path

from medkb.nlp.vocab import Entry, curie, write_lexicon
from medkb.settings import REPO_ROOT
from medkb.training.data import Example, load_corpora

CORPORA = REPO_ROOT.parent / "shared" / "corpora"
TRAIN_FILES = (CORPORA / "bc5cdr" / "CDR_TrainingSet.PubTator.txt", CORPORA / "ncbi-disease" / "NCBItrainset_corpus.txt")
DEV_FILES = (CORPORA / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt", CORPORA / "ncbi-disease" / "NCBIdevelopset_corpus.txt")
LEXICON_FILE = "lexicon.tsv"


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
    """Write lexicon.tsv (gold names of the training files) into a model directory."""
    return write_lexicon(model_dir / LEXICON_FILE, gold_names(load_corpora(train_files)))

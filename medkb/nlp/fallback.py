"""The dictionary fallback's names: what tags when the registry has no champion (CI, a fresh machine).

They are the gold training corpora's names when ../shared/corpora is there, else none (the
vocabularies' names still tag). This module is the one place that reads training corpora at run
time, and only when there is no champion; issue 11 replaces the silent fallback by a setting.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from medkb.nlp.vocab import Entry

log = logging.getLogger(__name__)
NO_CHAMPION = (
    "no champion NER model in the registry: extracting with the dictionary extractor "
    "(train one with `medkb train ner --config models/ner.yaml`, then `medkb model promote VERSION`)"
)


@lru_cache(maxsize=1)
def fallback_names() -> tuple[Entry, ...]:
    """Every gold training mention as a dictionary name, when the corpora are present; else ()."""
    from medkb.training.data import load_corpora  # the layering test allows this one import (issue 11)
    from medkb.training.lexicon import TRAIN_FILES, gold_names

    if all(p.exists() for p in TRAIN_FILES):
        return tuple(gold_names(load_corpora(TRAIN_FILES)))
    log.warning("no champion and no corpora at %s: the dictionary fallback has the vocabularies' names only",
                TRAIN_FILES[0].parent)
    return ()

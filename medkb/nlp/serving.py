"""Build the extractor the pipelines run: the registry's champion, or the dictionary extractor
when the operator chooses it (MEDKB_EXTRACTOR=dictionary).

A model's directory carries what it needs besides its weights and label map: lexicon.tsv (its
gold names) and precise.tsv (names that are nearly always annotated). Nothing here reads the
training corpora: the dictionary extractor takes its gold names from the shipped NER release.
Vocabularies are built once per process, and read from an on-disk cache when an earlier process
built them from the same files and code (nlp/build_cache.py).
"""

from __future__ import annotations

import logging
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from medkb.nlp import build_cache
from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.extract import Extractor
from medkb.nlp.normalise import Normaliser
from medkb.nlp.relation_stage import champion_relations, relation_choice
from medkb.nlp.vocab import (
    LEXICON_FILE,
    PRECISE_FILE,
    PRECISE_TYPES,
    Entry,
    hpo_entries,
    mesh_entries,
    package_entries,
    package_files,
    read_lexicon,
)
from medkb.registry import champion
from medkb.registry.release import ensure_shipped_models, serving_release
from medkb.settings import Settings, data_dir_from_env
from medkb.sources.mesh import fetch_mesh_files, read_mesh
from medkb.sources.ontologies import OntologyError

log = logging.getLogger(__name__)
__all__ = ["NoModelError", "build_extractor", "dictionary_tagger", "model_extractor", "normaliser"]


@lru_cache(maxsize=4)
def gold_lexicon(model_dir: str | None) -> tuple[Entry, ...]:
    """The model's lexicon.tsv; without a model, the shipped NER release's (models/releases/)."""
    path = lexicon_path(model_dir)
    if path is None:
        log.warning("no shipped NER release under models/releases: the dictionary has the vocabularies' names only")
        return ()
    if path.exists():
        return read_lexicon(path)
    log.warning("no %s in %s: the normaliser has the vocabularies only; `medkb train ner` writes it", LEXICON_FILE, path.parent)
    return ()


def lexicon_path(model_dir: str | None) -> Path | None:
    """Where gold_lexicon reads: the model's lexicon.tsv, else the shipped NER release's; None without either."""
    if model_dir is None:
        shipped = serving_release("ner")
        if shipped is None:
            return None
        model_dir = str(shipped.path)
    return Path(model_dir) / LEXICON_FILE


def _mesh_paths(data_dir: str) -> list[Path | None]:
    try:
        files = fetch_mesh_files(Path(data_dir))
    except OntologyError:
        return [None]  # mesh_vocabulary logs it
    return [files["mesh_descriptors.tsv"], files["mesh_supplementary.tsv"]]


def _package_paths() -> list[Path]:
    try:
        return list(package_files())
    except FileNotFoundError:
        return []  # package_entries raises the install hint


def _key(*, contents: list[Path | None], packages: bool = True) -> str:
    """The on-disk cache's key for one build (nlp/build_cache.py): its input files and the building code."""
    from medkb.nlp import dictionary, normalise, vocab
    from medkb.sources import mesh

    return build_cache.cache_key(contents=contents, stats=_package_paths() if packages else (),
                                 modules=(sys.modules[__name__], normalise, dictionary, vocab, mesh))


def _with_index_cache(norm: Normaliser, kind: str, key: str, slot: str) -> Normaliser:
    """The normaliser's n-gram indexes (built on the first fuzzy lookup of a type, 11 s for
    MeSH's chemicals) come from the on-disk cache too."""
    norm.index_cache = lambda typ, build: build_cache.cached_build(f"{kind}-ngram-{typ}", key, build, slot=slot)
    return norm


@lru_cache(maxsize=2)
def mesh_vocabulary(data_dir: str) -> tuple[Entry, ...]:
    """MeSH's chemical and disease names, fetched once into <data_dir>/ontologies; () if unreachable."""
    try:
        files = fetch_mesh_files(Path(data_dir))
        return mesh_entries(read_mesh(files["mesh_descriptors.tsv"], files["mesh_supplementary.tsv"]))
    except OntologyError as exc:
        log.warning("no MeSH tables (%s): chemicals outside the gold lexicon mostly stay unlinked", exc)
        return ()


def normaliser(model_dir: str | None, data_dir: str | None = None) -> Normaliser:
    """Gold lexicon, then MeSH, then the disease package; the drug package only without MeSH.

    Measured on BC5CDR dev with the champion's spans: normalisation F1 77.3 without MeSH, 83.4
    with it (bench/results); the drug package's class ids only cost precision once MeSH is there.
    The data folder is resolved before the cache, so `normaliser(m)` and `normaliser(m, None)`
    share one build (about 9 s and 0.7 GB with MeSH).
    """
    return _normaliser(model_dir, str(data_dir or data_dir_from_env()))


@lru_cache(maxsize=4)
def _normaliser(model_dir: str | None, data_dir: str) -> Normaliser:
    def build() -> Normaliser:
        mesh = mesh_vocabulary(data_dir)
        packages = [e for e in package_entries() if not mesh or e.source != "mesh-drug"]
        return Normaliser((*gold_lexicon(model_dir), *mesh, *packages))

    if not build_cache.enabled():
        return build()  # nothing hashed, nothing fetched
    lexicon = lexicon_path(model_dir)
    # the slot is the model's lexicon (its content, not its folder: a test's copy of a release shares it)
    key, slot = _key(contents=[lexicon, *_mesh_paths(data_dir)]), build_cache.digest_or_missing(lexicon)
    return _with_index_cache(build_cache.cached_build("normaliser", key, build, slot=slot), "normaliser", key, slot)


@lru_cache(maxsize=2)
def phenotype_normaliser(obo_path: str) -> Normaliser | None:
    if not Path(obo_path).exists():
        log.warning("no %s: phenotype (HPO) links are skipped; medkb.sources.ontologies.fetch_hpo_files(data_dir) puts hp.obo there", obo_path)
        return None
    key = _key(contents=[Path(obo_path)], packages=False)
    built = build_cache.cached_build("phenotypes", key, lambda: Normaliser(hpo_entries(Path(obo_path))), slot=obo_path)
    return _with_index_cache(built, "phenotypes", key, obo_path)


@lru_cache(maxsize=4)
def recall_tagger(model_dir: str) -> DictionaryTagger | None:
    """The model's precise.tsv as a dictionary (training/lexicon.py writes it), else None."""
    path = Path(model_dir) / PRECISE_FILE
    if path.exists():
        return build_cache.cached_build("recall", _key(contents=[path], packages=False),
                                        lambda: DictionaryTagger(read_lexicon(path), types=PRECISE_TYPES),
                                        slot=build_cache.digest_or_missing(path))
    log.warning("no %s in %s: no precise-name dictionary; `medkb train ner` writes it", PRECISE_FILE, model_dir)
    return None


def model_extractor(model_dir: str, tagger: Any, data_dir: str | None = None, **kwargs: Any) -> Extractor:
    """A trained model's extractor: its tagger, normaliser and precise-name dictionary."""
    return Extractor(tagger, normaliser(model_dir, data_dir), recall=recall_tagger(model_dir), **kwargs)


def dictionary_tagger(model_dir: str | None = None) -> DictionaryTagger:
    """The dictionary extractor's tagger: a model's gold names (default: the shipped release's) plus the packages."""
    lexicon = lexicon_path(model_dir)
    return build_cache.cached_build("dictionary", _key(contents=[lexicon]),
                                    lambda: DictionaryTagger((*gold_lexicon(model_dir), *package_entries())),
                                    slot=build_cache.digest_or_missing(lexicon))


class NoModelError(RuntimeError):
    """The nightly extraction has no fine-tuned model and the operator did not choose the dictionary."""


NO_MODEL = (
    "no fine-tuned {kind} model: the registry has no champion and no shipped release of kind {kind!r} is under "
    "models/releases/. Import one with `medkb model import models/releases/VERSION`, train one with "
    "`medkb train ner --config models/ner.yaml --promote`, or set MEDKB_EXTRACTOR=dictionary to extract "
    "with the dictionary extractor on purpose"
)


def build_extractor(settings: Settings, conn: Any, *, precision: str = "auto", kind: str = "ner") -> Extractor:
    """The champion's extractor; the dictionary extractor only when `settings.extractor` says so.

    A registry without a champion first imports the shipped serving release (models/releases/),
    which is what a fresh machine runs; failing that the run stops with NoModelError rather than
    quietly extracting with the dictionary.
    """
    from medkb.nlp.ner import TransformerTagger

    hpo = phenotype_normaliser(str(settings.data_dir / "ontologies" / "hp.obo"))
    if settings.extractor == "dictionary":
        log.info("extractor: %s (MEDKB_EXTRACTOR=dictionary, chosen by the operator)", DictionaryTagger.version)
        return Extractor(dictionary_tagger(), normaliser(None, str(settings.data_dir)), phenotypes=hpo,
                         relations=champion_relations(settings, conn, relation_choice(), precision))
    champ = champion(conn, kind)
    if champ is None:
        for version in ensure_shipped_models(settings, conn):
            log.info("registry had no champion: imported the shipped release %s from models/releases", version)
        champ = champion(conn, kind)
    if champ is None:
        raise NoModelError(NO_MODEL.format(kind=kind))
    tagger = TransformerTagger(champ.path, precision=precision)
    tagger.version = champ.version
    log.info("extractor: fine-tuned %s champion %s (%s)", kind, champ.version, tagger.precision)
    # INDUCES from the `re` champion; MEDKB_RELATIONS=cue_words is the operator's choice of the cue-word scorer
    relations = champion_relations(settings, conn, relation_choice(), precision)
    return model_extractor(champ.path, tagger, str(settings.data_dir), phenotypes=hpo, relations=relations)

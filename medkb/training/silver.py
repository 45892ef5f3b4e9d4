"""Refinement training set: gold training data plus silver labels on newly ingested abstracts.

A document becomes silver only if every span the champion found in it is confident (score at or
above `min_score`) and linked to a vocabulary concept: partial labels would teach the model that
the rest is O. Silver documents are capped at `ratio` times the gold document count.
"""

from __future__ import annotations

from pathlib import Path

from medkb.nlp.extract import DocExtraction, Extractor, SourceDoc


def select_silver(results: list[DocExtraction], min_score: float = 0.9) -> list[DocExtraction]:
    """The documents whose Chemical/Disease mentions are all confident and linked (and at least one)."""
    out = []
    for r in results:
        ms = [m for m in r.mentions if m.type in ("Chemical", "Disease")]
        if ms and all(m.score >= min_score and m.concept_id for m in ms):
            out.append(r)
    return out


def write_pubtator(path: Path, docs: list[SourceDoc], results: list[DocExtraction]) -> Path:
    """Silver documents in PubTator format (the trainer reads them like gold)."""
    by_id = {d.doc_id: d for d in docs}
    with open(path, "w", encoding="utf-8") as fh:
        for r in results:
            d = by_id[r.doc_id]
            pmid = d.doc_id.split(":", 1)[-1]
            fh.write(f"{pmid}|t|{d.title}\n{pmid}|a|{d.abstract}\n")
            for m in r.mentions:
                if m.type in ("Chemical", "Disease"):
                    fh.write(f"{pmid}\t{m.start}\t{m.end}\t{m.text}\t{m.type}\t{(m.concept_id or '-1').removeprefix('MESH:')}\n")
            fh.write("\n")
    return path


def build_silver_set(extractor: Extractor, docs: list[SourceDoc], gold_docs: int, path: Path, *,
                     ratio: float = 0.5, min_score: float = 0.9) -> dict[str, int]:
    """Label `docs` with the extractor, keep the confident ones up to `ratio * gold_docs`, write PubTator."""
    results = extractor.extract(docs)
    chosen = select_silver(results, min_score)[: int(ratio * gold_docs)]
    write_pubtator(path, docs, chosen)
    return {"candidates": len(docs), "silver": len(chosen), "cap": int(ratio * gold_docs)}

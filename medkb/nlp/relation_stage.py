"""The extractor's relation step: the relation champion (default) or the cue-word scorer (operator's choice).

Both turn one document's linked mentions into INDUCES assertions in the shape the graph loader takes
(nlp/extracted.py): subject, object, score, the evidence sentence(s) with character offsets and the
model version. The model's assertions carry the relation model's version; the extractor prefixes
its tagger's (`ner-...+re-...`) so that re-extracting replaces exactly its own rows.
"""

from __future__ import annotations

from typing import Any, Protocol

from medkb.nlp.extracted import ExtractedAssertion
from medkb.nlp.relation_candidates import MeshTree, doc_candidates
from medkb.nlp.relation_classifier import RelationClassifier
from medkb.nlp.relations import LinkedSpan, extract_relations

CHOICES = ("model", "cue_words")
CUE_WORDS_VERSION = "cue-words-v1"


class RelationStep(Protocol):
    version: str

    def assertions(self, doc_id: str, text: str, sentences: list[tuple[int, int]], spans: list[LinkedSpan],
                   title_end: int, model: str) -> tuple[ExtractedAssertion, ...]: ...


class ModelRelations:
    """The trained CID classifier: every chemical/disease pair of the document is scored."""

    def __init__(self, classifier: RelationClassifier, tree: MeshTree | None = None) -> None:
        self.classifier = classifier
        self.tree = tree
        self.version = classifier.version

    def assertions(self, doc_id: str, text: str, sentences: list[tuple[int, int]], spans: list[LinkedSpan],
                   title_end: int, model: str) -> tuple[ExtractedAssertion, ...]:
        cand = doc_candidates(doc_id, text, sentences, spans, title_end)
        if not cand.candidates:
            return ()
        [pairs] = self.classifier.predict([cand], self.tree)
        return tuple(ExtractedAssertion(p.chemical_id, "INDUCES", p.disease_id, p.score, doc_id, p.sentence(text),
                                        p.start, p.end, model) for p in pairs)


class CueWordRelations:
    """The transparent baseline of nlp/relations.py: one sentence, cue words, hand-set weights."""

    version = CUE_WORDS_VERSION

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = threshold

    def assertions(self, doc_id: str, text: str, sentences: list[tuple[int, int]], spans: list[LinkedSpan],
                   title_end: int, model: str) -> tuple[ExtractedAssertion, ...]:
        kwargs = {} if self.threshold is None else {"threshold": self.threshold}
        rels = extract_relations(text, sentences, spans, title_end, **kwargs)
        return tuple(ExtractedAssertion(r.chemical_id, "INDUCES", r.disease_id, r.score, doc_id, text[r.start : r.end],
                                        r.start, r.end, model) for r in rels)


def model_relations(model_dir: str, data_dir: str | None, *, precision: str = "auto", version: str | None = None) -> ModelRelations:
    """A relation model directory as the extractor's relation step (MeSH tree for hypernym filtering)."""
    from medkb.nlp.relation_candidates import mesh_tree

    clf = RelationClassifier(model_dir, precision=precision)
    if version:
        clf.version = version
    return ModelRelations(clf, mesh_tree(data_dir) if data_dir else None)


def relation_choice(env: dict[str, str] | None = None) -> str:
    """The operator's relation extractor: MEDKB_RELATIONS = model (default, the `re` champion) or cue_words."""
    import os

    choice = (os.environ if env is None else env).get("MEDKB_RELATIONS", "model").strip() or "model"
    if choice not in CHOICES:
        raise ValueError(f"MEDKB_RELATIONS={choice!r}: choose one of {CHOICES}")
    return choice


def champion_relations(settings: Any, conn: Any, choice: str = "model", precision: str = "auto") -> RelationStep | None:
    """The relation step the nightly extraction runs: the `re` champion, or the cue-word scorer when the
    operator chose it; None (the cue-word scorer) with a log line when there is no champion yet."""
    import logging

    from medkb.registry import champion

    if choice not in CHOICES:
        raise ValueError(f"relation extractor {choice!r}: choose one of {CHOICES} (MEDKB_RELATIONS)")
    if choice == "cue_words":
        return CueWordRelations()
    champ = champion(conn, "re")
    if champ is None:
        logging.getLogger(__name__).warning(
            "no champion relation model (kind re): INDUCES from the cue-word scorer; train one with "
            "`medkb train re --config models/re.yaml`, then `medkb model promote VERSION`")
        return None
    return model_relations(champ.path, str(settings.data_dir), precision=precision, version=champ.version)

"""Small, known extraction inputs for the graph tests."""

from __future__ import annotations

from medkb.nlp.extracted import ExtractedAssertion, Mention

MODEL = "ner-test-1"


def mention(doc: str, start: int, concept: str | None, type_: str = "Chemical", model: str = MODEL) -> Mention:
    return Mention(doc_id=doc, start=start, end=start + 5, text=f"t{start}", type=type_, concept_id=concept,
                   score=0.9, model=model)


def assertion(doc: str, chem: str, disease: str, start: int = 0, score: float = 0.8,
              predicate: str = "INDUCES", model: str = MODEL, sentence: str | None = None) -> ExtractedAssertion:
    return ExtractedAssertion(subject_id=chem, predicate=predicate, object_id=disease, score=score, doc_id=doc,
                              sentence=sentence or f"{chem} {predicate.lower()} {disease} in {doc}.",
                              start=start, end=start + 40, model=model)


def input_a() -> tuple[list[Mention], list[ExtractedAssertion]]:
    """Two documents: lithium induces tremor (twice), haloperidol induces tremor once."""
    mentions = [
        mention("PMID:1", 0, "MESH:D008094"), mention("PMID:1", 20, "MESH:D014202", "Disease"),
        mention("PMID:1", 50, "MESH:D008094"), mention("PMID:1", 70, None, "Disease"),
        mention("PMID:2", 0, "MESH:D008094"), mention("PMID:2", 30, "MESH:D014202", "Disease"),
        mention("PMID:2", 60, "MESH:D006220"),
    ]
    assertions = [
        assertion("PMID:1", "MESH:D008094", "MESH:D014202", 0, 0.9),
        assertion("PMID:2", "MESH:D008094", "MESH:D014202", 0, 0.7),
        assertion("PMID:2", "MESH:D006220", "MESH:D014202", 50, 0.6),
    ]
    return mentions, assertions


def input_b() -> tuple[list[Mention], list[ExtractedAssertion]]:
    """A new document (PMID:3), and PMID:2 re-extracted: haloperidol evidence gone, a new score."""
    mentions = [
        mention("PMID:2", 0, "MESH:D008094"), mention("PMID:2", 30, "MESH:D014202", "Disease"),
        mention("PMID:3", 0, "MESH:D002220"), mention("PMID:3", 30, "MESH:D003924", "Disease"),
    ]
    assertions = [
        assertion("PMID:2", "MESH:D008094", "MESH:D014202", 0, 0.95),
        assertion("PMID:3", "MESH:D002220", "MESH:D003924", 10, 0.5),
        assertion("PMID:3", "MESH:D002220", "MESH:D014202", 60, 0.4, predicate="TREATS"),
    ]
    return mentions, assertions

"""What the graph can hold: extracted records are checked once, before loading, and the ones it
cannot hold become quarantine entries (the rest of the batch goes on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from functools import lru_cache

from medkb.nlp.extracted import ExtractedAssertion, Mention
from medkb.staging.quarantine import QuarantineEntry


@lru_cache(maxsize=1 << 16)  # ids repeat across rows: a load checks each distinct one once
def _is_curie(value: str | None) -> bool:
    prefix, sep, local = (value or "").partition(":")
    return bool(sep and prefix and local and " " not in value)


Unloadable = tuple["Mention | ExtractedAssertion", str]  # (record, reason)


def check_records(
    mentions: Sequence[Mention], assertions: Sequence[ExtractedAssertion]
) -> tuple[list[Mention], list[ExtractedAssertion], list[Unloadable]]:
    """Split off records the graph cannot hold; return the good ones and (record, reason) per bad one."""
    bad: list[Unloadable] = []
    good_m = []
    for m in mentions:
        if not _is_curie(m.doc_id) or (m.concept_id is not None and not _is_curie(m.concept_id)):
            bad.append((m, f"mention {m.doc_id}:{m.start}-{m.end} ({m.model}): doc or concept id "
                           f"{m.concept_id!r} is not a CURIE (PREFIX:local); fix the normaliser's output"))
        else:
            good_m.append(m)
    good_a = []
    for a in assertions:
        if not (_is_curie(a.subject_id) and _is_curie(a.object_id) and _is_curie(a.doc_id)):
            bad.append((a, f"assertion {a.key} in {a.doc_id} ({a.model}): subject, object or document is not a CURIE"))
        elif not 0.0 <= a.score <= 1.0 or not a.sentence:
            bad.append((a, f"assertion {a.key} in {a.doc_id} ({a.model}): score {a.score} outside 0..1 or no sentence"))
        else:
            good_a.append(a)
    return good_m, good_a, bad


def quarantine_entries(rejected: Sequence[Unloadable]) -> list[QuarantineEntry]:
    """One quarantine entry per record the graph cannot hold, the record as payload, keyed by its row."""
    entries = []
    for record, reason in rejected:
        if isinstance(record, Mention):
            key = f"{record.doc_id}|mention|{record.start}-{record.end}|{record.type}|{record.model}"
        else:
            key = f"{record.doc_id}|assertion|{record.key}|{record.start}|{record.model}"
        entries.append(QuarantineEntry(
            source="extraction", key=key, version=1, stage="load",
            reasons=[{"expectation": "graph_loadable", "message": reason}], payload=asdict(record),
        ))
    return entries

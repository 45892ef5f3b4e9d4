"""HPO id hygiene: obsolete ids and alternative ids mapped to the current primary term.

`read_obo` skips obsolete stanzas (the graph holds only live terms), but cases written against an
older HPO release still carry them: hp.obo keeps an obsolete stanza with `replaced_by` when a term
was merged or renamed, and the live term lists the ids it absorbed as `alt_id`. Cases and the
ranking both resolve ids through this map, so "obsolete → replacement, unknown → reported" has one
source of truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HpoIdMap:
    """`live`: current primary ids; `replaced`: obsolete or alternative id -> current primary id;
    `obsolete`: obsolete ids with no replacement (hp.obo gives only `consider` hints for them)."""

    live: frozenset[str]
    replaced: Mapping[str, str] = field(default_factory=dict)
    obsolete: frozenset[str] = frozenset()
    version: str = ""

    def resolve(self, hpo_id: str) -> tuple[str | None, str]:
        """(current id or None, status): status is 'ok', 'replaced', 'obsolete' or 'unknown'."""
        if hpo_id in self.live:
            return hpo_id, "ok"
        if hpo_id in self.replaced:
            return self.replaced[hpo_id], "replaced"
        if hpo_id in self.obsolete:
            return None, "obsolete"
        return None, "unknown"


def read_hpo_id_map(path: Path) -> HpoIdMap:
    """Read hp.obo's [Term] stanzas for ids, alt_ids, is_obsolete and replaced_by."""
    live: set[str] = set()
    alt: dict[str, str] = {}
    replaced_by: dict[str, str] = {}
    obsolete: set[str] = set()
    version = ""
    stanza: dict[str, list[str]] | None = None

    def emit(s: dict[str, list[str]]) -> None:
        ids = s.get("id")
        if not ids:
            return
        tid = ids[0]
        if s.get("is_obsolete") == ["true"]:
            if s.get("replaced_by"):
                replaced_by[tid] = s["replaced_by"][0]
            else:
                obsolete.add(tid)
            return
        live.add(tid)
        for a in s.get("alt_id", []):
            alt[a] = tid

    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if stanza is None and line.startswith("data-version:"):
                version = line.split(":", 1)[1].strip()
            if line.startswith("["):
                if stanza is not None:
                    emit(stanza)
                stanza = {} if line == "[Term]" else None
                continue
            if stanza is not None and ":" in line:
                key, value = line.split(":", 1)
                stanza.setdefault(key, []).append(value.split("!")[0].strip())
    if stanza is not None:
        emit(stanza)
    return build_id_map(live, {**alt, **replaced_by}, obsolete, version)


def build_id_map(live: Iterable[str], replaced: Mapping[str, str], obsolete: Iterable[str] = (),
                 version: str = "") -> HpoIdMap:
    """Follow replacement chains (an obsolete term replaced by one later made obsolete) to a live id."""
    live_set = frozenset(live)
    out: dict[str, str] = {}
    dead = set(obsolete)
    for old in replaced:
        target, seen = replaced[old], {old}
        while target not in live_set and target in replaced and target not in seen:
            seen.add(target)
            target = replaced[target]
        if target in live_set:
            out[old] = target
        else:
            dead.add(old)
    return HpoIdMap(live=live_set, replaced=out, obsolete=frozenset(dead - live_set), version=version)

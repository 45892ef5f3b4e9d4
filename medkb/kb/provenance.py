"""Per-run change records: how a run that *changes* or *deletes* something can be undone.

What a run creates carries its id (`created_run` on nodes, `run` on relationships) and a rollback
simply deletes it. What a run changes or deletes that an earlier run made is first copied into a
`(:Change)` node, in the same statement (so in the same transaction) as the change itself:
`cid` = run|kind|key makes the copy happen once per run, so the *first* before-image wins even
when an interrupted load is re-run. `medkb kb rollback RUN` writes the copies back.

The fragments below are spliced into the writers' statements; they expect `$run` and bind nothing.
"""

from __future__ import annotations

from typing import LiteralString

# Bookkeeping properties of a Change node; everything else on it is the before-image.
CHANGE_FIELDS: tuple[str, ...] = ("cid", "change_run", "change_kind", "change_label", "rel_type", "from_id", "to_id")
BOOKKEEPING_LABELS: tuple[str, ...] = ("Run", "Change")


def node_changed(var: LiteralString, label: LiteralString) -> LiteralString:
    """Copy node `var` (not created by this run) before it is changed."""
    return (
        "FOREACH (_ IN CASE WHEN coalesce(" + var + ".created_run, '') <> $run THEN [1] ELSE [] END | "
        "MERGE (ch:Change {cid: $run + '|node_changed|" + label + "|' + " + var + ".id}) "
        "ON CREATE SET ch += properties(" + var + "), ch.change_run = $run, ch.change_kind = 'node_changed', "
        "ch.change_label = '" + label + "') "
    )


def node_deleted(var: LiteralString, label: LiteralString) -> LiteralString:
    """Copy node `var` (not created by this run) before it is deleted."""
    return (
        "FOREACH (_ IN CASE WHEN coalesce(" + var + ".created_run, '') <> $run THEN [1] ELSE [] END | "
        "MERGE (ch:Change {cid: $run + '|node_deleted|" + label + "|' + " + var + ".id}) "
        "ON CREATE SET ch += properties(" + var + "), ch.change_run = $run, ch.change_kind = 'node_deleted', "
        "ch.change_label = '" + label + "') "
    )


def rel_touched(kind: LiteralString, var: LiteralString, rel_type: LiteralString,
                from_var: LiteralString, to_var: LiteralString) -> LiteralString:
    """Copy relationship `var` (not created by this run) before it is changed (`rel_changed`) or
    deleted (`rel_deleted`). Its identity is (type, from id, to id, start (EVIDENCE only), model)."""
    return (
        "FOREACH (_ IN CASE WHEN coalesce(" + var + ".run, '') <> $run THEN [1] ELSE [] END | "
        "MERGE (ch:Change {cid: $run + '|" + kind + "|" + rel_type + "|' + " + from_var + ".id + '|' + "
        + to_var + ".id + '|' + coalesce(toString(" + var + ".start) + '|', '') + coalesce(" + var + ".model, '')}) "
        "ON CREATE SET ch += properties(" + var + "), ch.change_run = $run, ch.change_kind = '" + kind + "', "
        "ch.rel_type = '" + rel_type + "', ch.from_id = " + from_var + ".id, ch.to_id = " + to_var + ".id) "
    )


# A Change node's before-image as a map (bookkeeping fields nulled, which SET n = map drops).
BEFORE_IMAGE: LiteralString = (
    "ch {.*, cid: null, change_run: null, change_kind: null, change_label: null, "
    "rel_type: null, from_id: null, to_id: null}"
)

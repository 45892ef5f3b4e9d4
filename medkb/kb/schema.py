"""The graph's constraints and indexes. `medkb kb init` applies them; applying twice changes nothing."""

from __future__ import annotations

from typing import LiteralString

from medkb.kb.client import GraphClient
from medkb.vocabulary import ENTITY_TYPES

# One label per kind of node, each with a unique CURIE `id`.
CONCEPT_LABELS: tuple[str, ...] = ENTITY_TYPES
NODE_LABELS: tuple[str, ...] = (*CONCEPT_LABELS, "Document", "Assertion", "Run")

# Written out rather than formatted from the label list: Cypher cannot take a label as a
# parameter, and literal statements keep every query in the codebase greppable.
STATEMENTS: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT chemical_id IF NOT EXISTS FOR (n:Chemical) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT disease_id IF NOT EXISTS FOR (n:Disease) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT phenotype_id IF NOT EXISTS FOR (n:Phenotype) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT gene_id IF NOT EXISTS FOR (n:Gene) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (n:Document) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT document_pmid IF NOT EXISTS FOR (n:Document) REQUIRE n.pmid IS UNIQUE",
    "CREATE CONSTRAINT assertion_id IF NOT EXISTS FOR (n:Assertion) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT run_id IF NOT EXISTS FOR (n:Run) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX chemical_name IF NOT EXISTS FOR (n:Chemical) ON (n.name)",
    "CREATE INDEX disease_name IF NOT EXISTS FOR (n:Disease) ON (n.name)",
    "CREATE INDEX phenotype_name IF NOT EXISTS FOR (n:Phenotype) ON (n.name)",
    "CREATE INDEX document_run IF NOT EXISTS FOR (n:Document) ON (n.run)",
    "CREATE INDEX assertion_run IF NOT EXISTS FOR (n:Assertion) ON (n.run)",
    # Every concept also carries `Concept`, so the loader finds one by id whatever its kind.
    "CREATE CONSTRAINT concept_id IF NOT EXISTS FOR (n:Concept) REQUIRE n.id IS UNIQUE",
    # Provenance: what each run created (rollback deletes it) and what it changed (kb/provenance.py).
    "CREATE CONSTRAINT change_cid IF NOT EXISTS FOR (n:Change) REQUIRE n.cid IS UNIQUE",
    "CREATE INDEX change_run IF NOT EXISTS FOR (n:Change) ON (n.change_run)",
    "CREATE INDEX concept_created_run IF NOT EXISTS FOR (n:Concept) ON (n.created_run)",
    "CREATE INDEX document_created_run IF NOT EXISTS FOR (n:Document) ON (n.created_run)",
    "CREATE INDEX assertion_created_run IF NOT EXISTS FOR (n:Assertion) ON (n.created_run)",
    "CREATE INDEX assertion_first_seen IF NOT EXISTS FOR (n:Assertion) ON (n.first_seen)",
    "CREATE INDEX evidence_run IF NOT EXISTS FOR ()-[r:EVIDENCE]-() ON (r.run)",
    "CREATE INDEX mentions_run IF NOT EXISTS FOR ()-[r:MENTIONS]-() ON (r.run)",
    "CREATE FULLTEXT INDEX concept_names IF NOT EXISTS "
    "FOR (n:Chemical|Disease|Phenotype|Gene) ON EACH [n.name, n.synonyms_text]",
)


# Dropped from earlier versions. evidence_key: no statement reads EVIDENCE by key (MERGE expands
# between its two end nodes), and keeping it up to date cost about 10 % of the load time.
OBSOLETE: tuple[LiteralString, ...] = ("DROP INDEX evidence_key IF EXISTS",)


def schema_names(client: GraphClient) -> set[str]:
    rows = client.read("SHOW CONSTRAINTS YIELD name RETURN name")
    rows += client.read("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name")
    return {r["name"] for r in rows}


def init_schema(client: GraphClient) -> list[str]:
    """Create what is missing; return the names created (empty on a second run)."""
    before = schema_names(client)
    for stmt in (*OBSOLETE, *STATEMENTS):
        client.write(stmt)
    client.write("CALL db.awaitIndexes(300)")
    return sorted(schema_names(client) - before)

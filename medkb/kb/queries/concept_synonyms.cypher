// name: concept_synonyms
// description: A concept's name, synonyms, external cross-references and XREF links to other vocabularies.
// param: id (string, required) CURIE of any concept
MATCH (c:Concept {id: $id})
OPTIONAL MATCH (c)-[:XREF]-(x:Concept)
WITH c, x ORDER BY x.id
RETURN c.id AS id, c.name AS name, c.synonyms AS synonyms, c.xrefs AS xrefs,
       [l IN labels(c) WHERE l <> 'Concept'] AS kind, collect(x.id) AS linked

// name: single_document_assertions
// description: Assertions supported by one document only (current evidence; candidates for review), weakest first.
// param: limit (int, default 100) at most this many assertions
MATCH (a:Assertion) WHERE a.docs = 1
MATCH (a)-[e:EVIDENCE]->(doc:Document) WHERE e.superseded_by_run IS NULL
RETURN a.id AS assertion, doc.pmid AS pmid, e.sentence AS sentence, e.model AS model, a.score AS score
ORDER BY score, assertion
LIMIT $limit

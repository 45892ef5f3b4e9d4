// name: single_document_assertions
// description: Assertions supported by one document only (candidates for review), weakest first.
// param: limit (int, default 100) at most this many assertions
MATCH (a:Assertion) WHERE a.docs = 1
MATCH (a)-[e:EVIDENCE]->(doc:Document)
RETURN a.id AS assertion, doc.pmid AS pmid, e.sentence AS sentence, a.score AS score
ORDER BY score, assertion
LIMIT $limit

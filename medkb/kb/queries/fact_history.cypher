// name: fact_history
// description: A fact's history: every model that asserted it, when, in which sentence, and whether that evidence is current or was superseded (by which run and model).
// param: subject (string, required) CURIE of the subject, e.g. MESH:D008094 (lithium)
// param: object (string, required) CURIE of the object, e.g. MESH:D014202 (tremor)
// param: predicate (string, default "INDUCES") INDUCES, TREATS or ASSOCIATED_WITH
MATCH (a:Assertion {id: $subject + '|' + $predicate + '|' + $object})-[e:EVIDENCE]->(doc:Document)
RETURN e.model AS model, e.run AS run, e.seen AS seen, doc.pmid AS pmid, e.sentence AS sentence,
       e.score AS score, CASE WHEN e.superseded_by_run IS NULL THEN 'current' ELSE 'superseded' END AS status,
       e.superseded_by_run AS superseded_by_run, e.superseded_by_model AS superseded_by_model,
       e.superseded_at AS superseded_at
ORDER BY seen, model, pmid, e.start

// name: induced_diseases
// description: Diseases a chemical induces, strongest first, with the current evidence sentences and PMIDs (fact_history shows superseded evidence too).
// param: chemical (string, required) CURIE of the chemical, e.g. MESH:D008094 (lithium)
// param: limit (int, default 25) at most this many diseases
MATCH (c:Chemical {id: $chemical})-[i:INDUCES]->(d:Disease)
MATCH (a:Assertion {id: c.id + '|INDUCES|' + d.id})-[e:EVIDENCE]->(doc:Document) WHERE e.superseded_by_run IS NULL
WITH d, i, e, doc ORDER BY doc.id, e.start
WITH d, i, collect({pmid: doc.pmid, sentence: e.sentence, score: e.score, model: e.model}) AS evidence
RETURN d.id AS disease, d.name AS name, i.docs AS docs, i.score AS score, i.models AS models, evidence
ORDER BY docs DESC, score DESC, disease
LIMIT $limit

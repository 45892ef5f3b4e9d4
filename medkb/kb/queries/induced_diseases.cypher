// name: induced_diseases
// description: Diseases a chemical induces, strongest first, with the evidence sentences and PMIDs.
// param: chemical (string, required) CURIE of the chemical, e.g. MESH:D008094 (lithium)
// param: limit (int, default 25) at most this many diseases
MATCH (c:Chemical {id: $chemical})-[i:INDUCES]->(d:Disease)
MATCH (a:Assertion {id: c.id + '|INDUCES|' + d.id})-[e:EVIDENCE]->(doc:Document)
WITH d, i, e, doc ORDER BY doc.id, e.start
WITH d, i, collect({pmid: doc.pmid, sentence: e.sentence, score: e.score}) AS evidence
RETURN d.id AS disease, d.name AS name, i.docs AS docs, i.score AS score, evidence
ORDER BY docs DESC, score DESC, disease
LIMIT $limit

// name: strongest_pairs
// description: Chemical-disease INDUCES pairs supported by the most documents.
// param: limit (int, default 20) at most this many pairs
// param: min_docs (int, default 1) only pairs with at least this many documents
MATCH (c:Chemical)-[i:INDUCES]->(d:Disease)
WHERE i.docs >= $min_docs
RETURN c.id AS chemical, c.name AS chemical_name, d.id AS disease, d.name AS disease_name,
       i.docs AS docs, i.score AS score
ORDER BY docs DESC, score DESC, chemical, disease
LIMIT $limit

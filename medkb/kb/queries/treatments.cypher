// name: treatments
// description: Chemicals reported to treat a disease, by number of documents.
// param: disease (string, required) CURIE of the disease
MATCH (c:Chemical)-[t:TREATS]->(d:Disease {id: $disease})
RETURN c.id AS chemical, c.name AS name, t.docs AS docs, t.score AS score
ORDER BY docs DESC, chemical

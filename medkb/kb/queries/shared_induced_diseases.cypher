// name: shared_induced_diseases
// description: Other chemicals that induce the same diseases as the given chemical, by how many they share.
// param: chemical (string, required) CURIE of the chemical
// param: limit (int, default 20) at most this many chemicals
MATCH (c:Chemical {id: $chemical})-[:INDUCES]->(d:Disease)<-[:INDUCES]-(other:Chemical)
WHERE other <> c
WITH other, collect(DISTINCT d.id) AS shared
RETURN other.id AS chemical, other.name AS name, size(shared) AS shared_count, shared
ORDER BY shared_count DESC, chemical
LIMIT $limit

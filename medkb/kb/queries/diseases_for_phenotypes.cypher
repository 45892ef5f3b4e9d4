// name: diseases_for_phenotypes
// description: Diseases annotated with the most of the given phenotypes (exact terms), best match first.
// param: phenotypes (list of strings, required) HPO ids, e.g. ["HP:0001250","HP:0001263"]
// param: limit (int, default 20) at most this many diseases
UNWIND $phenotypes AS pid
MATCH (d:Disease)-[:HAS_PHENOTYPE]->(p:Phenotype {id: pid})
WITH d, collect(p.id) AS matched
RETURN d.id AS disease, d.name AS name, size(matched) AS matched_count, matched
ORDER BY matched_count DESC, disease
LIMIT $limit

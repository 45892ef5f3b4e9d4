// name: phenotype_ancestors
// description: All broader terms of an HPO phenotype (IS_A, transitively), nearest first.
// param: phenotype (string, required) an HPO id, e.g. HP:0001250
MATCH path = (p:Phenotype {id: $phenotype})-[:IS_A*1..]->(anc:Phenotype)
WITH anc, min(length(path)) AS distance
RETURN anc.id AS ancestor, anc.name AS name, distance
ORDER BY distance, ancestor

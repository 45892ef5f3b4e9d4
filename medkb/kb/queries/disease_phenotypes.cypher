// name: disease_phenotypes
// description: Phenotypes of a disease (HPO annotations) with frequency, onset and evidence codes.
// param: disease (string, required) CURIE of the disease, e.g. OMIM:154700
MATCH (d:Disease {id: $disease})-[h:HAS_PHENOTYPE]->(p:Phenotype)
RETURN p.id AS phenotype, p.name AS name, h.frequency AS frequency, h.onset AS onset, h.evidence AS evidence
ORDER BY phenotype

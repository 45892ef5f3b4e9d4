// name: concept_search
// description: Find concepts by name or synonym (full-text, Lucene syntax), best match first.
// param: text (string, required) words to look for, e.g. "seizure"
// param: limit (int, default 10) at most this many concepts
CALL db.index.fulltext.queryNodes('concept_names', $text) YIELD node, score
RETURN node.id AS id, node.name AS name, [l IN labels(node) WHERE l <> 'Concept'] AS kind, score
ORDER BY score DESC, id
LIMIT $limit

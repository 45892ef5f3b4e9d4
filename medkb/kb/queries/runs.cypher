// name: runs
// description: The runs recorded in the graph (seeds and refreshes) with their kind and status.
// param: limit (int, default 50) at most this many runs
MATCH (r:Run)
RETURN r.id AS run, r.kind AS kind, r.status AS status, r.as_of AS as_of
ORDER BY run
LIMIT $limit

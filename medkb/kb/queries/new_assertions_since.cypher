// name: new_assertions_since
// description: Assertions first seen on or after a date (YYYY-MM-DD), newest first.
// param: since (string, required) a date, e.g. 2026-11-01
// param: limit (int, default 100) at most this many assertions
MATCH (a:Assertion) WHERE a.first_seen >= $since
RETURN a.id AS assertion, a.subject AS subject, a.predicate AS predicate, a.object AS object,
       a.first_seen AS first_seen, a.docs AS docs
ORDER BY first_seen DESC, assertion
LIMIT $limit

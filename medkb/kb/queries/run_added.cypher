// name: run_added
// description: What a run added: assertions it created and evidence it contributed, with counts per kind.
// param: run (string, required) the run id
CALL () {
  MATCH (a:Assertion {created_run: $run}) RETURN 'assertions' AS kind, count(a) AS n
  UNION ALL MATCH ()-[e:EVIDENCE {run: $run}]->() RETURN 'evidence' AS kind, count(e) AS n
  UNION ALL MATCH ()-[m:MENTIONS {run: $run}]->() RETURN 'mentions' AS kind, count(m) AS n
  UNION ALL MATCH (d:Document {created_run: $run}) RETURN 'documents' AS kind, count(d) AS n
  UNION ALL MATCH (c:Concept {created_run: $run}) RETURN 'concepts' AS kind, count(c) AS n
}
RETURN kind, n ORDER BY kind

// name: run_added
// description: What a run added: assertions it created and evidence it contributed, with counts per kind.
// param: run (string, required) the run id
CALL () {
  MATCH (a:Assertion {created_run: $run}) WITH count(a) AS n RETURN 'assertions' AS kind, n
  UNION ALL MATCH ()-[e:EVIDENCE {run: $run}]->() WITH count(e) AS n RETURN 'evidence' AS kind, n
  UNION ALL MATCH ()-[m:MENTIONS {run: $run}]->() WITH count(m) AS n RETURN 'mentions' AS kind, n
  UNION ALL MATCH (d:Document {created_run: $run}) WITH count(d) AS n RETURN 'documents' AS kind, n
  UNION ALL MATCH (c:Concept {created_run: $run}) WITH count(c) AS n RETURN 'concepts' AS kind, n
}
RETURN kind, n ORDER BY kind

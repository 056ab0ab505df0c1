// run_cases — the cases of one run as written back, with their members and evidence.
//
// Read-only; for the review UI and to check a push against cases.jsonl.
// Parameters:
//   $run_id  the run's id (summary.json's run_id).
// Returns one row per case: case_id, pattern, score, rules, explanation, members (list
// of {kind, id, role}), claim_ids (in no particular order); ordered by score descending,
// then case_id.
MATCH (k:Case {run_id: $run_id})
RETURN k.case_id AS case_id, k.pattern AS pattern, k.score AS score, k.rules AS rules,
       k.explanation AS explanation,
       [(e)-[r:IN_CASE]->(k) | {kind: toLower(head(labels(e))), id: e.id, role: r.role}]
         AS members,
       [(k)-[:EVIDENCE]->(c:Claim) | c.id] AS claim_ids
ORDER BY score DESC, case_id

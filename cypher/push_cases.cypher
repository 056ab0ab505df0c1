// push_cases — write one batch of a run's cases as (:Case) nodes.
//
// A case is keyed by key = run_id + '/' + case_id, so pushing a run again updates its
// cases in place and cases of different runs live side by side. Idempotent.
// Parameters:
//   $cases  list of maps {key, case_id, run_id, pattern, score (float), rules (list of
//           strings), explanation, explanation_en, detector, metrics (JSON text),
//           claims (int: evidence claims), members (int: entities named)}.
UNWIND $cases AS row
MERGE (k:Case {key: row.key})
SET k.case_id = row.case_id,
    k.run_id = row.run_id,
    k.pattern = row.pattern,
    k.score = row.score,
    k.rules = row.rules,
    k.explanation = row.explanation,
    k.explanation_en = row.explanation_en,
    k.detector = row.detector,
    k.metrics = row.metrics,
    k.claims = row.claims,
    k.members = row.members

// rule_concurrent_stay_elsewhere — a person's other claims elsewhere during a stay.
//
// For each given inpatient claim (a stay), the same person's outpatient and pharmacy
// claims at other institutions on days strictly between admission and discharge
// (住院期间异地就医购药), as the Python concurrent_stay detector adds them as evidence.
// Read-only.
// Parameters:
//   $stays  list of inpatient claim ids.
// Returns one row per stay that has such claims: stay (claim id), elsewhere (list of
// claim ids).
UNWIND $stays AS stay_id
MATCH (p:Patient)-[:MADE]->(s:Claim {id: stay_id})-[:AT]->(h:Institution)
MATCH (p)-[:MADE]->(o:Claim)-[:AT]->(other:Institution)
WHERE o.visit_type <> 'inpatient' AND other <> h
  AND o.start_day > s.start_day AND o.start_day < s.end_day
RETURN stay_id AS stay, collect(o.id) AS elsewhere

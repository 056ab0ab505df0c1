// rule_concurrent_stay — pairs of one person's inpatient stays at two institutions that
// overlap (同一时间多家住院). The Cypher twin of graphdetect.detectors.concurrent_stay.
//
// Two stays overlap by min(end_day) - max(start_day) days (admission and discharge days
// count as dates), as in the Python detector. graphdetect.neo4j.rules.concurrent_stays
// joins linked pairs into groups and adds the claims elsewhere
// (rule_concurrent_stay_elsewhere). Read-only.
// Parameters:
//   $min_overlap_days  int >= 1: days the two stays must overlap.
// Returns one row per pair, a < b: patient, a, b (claim ids), institution_a,
// institution_b, overlap_days; ordered by patient, a, b.
MATCH (p:Patient)-[:MADE]->(a:Claim {visit_type: 'inpatient'})-[:AT]->(ha:Institution)
MATCH (p)-[:MADE]->(b:Claim {visit_type: 'inpatient'})-[:AT]->(hb:Institution)
WHERE a.id < b.id AND ha <> hb
WITH p, a, b, ha, hb,
  CASE WHEN a.start_day > b.start_day THEN a.start_day ELSE b.start_day END AS first_day,
  CASE WHEN a.end_day < b.end_day THEN a.end_day ELSE b.end_day END AS last_day
WITH p, a, b, ha, hb, duration.inDays(first_day, last_day).days AS overlap_days
WHERE overlap_days >= $min_overlap_days
RETURN p.id AS patient, a.id AS a, b.id AS b, ha.id AS institution_a,
       hb.id AS institution_b, overlap_days
ORDER BY patient, a, b

// rule_split_stay — discharge and readmission to the same institution within days, for
// the same diagnosis (分解住院). The Cypher twin of graphdetect.detectors.split_stay.
//
// A person's inpatient stays at one institution are put in order (start_day, end_day,
// claim id); two consecutive stays link when the readmission day is 0..$max_gap_days
// days after the discharge day and both carry the same diagnosis (its first
// $diagnosis_prefix characters; 0 = the whole code). graphdetect.neo4j.rules.split_stays
// joins links into chains. Read-only. Unlike the detector, which falls back to the same
// doctor (or the gap alone) when the data has no diagnosis codes, this matches diagnoses
// only: on such data it finds no split.
// Parameters:
//   $max_gap_days      int >= 0
//   $diagnosis_prefix  int >= 0
// Returns one row per link: patient, institution, a, b (claim ids, a discharged first),
// gap_days, diagnosis; ordered by patient, institution, a.
MATCH (p:Patient)-[:MADE]->(c:Claim {visit_type: 'inpatient'})-[:AT]->(h:Institution)
WITH p, h, c
ORDER BY c.start_day, c.end_day, c.id
WITH p, h, collect(c) AS stays
WHERE size(stays) > 1
UNWIND range(0, size(stays) - 2) AS i
WITH p, h, stays[i] AS a, stays[i + 1] AS b
WITH p, h, a, b, duration.inDays(a.end_day, b.start_day).days AS gap_days,
  CASE WHEN $diagnosis_prefix = 0 THEN a.diagnosis_code
       ELSE substring(a.diagnosis_code, 0, $diagnosis_prefix) END AS dx_a,
  CASE WHEN $diagnosis_prefix = 0 THEN b.diagnosis_code
       ELSE substring(b.diagnosis_code, 0, $diagnosis_prefix) END AS dx_b
WHERE gap_days >= 0 AND gap_days <= $max_gap_days AND dx_a IS NOT NULL AND dx_a = dx_b
RETURN p.id AS patient, h.id AS institution, a.id AS a, b.id AS b, gap_days,
       a.diagnosis_code AS diagnosis
ORDER BY patient, institution, a

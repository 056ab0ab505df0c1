// rule_split_stay — discharge and readmission to the same institution within days, for
// the same diagnosis (分解住院). The Cypher twin of graphdetect.detectors.split_stay.
//
// A person's inpatient stays at one institution are put in order (start_day, end_day,
// claim id); two consecutive stays link when the readmission day is 0..$max_gap_days
// days after the discharge day and both carry the same diagnosis (an ICD-10 code's
// first $diagnosis_prefix characters, 3 being its category; another code, or any with
// $diagnosis_prefix = 0, whole), or, on data without diagnosis
// codes, the same doctor ($same = 'doctor') or nothing more ($same = 'nothing').
// graphdetect.neo4j.rules.split_stays picks $same from claims_carry and joins links
// into chains. Read-only.
// Parameters:
//   $max_gap_days      int >= 0
//   $diagnosis_prefix  int >= 0
//   $same              'diagnosis', 'doctor' or 'nothing'
// Returns one row per link: patient, institution, a, b (claim ids, a discharged first),
// gap_days, diagnosis; ordered by patient, institution, a.
MATCH (p:Patient)-[:MADE]->(c:Claim {visit_type: 'inpatient'})-[:AT]->(h:Institution)
OPTIONAL MATCH (c)-[:BY]->(d:Doctor)
WITH p, h, c, coalesce(d.id, '') AS doctor
ORDER BY c.start_day, c.end_day, c.id
WITH p, h, collect(c) AS stays, collect(doctor) AS doctors
WHERE size(stays) > 1
UNWIND range(0, size(stays) - 2) AS i
WITH p, h, stays[i] AS a, stays[i + 1] AS b, doctors[i] AS doctor_a,
  doctors[i + 1] AS doctor_b
WITH p, h, a, b, duration.inDays(a.end_day, b.start_day).days AS gap_days,
  CASE WHEN $same = 'doctor' THEN doctor_a
       WHEN $same = 'nothing' THEN 'any'
       WHEN $diagnosis_prefix = 0 OR NOT a.diagnosis_code =~ '[A-Za-z][0-9]{2}.*'
         THEN a.diagnosis_code
       ELSE substring(a.diagnosis_code, 0, $diagnosis_prefix) END AS key_a,
  CASE WHEN $same = 'doctor' THEN doctor_b
       WHEN $same = 'nothing' THEN 'any'
       WHEN $diagnosis_prefix = 0 OR NOT b.diagnosis_code =~ '[A-Za-z][0-9]{2}.*'
         THEN b.diagnosis_code
       ELSE substring(b.diagnosis_code, 0, $diagnosis_prefix) END AS key_b
WHERE gap_days >= 0 AND gap_days <= $max_gap_days AND key_a IS NOT NULL AND key_a <> ''
  AND key_a = key_b
RETURN p.id AS patient, h.id AS institution, a.id AS a, b.id AS b, gap_days,
       a.diagnosis_code AS diagnosis
ORDER BY patient, institution, a

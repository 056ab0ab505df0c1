// rule_co_admission — pairs of people admitted to the same institution on the same day,
// again and again (集中入院 / 聚集性就医): a screening query for collusion rings.
//
// Admissions are grouped by (institution, admission day); a day's group counts only
// when it holds 2..$max_admissions people (a big hospital's busy day is no evidence).
// Two people co-admitted on at least $min_occasions distinct days at one institution
// form a row. Read-only.
// Parameters:
//   $min_occasions   int >= 2: distinct co-admission days a pair needs.
//   $max_admissions  int >= 2: larger day groups are skipped.
//   $limit           int >= 1: at most this many rows, most occasions first.
// Returns: patient_a, patient_b (a < b), institution, occasions, days (dates, sorted);
// ordered by occasions descending, then institution, patient_a, patient_b.
MATCH (p:Patient)-[:MADE]->(c:Claim {visit_type: 'inpatient'})-[:AT]->(h:Institution)
WITH h, c.start_day AS day, collect(DISTINCT p.id) AS people
WHERE size(people) >= 2 AND size(people) <= $max_admissions
UNWIND people AS a
UNWIND people AS b
WITH h, day, a, b
WHERE a < b
WITH h, a, b, day
ORDER BY day
WITH h, a, b, collect(DISTINCT day) AS days
WHERE size(days) >= $min_occasions
RETURN a AS patient_a, b AS patient_b, h.id AS institution, size(days) AS occasions, days
ORDER BY occasions DESC, institution, patient_a, patient_b
LIMIT $limit

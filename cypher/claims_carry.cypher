// claims_carry — whether any claim carries a diagnosis code, and whether any names its
// doctor: what graphdetect.neo4j.rules.split_stays matches readmissions on (the
// diagnosis, else the doctor, else nothing), as the split_stay detector does. Read-only.
// Parameters: none.
// Returns one row: diagnosis, doctor (booleans).
OPTIONAL MATCH (c:Claim)
WHERE c.diagnosis_code IS NOT NULL
WITH c LIMIT 1
OPTIONAL MATCH (:Claim)-[b:BY]->(:Doctor)
WITH c, b LIMIT 1
RETURN c IS NOT NULL AS diagnosis, b IS NOT NULL AS doctor

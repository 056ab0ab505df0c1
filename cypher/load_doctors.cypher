// load_doctors — merge one batch of rows of the doctors table, with WORKS_AT.
//
// Idempotent: a doctor is keyed by its id; (:Doctor)-[:WORKS_AT]->(:Institution) is
// merged when the row names an institution (the institution node is merged too).
// Parameters:
//   $rows  list of maps {id, name, institution_id, specialty}; missing values are null.
UNWIND $rows AS row
MERGE (d:Doctor {id: row.id})
SET d.name = row.name,
    d.specialty = row.specialty
FOREACH (x IN CASE WHEN row.institution_id IS NULL THEN [] ELSE [1] END |
  MERGE (h:Institution {id: row.institution_id})
  MERGE (d)-[:WORKS_AT]->(h)
)

// load_claims — merge one batch of claims with their entities and relationships.
//
// Per row: the (:Claim) node and
//   (:Patient)-[:MADE]->(:Claim)-[:AT]->(:Institution), (:Claim)-[:WITH_CARD]->(:Card),
//   and, when the row has the id, (:Claim)-[:BY]->(:Doctor), (:Claim)-[:ON]->(:Terminal),
//   (:Claim)-[:RUN_BY]->(:Operator).
// Entity nodes are merged by id, so a claim may arrive before its patient's row.
// Idempotent: loading a batch again sets the same properties and merges nothing new.
// Parameters:
//   $rows  list of maps, one per claim:
//          claim_id, patient_id, institution_id, card_id (strings, required);
//          doctor_id, terminal_id, operator_id, diagnosis_code (strings or null);
//          visit_type ('outpatient' / 'inpatient' / 'pharmacy');
//          start_time, end_time (local datetimes; end_time null unless inpatient);
//          start_day, end_day (dates of start_time and end_time);
//          has_time (bool: start_time carries a time of day);
//          total_amount, fund_amount (floats, yuan; fund_amount may be null).
UNWIND $rows AS row
MERGE (c:Claim {id: row.claim_id})
SET c.visit_type = row.visit_type,
    c.start_time = row.start_time,
    c.end_time = row.end_time,
    c.start_day = row.start_day,
    c.end_day = row.end_day,
    c.has_time = row.has_time,
    c.total_amount = row.total_amount,
    c.fund_amount = row.fund_amount,
    c.diagnosis_code = row.diagnosis_code
MERGE (p:Patient {id: row.patient_id})
MERGE (p)-[:MADE]->(c)
MERGE (h:Institution {id: row.institution_id})
MERGE (c)-[:AT]->(h)
MERGE (k:Card {id: row.card_id})
MERGE (c)-[:WITH_CARD]->(k)
FOREACH (x IN CASE WHEN row.doctor_id IS NULL THEN [] ELSE [1] END |
  MERGE (d:Doctor {id: row.doctor_id})
  MERGE (c)-[:BY]->(d)
)
FOREACH (x IN CASE WHEN row.terminal_id IS NULL THEN [] ELSE [1] END |
  MERGE (t:Terminal {id: row.terminal_id})
  MERGE (c)-[:ON]->(t)
)
FOREACH (x IN CASE WHEN row.operator_id IS NULL THEN [] ELSE [1] END |
  MERGE (o:Operator {id: row.operator_id})
  MERGE (c)-[:RUN_BY]->(o)
)

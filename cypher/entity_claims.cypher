// entity_claims — one page of an entity's claims, oldest first, with the ids they link.
//
// Read-only; for the review UI's claim table of an entity.
// Parameters:
//   $kind   patient/doctor/institution/card/terminal/operator
//   $id     the entity's id
//   $skip   int >= 0: claims to pass over (paging)
//   $limit  int >= 1: claims to return at most
// Returns one row per claim: total (the entity's claims in all), claim_id, visit_type,
// start_time, end_time, total_amount, fund_amount, diagnosis_code, patient_id,
// institution_id, doctor_id, card_id, terminal_id, operator_id; ordered by start_time,
// claim_id. No row when the entity is unknown or has no claims.
WITH {kind: $kind, id: $id} AS ref
OPTIONAL MATCH (p:Patient {id: ref.id}) WHERE ref.kind = 'patient'
OPTIONAL MATCH (d:Doctor {id: ref.id}) WHERE ref.kind = 'doctor'
OPTIONAL MATCH (h:Institution {id: ref.id}) WHERE ref.kind = 'institution'
OPTIONAL MATCH (c:Card {id: ref.id}) WHERE ref.kind = 'card'
OPTIONAL MATCH (t:Terminal {id: ref.id}) WHERE ref.kind = 'terminal'
OPTIONAL MATCH (o:Operator {id: ref.id}) WHERE ref.kind = 'operator'
WITH coalesce(p, d, h, c, t, o) AS n
WHERE n IS NOT NULL
WITH n, COUNT { (n)-[:MADE|AT|BY|WITH_CARD|ON|RUN_BY]-(:Claim) } AS total
MATCH (n)-[:MADE|AT|BY|WITH_CARD|ON|RUN_BY]-(claim:Claim)
WITH total, claim
ORDER BY claim.start_time, claim.id
SKIP $skip LIMIT $limit
OPTIONAL MATCH (pa:Patient)-[:MADE]->(claim)
OPTIONAL MATCH (claim)-[:AT]->(ins:Institution)
OPTIONAL MATCH (claim)-[:BY]->(doc:Doctor)
OPTIONAL MATCH (claim)-[:WITH_CARD]->(card:Card)
OPTIONAL MATCH (claim)-[:ON]->(ter:Terminal)
OPTIONAL MATCH (claim)-[:RUN_BY]->(op:Operator)
RETURN total, claim.id AS claim_id, claim.visit_type AS visit_type,
       claim.start_time AS start_time, claim.end_time AS end_time,
       claim.total_amount AS total_amount, claim.fund_amount AS fund_amount,
       claim.diagnosis_code AS diagnosis_code, pa.id AS patient_id,
       ins.id AS institution_id, doc.id AS doctor_id, card.id AS card_id,
       ter.id AS terminal_id, op.id AS operator_id
ORDER BY start_time, claim_id

// push_members — link the entities a case names to it: (entity)-[:IN_CASE {role}]->(:Case).
//
// The entity is found by kind and id among the loaded nodes; members that are not in the
// graph (the run was made from other data) are skipped, and the count of linked rows
// tells the caller how many were found. Idempotent (MERGE with the role).
// Parameters:
//   $members  list of maps {case_key, kind (patient/doctor/institution/card/terminal/
//             operator), id, role}.
// Returns one row: linked (members found and linked).
UNWIND $members AS m
MATCH (k:Case {key: m.case_key})
OPTIONAL MATCH (p:Patient {id: m.id}) WHERE m.kind = 'patient'
OPTIONAL MATCH (d:Doctor {id: m.id}) WHERE m.kind = 'doctor'
OPTIONAL MATCH (h:Institution {id: m.id}) WHERE m.kind = 'institution'
OPTIONAL MATCH (c:Card {id: m.id}) WHERE m.kind = 'card'
OPTIONAL MATCH (t:Terminal {id: m.id}) WHERE m.kind = 'terminal'
OPTIONAL MATCH (o:Operator {id: m.id}) WHERE m.kind = 'operator'
WITH m, k, coalesce(p, d, h, c, t, o) AS e
WHERE e IS NOT NULL
MERGE (e)-[:IN_CASE {role: m.role}]->(k)
RETURN count(*) AS linked

// entity_lookup — which of some entities exist, and how many claims each has.
//
// Read-only. Used for the centre of a neighbourhood (graphdetect.neo4j.Neighbourhood).
// Parameters:
//   $nodes  list of maps {kind (patient/doctor/institution/card/terminal/operator), id}.
// Returns one row per entity found: kind, id, claims (claims linked to it).
UNWIND $nodes AS ref
OPTIONAL MATCH (p:Patient {id: ref.id}) WHERE ref.kind = 'patient'
OPTIONAL MATCH (d:Doctor {id: ref.id}) WHERE ref.kind = 'doctor'
OPTIONAL MATCH (h:Institution {id: ref.id}) WHERE ref.kind = 'institution'
OPTIONAL MATCH (c:Card {id: ref.id}) WHERE ref.kind = 'card'
OPTIONAL MATCH (t:Terminal {id: ref.id}) WHERE ref.kind = 'terminal'
OPTIONAL MATCH (o:Operator {id: ref.id}) WHERE ref.kind = 'operator'
WITH ref, coalesce(p, d, h, c, t, o) AS n
WHERE n IS NOT NULL
RETURN ref.kind AS kind, ref.id AS id,
       COUNT { (n)-[:MADE|AT|BY|WITH_CARD|ON|RUN_BY]-(:Claim) } AS claims

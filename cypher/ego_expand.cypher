// ego_expand — an entity's neighbours with the number of claims they share, capped.
//
// Two entities are neighbours when a claim links both (a patient and the institution
// of one of the patient's claims, a card and the terminal it was swiped on, ...); the
// caller says which neighbour kinds count for each entity, as ClaimsGraph.ego_network
// does. Neighbours are ordered by shared claims (most first), then kind, then id; the
// first $max_neighbors are returned with their own claim counts, and total says how
// many there were, so total - returned is the number left out. Read-only.
// Parameters:
//   $nodes          list of maps {kind, id, neighbour_kinds (list of kinds)}.
//   $max_neighbors  int >= 1.
// Returns one row per kept neighbour: kind, id (the expanded entity), total,
// neighbour_kind, neighbour_id, weight (shared claims), claims (the neighbour's claims).
UNWIND $nodes AS ref
OPTIONAL MATCH (p:Patient {id: ref.id}) WHERE ref.kind = 'patient'
OPTIONAL MATCH (d:Doctor {id: ref.id}) WHERE ref.kind = 'doctor'
OPTIONAL MATCH (h:Institution {id: ref.id}) WHERE ref.kind = 'institution'
OPTIONAL MATCH (c:Card {id: ref.id}) WHERE ref.kind = 'card'
OPTIONAL MATCH (t:Terminal {id: ref.id}) WHERE ref.kind = 'terminal'
OPTIONAL MATCH (o:Operator {id: ref.id}) WHERE ref.kind = 'operator'
WITH ref, coalesce(p, d, h, c, t, o) AS n
WHERE n IS NOT NULL
MATCH (n)-[:MADE|AT|BY|WITH_CARD|ON|RUN_BY]-(claim:Claim)-[:MADE|AT|BY|WITH_CARD|ON|RUN_BY]-(m)
WITH ref, n, m, claim, toLower(head(labels(m))) AS kind
WHERE m <> n AND kind IN ref.neighbour_kinds
WITH ref, m, kind, count(DISTINCT claim) AS weight
ORDER BY weight DESC, kind, m.id
WITH ref, collect({kind: kind, id: m.id, weight: weight, entity: m}) AS found
WITH ref, found[0..$max_neighbors] AS kept, size(found) AS total
UNWIND kept AS k
WITH ref, total, k, k.entity AS m
RETURN ref.kind AS kind, ref.id AS id, total, k.kind AS neighbour_kind,
       k.id AS neighbour_id, k.weight AS weight,
       COUNT { (m)-[:MADE|AT|BY|WITH_CARD|ON|RUN_BY]-(:Claim) } AS claims

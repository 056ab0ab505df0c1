// cards_are_patients — one claim whose card differs from its holder, if any.
//
// When no claim's card id differs from its patient's id, the data had no card column
// (io fills card_id with patient_id) and display graphs hang terminals on patients and
// draw no card nodes, as ClaimsGraph.cards_are_patients says. Read-only.
// Parameters: none.
// Returns at most one row: claim (the id of a claim paid with someone else's card).
MATCH (p:Patient)-[:MADE]->(c:Claim)-[:WITH_CARD]->(k:Card)
WHERE k.id <> p.id
RETURN c.id AS claim
LIMIT 1

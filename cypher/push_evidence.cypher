// push_evidence — link a case to its evidence claims: (:Case)-[:EVIDENCE]->(:Claim).
//
// Claims that are not in the graph are skipped; the count of linked rows tells the
// caller how many were found. Idempotent.
// Parameters:
//   $links  list of maps {case_key, claim_id}.
// Returns one row: linked (claims found and linked).
UNWIND $links AS l
MATCH (k:Case {key: l.case_key})
MATCH (c:Claim {id: l.claim_id})
MERGE (k)-[:EVIDENCE]->(c)
RETURN count(*) AS linked

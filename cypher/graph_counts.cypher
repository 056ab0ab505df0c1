// graph_counts — how many nodes and relationships of each kind the graph holds.
//
// One row: nodes and relationships (totals) and by_label, by_type (maps of counts for
// the graphdetect model's labels and relationship types). Read-only.
// Parameters: none.
MATCH (n)
WITH count(n) AS nodes
OPTIONAL MATCH ()-[r]->()
WITH nodes, count(r) AS relationships
RETURN nodes, relationships,
  {Patient: COUNT { (:Patient) }, Doctor: COUNT { (:Doctor) },
   Institution: COUNT { (:Institution) }, Card: COUNT { (:Card) },
   Terminal: COUNT { (:Terminal) }, Operator: COUNT { (:Operator) },
   Claim: COUNT { (:Claim) }, Case: COUNT { (:Case) }} AS by_label,
  {MADE: COUNT { ()-[:MADE]->() }, AT: COUNT { ()-[:AT]->() },
   BY: COUNT { ()-[:BY]->() }, WITH_CARD: COUNT { ()-[:WITH_CARD]->() },
   ON: COUNT { ()-[:ON]->() }, RUN_BY: COUNT { ()-[:RUN_BY]->() },
   WORKS_AT: COUNT { ()-[:WORKS_AT]->() }, IN_CASE: COUNT { ()-[:IN_CASE]->() },
   EVIDENCE: COUNT { ()-[:EVIDENCE]->() }} AS by_type

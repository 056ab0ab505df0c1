// schema — the constraints and indexes of the graphdetect graph model.
//
// Run once before a load (graphdetect neo4j load does it); every statement is
// IF NOT EXISTS, so running it again changes nothing. Statements end with ';'.
// Parameters: none.
//
// Model (see graphdetect/neo4j/__init__.py):
//   (:Patient)-[:MADE]->(:Claim)-[:AT]->(:Institution)
//   (:Claim)-[:BY]->(:Doctor)          (:Claim)-[:WITH_CARD]->(:Card)
//   (:Claim)-[:ON]->(:Terminal)        (:Claim)-[:RUN_BY]->(:Operator)
//   (:Doctor)-[:WORKS_AT]->(:Institution)
//   (entity)-[:IN_CASE {role}]->(:Case)-[:EVIDENCE]->(:Claim)
CREATE CONSTRAINT patient_id IF NOT EXISTS FOR (n:Patient) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT doctor_id IF NOT EXISTS FOR (n:Doctor) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT institution_id IF NOT EXISTS FOR (n:Institution) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT card_id IF NOT EXISTS FOR (n:Card) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT terminal_id IF NOT EXISTS FOR (n:Terminal) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT operator_id IF NOT EXISTS FOR (n:Operator) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT claim_id IF NOT EXISTS FOR (n:Claim) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT case_key IF NOT EXISTS FOR (n:Case) REQUIRE n.key IS UNIQUE;
CREATE INDEX claim_visit_type IF NOT EXISTS FOR (n:Claim) ON (n.visit_type);
CREATE INDEX claim_start_day IF NOT EXISTS FOR (n:Claim) ON (n.start_day);
CREATE INDEX case_run_id IF NOT EXISTS FOR (n:Case) ON (n.run_id);
CREATE INDEX case_pattern IF NOT EXISTS FOR (n:Case) ON (n.pattern);

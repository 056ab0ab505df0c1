// load_patients — merge one batch of rows of the patients table.
//
// Idempotent: a patient is keyed by its id; loading the batch again only sets the
// same properties again. A property the row leaves null is removed.
// Parameters:
//   $rows  list of maps {id, birth_date (date), birth_year (int), sex ('M'/'F'),
//          region_code, phone_hash, address_hash}; missing values are null.
UNWIND $rows AS row
MERGE (p:Patient {id: row.id})
SET p.birth_date = row.birth_date,
    p.birth_year = row.birth_year,
    p.sex = row.sex,
    p.region_code = row.region_code,
    p.phone_hash = row.phone_hash,
    p.address_hash = row.address_hash

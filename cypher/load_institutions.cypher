// load_institutions — merge one batch of rows of the institutions table.
//
// Idempotent: an institution is keyed by its id.
// Parameters:
//   $rows  list of maps {id, name, kind (hospital/health_center/village_clinic/clinic/
//          pharmacy), level (0-3), ownership (public/private), region_code}; missing
//          values are null.
UNWIND $rows AS row
MERGE (h:Institution {id: row.id})
SET h.name = row.name,
    h.kind = row.kind,
    h.level = row.level,
    h.ownership = row.ownership,
    h.region_code = row.region_code

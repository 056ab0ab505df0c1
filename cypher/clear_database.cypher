// clear_database — delete up to $batch_size nodes (and their relationships).
//
// DESTRUCTIVE: empties the database one batch at a time; call it until deleted is 0.
// Used by the test suite to empty a throwaway database before it loads the sample.
// Parameters:
//   $batch_size  int >= 1: nodes deleted per call.
// Returns one row: deleted (nodes deleted by this call).
MATCH (n)
WITH n LIMIT $batch_size
DETACH DELETE n
RETURN count(*) AS deleted

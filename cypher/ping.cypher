// ping — the smallest statement: proves the database exists and answers.
//
// Read-only. Parameters: none. Returns one row: ok = 1.
RETURN 1 AS ok

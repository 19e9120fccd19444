-- Bulwark's PostgreSQL schema, version 6: the change sequence. One counter per kind of state that engines
-- keep in memory (`advisories`: the advisory index; `threat`: the NVD records, KEV catalog and EPSS scores
-- of the threat context), bumped in the same transaction as every write that changes that state, so that
-- every process on the database can tell with one small read whether its copy is current. The first bump
-- of a kind inserts its row; a missing row reads as 0. The SQLite migration 0006 is the same.
CREATE TABLE state_changes (
    kind TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    seq  BIGINT NOT NULL
);

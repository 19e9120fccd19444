-- Bulwark's PostgreSQL schema, version 8: the log of the fleet's change counter (`state_changes` kind
-- `fleet`). Every write that changes a device, its software set, its open weaknesses, a device group or
-- an exception bumps the counter and writes one row here: the counter's new value and the device the
-- write touched (NULL for exceptions and device groups). A process holding the fleet in memory at one
-- value reads the rows after it and reloads only those devices. The newest rows are kept; a process
-- further behind reloads the whole fleet. The SQLite migration 0008 is the same.
CREATE TABLE fleet_changes (
    seq       BIGINT NOT NULL PRIMARY KEY,
    device_id BIGINT
);

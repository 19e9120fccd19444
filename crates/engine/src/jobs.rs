//! Leases of background jobs: of several processes on one database, only the one holding a job's lease
//! runs it; the holder renews the lease on every run, and when it stops (it died) another process takes
//! over once the lease has run out. Each engine is its own holder, named by a random instance id.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::Duration;

use crate::{Engine, EngineResult};

/// A fresh holder name: the host's process id and 64 random bits.
pub(crate) fn instance_id() -> String {
    format!("{}-{:016x}", std::process::id(), OsRng.next_u64())
}

impl Engine {
    /// This engine's name as a lease holder.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Takes or renews the lease of background job `job` for `ttl` from now; whether this engine may
    /// run the job now. Give a `ttl` of a few run intervals, so that a live holder keeps it and a dead
    /// one loses it soon.
    pub async fn lease(&self, job: &str, ttl: Duration) -> EngineResult<bool> {
        let now = self.now();
        Ok(self
            .store
            .try_lease(job, &self.instance, now, now + ttl)
            .await?)
    }
}

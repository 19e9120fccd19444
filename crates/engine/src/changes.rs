//! Change visibility across replicas: several processes on one database each keep the advisory index
//! and the threat context in memory, and a change made through one must be visible through all.
//!
//! The store keeps a change sequence (one counter per kind of in-memory state, bumped in the
//! transaction of every write that changes it). An engine records the sequence each piece was loaded
//! at, reading the sequence *before* the data, so what it holds is never older than what it recorded.
//! [`Engine::refresh`] compares the stored sequence with the recorded one (one small read) and rebuilds
//! what differs; reads call it before they use the in-memory state, and the server calls
//! [`Engine::follow_changes`] (the same, and the held fleet snapshot) every second so that rebuilds
//! mostly happen off the request path.
//!
//! Invariant: every read that uses the index or the threat context reflects every advisory and
//! threat-context write committed before the read began, whichever process made it.

use std::sync::RwLockWriteGuard;

use bulwark_store::ChangeSequence;

use crate::{Engine, EngineResult};

impl Engine {
    /// The change sequence the in-memory index and threat context were loaded at.
    pub fn loaded_changes(&self) -> ChangeSequence {
        *self.loaded.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The recorded sequence, for the reloads that update it.
    pub(crate) fn loaded_mut(&self) -> RwLockWriteGuard<'_, ChangeSequence> {
        self.loaded.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the in-memory index and threat context up to what is stored: rebuilds each whose kind
    /// changed since it was loaded (through this process or another). Returns whether anything was
    /// rebuilt. Costs one small read when nothing changed.
    pub async fn refresh(&self) -> EngineResult<bool> {
        let seen = self.store.change_sequence().await?;
        self.refresh_to(seen).await
    }

    /// [`Engine::refresh`] and the held fleet snapshot (see [`crate::fleet`]) together, from one read
    /// of the sequence: the server calls this every second, so that changes made through another
    /// process are rebuilt off the request path. Returns whether the index or the threat context was
    /// rebuilt (the fleet follows every ingest: not worth a log line).
    pub async fn follow_changes(&self) -> EngineResult<bool> {
        let seen = self.store.change_sequence().await?;
        let rebuilt = self.refresh_to(seen).await?;
        self.refresh_held_fleet(seen.fleet).await?;
        Ok(rebuilt)
    }

    /// [`Engine::refresh`], returning the sequence it read: the fleet snapshot is then brought to
    /// its `fleet` value.
    pub(crate) async fn refresh_seen(&self) -> EngineResult<ChangeSequence> {
        let seen = self.store.change_sequence().await?;
        self.refresh_to(seen).await?;
        Ok(seen)
    }

    /// Rebuilds the index and the threat context unless they were loaded at `seen` already.
    async fn refresh_to(&self, seen: ChangeSequence) -> EngineResult<bool> {
        if same_memory(seen, self.loaded_changes()) {
            return Ok(false);
        }
        let _reloading = self.reloading.lock().await;
        // A reload that ran while this one waited may have loaded what `seen` names already.
        if same_memory(seen, self.loaded_changes()) {
            return Ok(false);
        }
        let stored = self.store.change_sequence().await?;
        let loaded = self.loaded_changes();
        if stored.advisories != loaded.advisories {
            self.load_index().await?;
        }
        if stored.threat != loaded.threat {
            self.load_threat().await?;
        }
        Ok(true)
    }
}

/// Whether the index and the threat context loaded at `loaded` are those of `seen` (the fleet
/// snapshot follows its own counter, see [`crate::fleet`]).
fn same_memory(seen: ChangeSequence, loaded: ChangeSequence) -> bool {
    (seen.advisories, seen.threat) == (loaded.advisories, loaded.threat)
}

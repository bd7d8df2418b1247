//! The state file itself: numbering floor, consistent copies, and a clean close.
//!
//! In WAL mode the latest commits live in `state.db-wal` until a checkpoint moves them
//! into `state.db`; a copy of `state.db` alone can lose them. `backup` writes one
//! self-contained file (`VACUUM INTO`: a transactionally consistent snapshot, taken
//! while others keep writing), and `close` checkpoints before it lets go, so after a
//! clean exit `state.db` holds everything.

use super::Store;
use anyhow::{Context, bail};
use std::path::Path;

impl Store {
    /// Incident numbers from now on are above `floor` (a new state over old traces).
    pub async fn raise_incident_ids(&self, floor: i64) -> anyhow::Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM incident_id_floor")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO incident_id_floor (floor) VALUES ($1)")
            .bind(floor)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The floor a new state over old traces was started with, if it was.
    pub async fn incident_id_floor(&self) -> anyhow::Result<Option<i64>> {
        let floor = sqlx::query_scalar("SELECT MAX(floor) FROM incident_id_floor")
            .fetch_one(self.pool())
            .await?;
        Ok(floor)
    }

    /// Writes a consistent copy of the whole store to `dest`, which must not exist.
    pub async fn backup(&self, dest: &Path) -> anyhow::Result<()> {
        if dest.exists() {
            bail!(
                "{} already exists: give a new file name (a backup never overwrites)",
                dest.display()
            );
        }
        let dest = dest.to_str().with_context(|| {
            format!(
                "{} is not valid UTF-8; choose a plainer path",
                dest.display()
            )
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(dest)
            .execute(self.pool())
            .await
            .with_context(|| format!("cannot write the backup {dest}"))?;
        Ok(())
    }

    /// Moves the WAL into the main file and closes every connection.
    pub async fn close(&self) -> anyhow::Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(self.pool())
            .await
            .context("cannot checkpoint the state store")?;
        self.pool().close().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn one_run(store: &Store) {
        sqlx::query("INSERT INTO incident_id_floor (floor) VALUES (41)")
            .execute(store.pool())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_backup_and_a_closed_file_each_hold_the_latest_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).await.unwrap();
        one_run(&store).await;
        // The commit sits in the WAL: a copy of the main file alone misses it.
        let wal = dir.path().join("state.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        let copy = dir.path().join("copy.db");
        store.backup(&copy).await.unwrap();
        assert!(store.backup(&copy).await.is_err(), "never overwrites");
        store.close().await.unwrap();
        assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
        let main_only = dir.path().join("main-only.db");
        std::fs::copy(&path, &main_only).unwrap();
        for file in [copy, main_only] {
            let s = Store::open(&file).await.unwrap();
            let floor: i64 = sqlx::query_scalar("SELECT floor FROM incident_id_floor")
                .fetch_one(s.pool())
                .await
                .unwrap();
            assert_eq!(floor, 41, "{}", file.display());
        }
    }
}

//! The audit writer: requests hand their entry to one thread that commits concurrent entries together
//! (group commit) and answers each request only once its entry is durable, so the log never misses a
//! read that was answered and a burst of reads costs one fsync, not one each.

use std::path::Path;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::state::{AuditEntry, StateError, Store};

/// Most entries committed in one transaction.
const BATCH: usize = 1024;

type Job = (AuditEntry, oneshot::Sender<Result<(), String>>);

/// The handle requests use.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
}

impl AuditLog {
    /// Starts the writer thread on its own connection to the state database.
    pub fn start(state_dir: &Path) -> Result<AuditLog, StateError> {
        let mut store = Store::open(state_dir)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let entries: Vec<AuditEntry> = batch.iter().map(|(e, _)| e.clone()).collect();
                    let result = store.append_audit(&entries).map_err(|e| e.to_string());
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "audit log write failed");
                    }
                    for (_, done) in batch {
                        let _ = done.send(result.clone());
                    }
                }
            })
            .map_err(|source| StateError::Io { path: state_dir.to_path_buf(), source })?;
        Ok(AuditLog { tx })
    }

    /// Writes an entry and waits until it is committed.
    pub async fn write(&self, entry: AuditEntry) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx.send((entry, done)).map_err(|_| "the audit writer stopped".to_string())?;
        wait.await.map_err(|_| "the audit writer stopped".to_string())?
    }
}

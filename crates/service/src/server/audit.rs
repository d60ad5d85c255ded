//! The audit writer: requests hand their entry to one thread that commits concurrent entries together
//! (group commit) and answers each request only once its entry is durable, so the log never misses a
//! read that was answered and a burst of reads costs one fsync, not one each.
//!
//! Identical reads by one caller within `[audit] coalesce_seconds` are counted on one entry
//! ([`Coalescer`]): a client polling a page adds an entry a minute, not one a request. A repeat of a read
//! whose entry is already committed ([`OpenReads`]) is answered at once; its count is committed with the
//! next batch (a batch of such counts alone gathers more for [`REPEATS_WAIT`]), and [`AuditLog::flush`]
//! waits for it.
//!
//! The same thread keeps the state tidy: at start and then hourly it deletes audit entries older than the
//! retention and sessions that have ended, so the database's growth is bounded by the retention.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::state::{AuditEntry, Coalescer, OpenReads, SessionLimits, StateError, Store, Timestamp};

/// Most entries committed in one transaction.
const BATCH: usize = 1024;
/// How long the counts of repeats wait for more before they are committed, when no request waits on the
/// batch: a client polling a page costs a commit every so often, not one a request.
const REPEATS_WAIT: Duration = Duration::from_millis(100);
/// How often expired entries and sessions are deleted.
const TIDY_EVERY: Duration = Duration::from_secs(3600);

/// An entry to commit (none: only wait for what was sent before), and who waits for its commit (none: a
/// repeat of a committed read, answered already).
type Job = (Option<AuditEntry>, Option<oneshot::Sender<Result<(), String>>>);

/// What the writer deletes as time passes.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub audit_days: u32,
    /// Identical reads within this many seconds are one entry (0: every request its own).
    pub coalesce_seconds: u32,
    pub sessions: SessionLimits,
}

/// The handle requests use.
#[derive(Clone, Debug)]
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
    committed: OpenReads,
}

impl AuditLog {
    /// Starts the writer thread on its own connection to the state database.
    pub fn start(state_dir: &Path, retention: Retention) -> Result<AuditLog, StateError> {
        let mut store = Store::open_existing(state_dir)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let mut coalescer = Coalescer::new(retention.coalesce_seconds);
        let committed = coalescer.committed();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                tidy(&mut store, retention);
                let mut tidied = Instant::now();
                loop {
                    match rx.recv_timeout(TIDY_EVERY) {
                        Ok(first) => commit(&mut store, &mut coalescer, first, &rx),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                    if tidied.elapsed() >= TIDY_EVERY {
                        tidy(&mut store, retention);
                        tidied = Instant::now();
                    }
                }
            })
            .map_err(|source| StateError::Io { path: state_dir.to_path_buf(), source })?;
        Ok(AuditLog { tx, committed })
    }

    /// Writes an entry and waits until it is committed; a repeat of a committed read only hands its count
    /// to the writer.
    pub async fn write(&self, entry: AuditEntry) -> Result<(), String> {
        if self.committed.repeats(&entry) {
            return self.tx.send((Some(entry), None)).map_err(|_| STOPPED.to_string());
        }
        self.commit(Some(entry)).await
    }

    /// Waits until everything written before is committed, repeats' counts included.
    pub async fn flush(&self) -> Result<(), String> {
        self.commit(None).await
    }

    async fn commit(&self, entry: Option<AuditEntry>) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx.send((entry, Some(done))).map_err(|_| STOPPED.to_string())?;
        wait.await.map_err(|_| STOPPED.to_string())?
    }
}

const STOPPED: &str = "the audit writer stopped";

/// Commits `first` and whatever else is waiting, in one transaction, and answers each request. A batch of
/// repeats' counts alone gathers more for up to [`REPEATS_WAIT`], until a request waits on it.
fn commit(store: &mut Store, coalescer: &mut Coalescer, first: Job, rx: &mpsc::Receiver<Job>) {
    let until = Instant::now() + REPEATS_WAIT;
    let mut awaited = first.1.is_some();
    let mut batch = vec![first];
    while batch.len() < BATCH {
        let next = if awaited {
            rx.try_recv().ok()
        } else {
            rx.recv_timeout(until.saturating_duration_since(Instant::now())).ok()
        };
        let Some(job) = next else { break };
        awaited |= job.1.is_some();
        batch.push(job);
    }
    let entries: Vec<AuditEntry> = batch.iter_mut().filter_map(|(e, _)| e.take()).collect();
    let result =
        if entries.is_empty() { Ok(()) } else { store.append_audit(&entries, coalescer).map_err(|e| e.to_string()) };
    if let Err(e) = &result {
        tracing::error!(error = %e, entries = entries.len(), "audit log write failed");
    }
    for done in batch.into_iter().filter_map(|(_, done)| done) {
        let _ = done.send(result.clone());
    }
}

/// Deletes audit entries past the retention and ended sessions.
fn tidy(store: &mut Store, retention: Retention) {
    let now = Timestamp::now();
    match store.expire_audit(now.days_before(retention.audit_days)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "audit entries past the retention deleted"),
        Err(e) => tracing::error!(error = %e, "audit retention failed"),
    }
    if let Err(e) = store.expire_sessions(now, retention.sessions) {
        tracing::error!(error = %e, "expiring sessions failed");
    }
}

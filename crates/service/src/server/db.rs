//! The state database as the server uses it: a small pool of connections, each call run on tokio's
//! blocking threads, so that no database or file work ever stalls the threads that serve requests.
//!
//! At most [`KEEP_OPEN`] async calls run at once (the others wait without holding a thread), so a burst
//! of requests neither opens and closes connections nor takes more blocking threads than there are
//! connections. Callers already on a blocking thread (`run_blocking`: re-score bookkeeping, run loads)
//! do not wait for a permit; a connection they need beyond the pool's is opened and closed.
//!
//! The pool's lock guards only taking and returning a connection; a panic inside a call drops that one
//! connection and poisons nothing later requests need.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::state::{StateError, Store};

/// Connections kept open between calls.
const KEEP_OPEN: usize = 8;

/// A pool of connections to the state database.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Pool>,
}

struct Pool {
    dir: PathBuf,
    idle: Mutex<Vec<Store>>,
    /// One permit a connection: async callers wait here, not on a blocking thread.
    calls: Arc<tokio::sync::Semaphore>,
}

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the database call did not finish: {0}")]
    Panicked(String),
}

impl Db {
    /// A pool over the state folder `dir`, with one connection opened now (so that a bad folder fails at
    /// start-up, not at the first request).
    pub fn open(dir: &Path) -> Result<Db, StateError> {
        let first = Store::open(dir)?;
        let pool = Pool {
            dir: dir.to_path_buf(),
            idle: Mutex::new(vec![first]),
            calls: Arc::new(tokio::sync::Semaphore::new(KEEP_OPEN)),
        };
        Ok(Db { inner: Arc::new(pool) })
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StateError> + Send + 'static,
    {
        let permit = self.inner.calls.clone().acquire_owned().await.map_err(|e| DbError::Panicked(e.to_string()))?;
        let pool = self.inner.clone();
        // The permit is held by the call itself: a request that gives up waiting does not free it early.
        let call = move || {
            let _permit = permit;
            pool.with(f)
        };
        tokio::task::spawn_blocking(call).await.map_err(|e| DbError::Panicked(e.to_string()))?
    }

    /// Runs `f` with a connection on this thread (for callers already on a blocking thread).
    pub fn run_blocking<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StateError>) -> Result<T, DbError> {
        self.inner.with(f)
    }
}

impl Pool {
    fn with<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StateError>) -> Result<T, DbError> {
        let taken = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut store = match taken {
            Some(s) => s,
            None => Store::open_existing(&self.dir)?,
        };
        let result = f(&mut store);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEEP_OPEN {
            idle.push(store);
        }
        Ok(result?)
    }
}

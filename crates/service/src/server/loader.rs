//! The one thread that reads runs into memory. Every run the server holds (the current one whole, the
//! kept ones' scores, an older run a request names) is read and indexed here, so that all of them are
//! allocated from one allocator arena: a run swap frees the old run where the next one will be read,
//! instead of leaving freed fragments in the arenas of whichever blocking threads happened to load runs.
//! A panic in a load is caught and answered as an error; the thread goes on.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::mpsc;

use crate::state::{StateError, Store};

type Job = Box<dyn FnOnce(&mut Store) + Send>;

const STOPPED: &str = "the run loader stopped";

/// The handle callers use; cloning is not needed (the server holds one).
pub struct Loader {
    tx: mpsc::Sender<Job>,
}

impl Loader {
    /// Starts the thread with a connection of its own to the state database.
    pub fn start(state_dir: &Path) -> Result<Loader, StateError> {
        let mut store = Store::open_existing(state_dir)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("run-loader".into())
            .spawn(move || {
                for job in rx {
                    job(&mut store);
                }
            })
            .map_err(|source| StateError::Io { path: state_dir.to_path_buf(), source })?;
        Ok(Loader { tx })
    }

    /// Runs `f` on the loader thread; the result arrives through a channel, so an async caller waits
    /// without holding a thread.
    pub async fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut Store) -> T + Send + 'static) -> Result<T, String> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.submit(f, move |result| {
            let _ = done.send(result);
        })?;
        wait.await.map_err(|_| STOPPED.to_string())?
    }

    /// Runs `f` on the loader thread and waits for its result (call it from a blocking thread).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Store) -> T + Send + 'static) -> Result<T, String> {
        let (done, wait) = mpsc::sync_channel(1);
        self.submit(f, move |result| {
            let _ = done.send(result);
        })?;
        wait.recv().map_err(|_| STOPPED.to_string())?
    }

    /// Queues `f`; `answer` gets its result, or the panic as an error.
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> T + Send + 'static,
        answer: impl FnOnce(Result<T, String>) + Send + 'static,
    ) -> Result<(), String> {
        let job: Job = Box::new(move |store| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(store)));
            answer(result.map_err(|_| "loading runs panicked".to_string()));
        });
        self.tx.send(job).map_err(|_| STOPPED.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_panics_is_an_error_and_the_loader_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path()).unwrap();
        let loader = Loader::start(dir.path()).unwrap();
        let thread = |_: &mut Store| std::thread::current().name().map(str::to_string);
        assert_eq!(loader.run(thread), Ok(Some("run-loader".to_string())));
        let panicked: Result<(), String> = loader.run(|_| panic!("a corrupt run file"));
        assert_eq!(panicked, Err("loading runs panicked".to_string()));
        assert_eq!(loader.run(|s| s.published().map(|runs| runs.len()).ok()), Ok(Some(0)));
    }
}

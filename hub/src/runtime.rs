//! A small tokio runtime of a client's own (the PostgreSQL pool, the S3 bucket), so
//! that the hub's blocking code can wait on async clients from any thread, whichever
//! runtime (or none) the caller runs on.

/// Runs `f`, blocking work (files, a bucket's requests) called from an async task,
/// telling a multi-threaded runtime first so that its other tasks move to other workers
/// meanwhile (`block_in_place`); on a single-threaded runtime (tests) it simply runs.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A runtime shut down without waiting when dropped (dropping a runtime the usual way
/// panics inside another runtime's task).
pub struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    /// A runtime of two worker threads named `name`.
    pub fn new(name: &str) -> std::io::Result<Self> {
        Ok(Self(Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(name)
                .enable_all()
                .build()?,
        )))
    }

    /// Its handle.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("BUG: the runtime lives until dropped")
            .handle()
    }

    /// Runs `future` on this runtime and waits for its output, from any thread: a
    /// blocking thread, or an async task (which then blocks its worker while it waits,
    /// as a file operation would).
    pub fn wait<T: Send + 'static>(
        &self,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .expect("BUG: a task on the client's runtime ended without an answer")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

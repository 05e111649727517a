//! One SQLite file in WAL mode: a single writer thread that commits queued writes together
//! (group commit: one fsync for many requests, each isolated in its own savepoint), and a small
//! pool of read connections.

use crate::{cached, schema};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use switchboard_core::ports::StoreError;
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
#[error("cannot open the embedded store: {0}")]
pub struct OpenError(pub String);

/// Called after the batch's commit with its outcome; delivers the op's result to its caller.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type WriteOp = Box<dyn FnOnce(&Connection) -> Completion + Send>;

/// How many queued writes share one transaction at most.
const MAX_BATCH: usize = 256;
/// Read connections opened at start, and the most kept for reuse: a connection opened under
/// load is kept rather than closed, since opening one (and re-preparing its statements) costs
/// more than the query it serves.
const READERS: usize = 4;
const MAX_IDLE_READERS: usize = 8;

pub struct Database {
    writer: mpsc::Sender<WriteOp>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
    created: bool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn connect(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(cached::CAPACITY);
    // No memory-mapped I/O: mapped pages of the file count in the process's resident memory,
    // which then grows with the database (82 MiB at 128 clients in `bench/run`, against 37
    // without), for reads that are only a little cheaper.
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// Readers share the file's pages through the OS cache; a small page cache each keeps memory
/// flat when many are open under load.
fn connect_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.execute_batch("PRAGMA cache_size = -512;")?;
    Ok(conn)
}

impl Database {
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let err = |e: rusqlite::Error| OpenError(format!("{}: {e}", path.display()));
        let conn = connect(path, OpenFlags::default()).map_err(err)?;
        // WAL lets readers run beside the writer; FULL syncs the log at every commit, so an
        // acknowledged write survives a crash of the process or the machine.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(err)?;
        let created = schema::migrate(&conn).map_err(err)? == 0;
        let (tx, rx) = mpsc::channel::<WriteOp>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| OpenError(e.to_string()))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(connect_reader(path).map_err(err)?);
        }
        Ok(Self {
            writer: tx,
            readers: Arc::new(Mutex::new(readers)),
            path: path.to_path_buf(),
            created,
        })
    }

    /// Whether this open created the database (a first start).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Runs `f` in the writer's current transaction (in a savepoint of its own, so its failure
    /// rolls back only its own changes). Returns once the transaction is durably committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let op: WriteOp = Box::new(move |conn: &Connection| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |commit: Result<(), String>| {
                let _ = reply.send(commit.map_err(StoreError::Backend).and(outcome));
            })
        });
        self.writer
            .send(op)
            .map_err(|_| StoreError::Backend("the store's writer has stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::Backend("the store's writer dropped a request".into()))?
    }

    /// Runs `f` on a read connection, off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().map_err(backend)?.pop();
            let conn = match pooled {
                Some(c) => c,
                None => connect_reader(&path).map_err(backend)?,
            };
            let result = f(&conn);
            let mut pool = readers.lock().map_err(backend)?;
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(backend)?
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    cached::exec(conn, "SAVEPOINT op", []).map_err(backend)?;
    let result = f(conn);
    if result.is_err() {
        cached::exec(conn, "ROLLBACK TO op", []).map_err(backend)?;
    }
    cached::exec(conn, "RELEASE op", []).map_err(backend)?;
    result
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<WriteOp>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if let Err(e) = cached::exec(&conn, "BEGIN IMMEDIATE", []) {
            // Without an outer transaction each savepoint commits on its own: slower, but the
            // writes still happen and are still atomic one by one.
            tracing::warn!(error = %e, "cannot begin a group transaction; committing one by one");
            for op in batch {
                op(&conn)(Ok(()));
            }
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().map(|op| op(&conn)).collect();
        let commit = cached::exec(&conn, "COMMIT", [])
            .map(|_| ())
            .map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = cached::exec(&conn, "ROLLBACK", []);
        }
        for done in completions {
            done(commit.clone());
        }
    }
}

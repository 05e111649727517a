//! One SQLite file in WAL mode: a single writer thread that commits queued writes together
//! (group commit: one fsync for many requests, each isolated in its own savepoint), and a few
//! read connections, each on a thread of its own.
//!
//! A write is synced to disk before it returns, unless its loss in a crash of the machine only
//! makes a job run again (see `Durability`): those commit to the log without waiting for the
//! disk, which was most of the writer's time under load. The log is written in
//! order, so the next synced commit makes every relaxed one before it durable too, and a crash
//! of the process alone loses nothing (the operating system has the log).

use crate::{cached, schema};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use switchboard_core::ports::StoreError;
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
#[error("cannot open the embedded store: {0}")]
pub struct OpenError(pub String);

/// Called after the batch's commit with its outcome; delivers the op's result to its caller.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs an op on the connection, or (given none) gives up on it without running it.
type Run = Box<dyn FnOnce(Option<&Connection>) -> Completion + Send>;

struct WriteOp {
    durability: Durability,
    run: Run,
}

/// What a write needs from its commit before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk: survives a crash of the machine.
    Synced,
    /// In the log, on disk with the next synced commit: survives a crash of the process, and a
    /// crash of the machine may undo it. Only for writes whose undoing makes a job run again,
    /// which every job tolerates: a receive's visibility, a finished job's deletion, a claim or
    /// a send's lease (their holder died with the machine); and for a step's record that the
    /// step always follows with a synced enqueue before its caller is answered (the inbound
    /// message before its 202, a generated reply, a settled send): that enqueue makes it
    /// durable, and if both are undone the job that wrote it runs again. Other readers may see
    /// such a record before it is durable, as they may see a reply that a crash sends again.
    Relaxed,
}

/// How many queued writes share one transaction at most.
const MAX_BATCH: usize = 256;
/// Read connections, each on a thread of its own, opened at start. A read waits for one rather
/// than opening more: on two cores four keep the store busy, and more only held memory (a
/// connection, a thread and its allocator arena each; 45 MiB at 128 clients with up to 16,
/// 37–38 with these four). Off tokio's blocking pool, reads never queue behind what else
/// blocks there (DNS lookups).
const READERS: usize = 4;

/// A read, run on a reader's connection.
type ReadOp = Box<dyn FnOnce(&Connection) + Send>;

pub struct Database {
    writer: mpsc::Sender<WriteOp>,
    reader: mpsc::Sender<ReadOp>,
    created: bool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn connect(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(cached::CAPACITY);
    // Without the planner's stability guarantee, a statement whose plan may depend on a bound
    // value (every `LIMIT ?`) is compiled again each time it runs, which undoes the statement
    // cache: it was 15 % of the writer's time under load.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
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
        let (reader, reads) = mpsc::channel::<ReadOp>();
        let reads = Arc::new(Mutex::new(reads));
        for n in 0..READERS {
            let conn = connect_reader(path).map_err(err)?;
            let reads = reads.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                .spawn(move || reader_loop(conn, &reads))
                .map_err(|e| OpenError(e.to_string()))?;
        }
        Ok(Self {
            writer: tx,
            reader,
            created,
        })
    }

    /// Whether this open created the database (a first start).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Runs `f` in the writer's current transaction (in a savepoint of its own, so its failure
    /// rolls back only its own changes). Returns once the transaction is committed and synced.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_with(Durability::Synced, f).await
    }

    /// `write`, acknowledged as `durability` allows.
    pub async fn write_with<T, F>(&self, durability: Durability, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let run: Run = Box::new(move |conn: Option<&Connection>| -> Completion {
            let outcome = conn.map(|c| in_savepoint(c, f));
            Box::new(move |commit: Result<(), String>| {
                let result = commit.map_err(StoreError::Backend).and_then(|()| {
                    outcome.unwrap_or_else(|| Err(backend("the write was not run")))
                });
                let _ = reply.send(result);
            })
        });
        let op = WriteOp { durability, run };
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
        let (reply, result) = oneshot::channel();
        let op: ReadOp = Box::new(move |conn: &Connection| {
            let _ = reply.send(f(conn));
        });
        self.reader
            .send(op)
            .map_err(|_| StoreError::Backend("the store's readers have stopped".into()))?;
        // Dropped unanswered only if the read panicked.
        result
            .await
            .map_err(|_| StoreError::Backend("a read of the store failed".into()))?
    }
}

/// Takes reads off the shared queue until the store is dropped. A read that panics fails alone:
/// its caller gets an error and the connection serves the next one.
fn reader_loop(conn: Connection, reads: &Mutex<mpsc::Receiver<ReadOp>>) {
    loop {
        let next = match reads.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match next {
            Ok(op) => {
                let _ = catch_unwind(AssertUnwindSafe(|| op(&conn)));
            }
            Err(_) => return,
        }
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
    // The mode the connection was opened in (`synchronous = FULL`).
    let mut synced = true;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let wanted = batch.iter().any(|op| op.durability == Durability::Synced);
        if wanted != synced {
            let pragma = if wanted {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            };
            match cached::exec(&conn, pragma, []) {
                Ok(_) => synced = wanted,
                // Still syncing is only slower; not syncing when asked to would break a promise.
                Err(e) if wanted => {
                    for op in batch {
                        (op.run)(None)(Err(format!("cannot sync the commit: {e}")));
                    }
                    continue;
                }
                Err(e) => tracing::warn!(error = %e, "cannot relax syncing; this commit syncs"),
            }
        }
        if let Err(e) = cached::exec(&conn, "BEGIN IMMEDIATE", []) {
            // Without an outer transaction each savepoint commits on its own: slower, but the
            // writes still happen and are still atomic one by one.
            tracing::warn!(error = %e, "cannot begin a group transaction; committing one by one");
            for op in batch {
                (op.run)(Some(&conn))(Ok(()));
            }
            continue;
        }
        let completions: Vec<Completion> =
            batch.into_iter().map(|op| (op.run)(Some(&conn))).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    #[test]
    fn a_cached_statement_with_a_bound_limit_is_compiled_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = connect(&dir.path().join("t.db"), OpenFlags::default()).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);",
        )
        .expect("schema");
        for limit in 1..=3 {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM t ORDER BY id LIMIT ?1")
                .expect("prepare");
            let rows: Vec<i64> = stmt
                .query_map([limit], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            assert_eq!(rows.len(), limit as usize);
            assert_eq!(
                stmt.get_status(StatementStatus::RePrepare),
                0,
                "limit {limit}"
            );
        }
    }

    fn sync_mode(c: &Connection) -> Result<i64, StoreError> {
        c.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(backend)
    }

    #[tokio::test]
    async fn a_commit_syncs_unless_all_its_writes_are_relaxed_and_relaxed_writes_survive_a_reopen()
    {
        const NORMAL: i64 = 1;
        const FULL: i64 = 2;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let db = Database::open(&path).expect("open");
        let relaxed = db
            .write_with(Durability::Relaxed, |c| {
                c.execute("INSERT INTO claims (key, expires_at) VALUES ('k', 1)", [])
                    .map_err(backend)?;
                sync_mode(c)
            })
            .await
            .expect("relaxed write");
        assert_eq!(relaxed, NORMAL);
        assert_eq!(db.write(sync_mode).await.expect("synced write"), FULL);
        assert_eq!(
            db.write_with(Durability::Relaxed, sync_mode)
                .await
                .expect("relaxed"),
            NORMAL
        );
        drop(db);

        let db = Database::open(&path).expect("reopen");
        let n: i64 = db
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM claims WHERE key = 'k'", [], |r| {
                    r.get(0)
                })
                .map_err(backend)
            })
            .await
            .expect("read");
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn reads_share_four_connections_and_one_that_panics_fails_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Database::open(&dir.path().join("t.db")).expect("open"));
        let reads: Vec<_> = (0..32)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.read(|c| {
                        c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                            .map_err(|e| StoreError::Backend(e.to_string()))
                    })
                    .await
                })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.expect("task").expect("read"), 1);
        }

        for _ in 0..READERS {
            let failed = db.read(|_| -> Result<(), StoreError> { panic!("a bug in a read") });
            assert!(failed.await.is_err(), "the panicking read fails");
        }
        let after = db.read(|c| {
            c.query_row("SELECT 2", [], |r| r.get::<_, i64>(0))
                .map_err(|e| StoreError::Backend(e.to_string()))
        });
        assert_eq!(
            after.await.expect("read after"),
            2,
            "every reader still serves"
        );
    }
}

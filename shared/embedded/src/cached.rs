//! Statements through the connection's statement cache: parsing and planning SQL costs more than
//! most of the queries themselves, and the same few dozen statements run all the time.

use rusqlite::{Connection, Params, Row};

pub(crate) fn exec(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

pub(crate) fn query_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// Enough room for every statement the store and the queue use, so none is evicted and parsed again.
pub(crate) const CAPACITY: usize = 128;

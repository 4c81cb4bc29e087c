//! The connection pool, transactions, ids and time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, Transaction};

use crate::StoreError;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database, shared by every request and worker of one process.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// Where writes go, apart from reads so that a burst of reads never holds up commits.
    /// On SQLite, one connection: SQLite takes one writer at a time, and a connection that
    /// finds the file locked sleeps in SQLite's busy handler (1 ms, 2 ms, 5 ms, … steps) —
    /// under load most of a request's time. Writers queue for this connection instead, in
    /// order and without sleeping.
    pub(crate) writes: AnyPool,
    backend: Backend,
    /// The group-commit writer's queue (see `batch.rs`).
    steps: tokio::sync::mpsc::Sender<crate::batch::Request>,
}

/// A transaction: the writes of one step, committed together or not at all.
#[derive(Debug)]
pub struct Tx {
    pub(crate) inner: Transaction<'static, Any>,
}

/// A new time-ordered id (UUID v7), so ids sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now, in Unix milliseconds: how every time is stored.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

// Readers (writes have connections of their own): enough that requests rarely wait for one.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = 16;
// Writers on PostgreSQL: the group-commit writer uses one; the rest serve admin writes,
// timer claims and idempotency keys beside it.
const POSTGRES_WRITE_CONNECTIONS: u32 = 4;
// Long enough to ride out a burst of writers; a busy SQLite waits instead of failing.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
// How long a query waits for a free connection before failing with "storage failed": far
// beyond any healthy wait (milliseconds), short enough that a database that stopped
// answering turns into errors a caller sees within an HTTP client's usual timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens (creating, for SQLite) the database at `url` and brings its schema up to date.
    ///
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`; a bare path means SQLite.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalise(url);
        let connect_error = |source| StoreError::Connect {
            url: url.clone(),
            source,
        };
        let options: AnyConnectOptions = url.parse().map_err(connect_error)?;
        let options = options.disable_statement_logging();
        let pool_options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let (pool, writes) = match backend {
            Backend::Sqlite => {
                owner_only(&url)?;
                // WAL lets readers run beside the writer; it is a property of the file, set
                // once, with one connection (it needs an exclusive lock).
                let mut first = sqlx::AnyConnection::connect_with(&options)
                    .await
                    .map_err(connect_error)?;
                first
                    .execute("PRAGMA journal_mode = WAL")
                    .await
                    .map_err(connect_error)?;
                first.close().await.map_err(connect_error)?;
                let sqlite_pool = |connections: u32| {
                    pool_options
                        .clone()
                        .max_connections(connections)
                        .after_connect(|connection, _| {
                            Box::pin(async move {
                                // NORMAL in WAL mode: a commit survives a crash of the process
                                // (not of the machine's power), at a fraction of FULL's fsyncs.
                                connection.execute("PRAGMA synchronous = NORMAL").await?;
                                let timeout =
                                    format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}");
                                connection.execute(sqlx::AssertSqlSafe(timeout)).await?;
                                Ok(())
                            })
                        })
                        .connect_with(options.clone())
                };
                let reads = sqlite_pool(SQLITE_CONNECTIONS)
                    .await
                    .map_err(connect_error)?;
                let writes = sqlite_pool(1).await.map_err(connect_error)?;
                (reads, writes)
            }
            Backend::Postgres => {
                let reads = pool_options
                    .clone()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .connect_with(options.clone())
                    .await
                    .map_err(connect_error)?;
                let writes = pool_options
                    .max_connections(POSTGRES_WRITE_CONNECTIONS)
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                (reads, writes)
            }
        };
        sqlx::migrate!("./migrations").run(&writes).await?;
        let steps = crate::batch::spawn_writer(writes.clone(), backend);
        Ok(Store {
            pool,
            writes,
            backend,
            steps,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`IMMEDIATE`),
    /// so a transaction that reads before it writes cannot fail half-way on a stale snapshot.
    ///
    /// Invariant: nothing holding a `Tx` calls a writing `Store` method (on SQLite it would
    /// wait for the write connection its own transaction holds); writes inside a step go
    /// through the `Tx`.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match self.backend {
            Backend::Sqlite => self.writes.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writes.begin().await?,
        };
        Ok(Tx { inner })
    }

    /// Commits one step's writes, together with whatever other steps are waiting.
    pub async fn commit_step(
        &self,
        write: crate::StepWrite,
    ) -> Result<crate::StepCommit, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let closed = || {
            StoreError::Database(sqlx::Error::Protocol(
                "the store's writer has stopped".to_owned(),
            ))
        };
        self.steps
            .send((write, reply))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writes.close().await;
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await?;
        Ok(())
    }
}

/// A PostgreSQL on this machine, reached over loopback, is spoken to without TLS unless the
/// URL asks for it (`sslmode=`).
///
/// Encryption buys nothing on loopback, and it costs a lot: sqlx 0.9.0 does not set
/// `TCP_NODELAY` (upstream issue 4335, fixed after that release), and over TLS a large
/// statement — a batch of audit entries — goes out in pieces, the second of which waits for
/// the server's delayed ACK: 40 ms per batch. Remote databases keep sqlx's default (`prefer`).
fn local_postgres_without_tls(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if !loopback || url.contains("sslmode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

/// `INSERT INTO {target} VALUES ($1, …), (…)`: `rows` rows of `columns` numbered parameters.
pub(crate) fn multi_row_insert(target: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {target} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

/// Makes the SQLite file (created now if new) and any journal beside it readable and writable
/// by the server's user alone: they hold every tenant's runs, users and token hashes. SQLite
/// gives the `-wal` and `-shm` files it creates later the database file's permissions.
fn owner_only(url: &str) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = url
        .strip_prefix("sqlite://")
        .unwrap_or(url)
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(()); // in memory
    }
    let failed = |source| StoreError::Permissions {
        path: path.to_owned(),
        source,
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    for file in [
        path.to_owned(),
        format!("{path}-wal"),
        format!("{path}-shm"),
    ] {
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            other => other.map_err(failed)?,
        }
    }
    Ok(())
}

fn normalise(url: &str) -> (String, Backend) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return (local_postgres_without_tls(url), Backend::Postgres);
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let separator = if path.contains('?') { '&' } else { '?' };
    let create = if path.contains("mode=") {
        String::new()
    } else {
        format!("{separator}mode=rwc")
    };
    (format!("sqlite://{path}{create}"), Backend::Sqlite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            normalise("assent.db"),
            ("sqlite://assent.db?mode=rwc".into(), Backend::Sqlite)
        );
        assert_eq!(
            normalise("sqlite:///tmp/a.db"),
            ("sqlite:///tmp/a.db?mode=rwc".into(), Backend::Sqlite)
        );
        assert_eq!(
            normalise("postgres://postgres@127.0.0.1/test"),
            (
                "postgres://postgres@127.0.0.1/test?sslmode=disable".into(),
                Backend::Postgres
            )
        );
        assert_eq!(
            normalise("postgres://u:p@localhost:5432/db?options=x").0,
            "postgres://u:p@localhost:5432/db?options=x&sslmode=disable"
        );
        assert_eq!(
            normalise("postgres://u@db.example.com/x").0,
            "postgres://u@db.example.com/x"
        );
        assert_eq!(
            normalise("postgres://u@127.0.0.1/x?sslmode=require").0,
            "postgres://u@127.0.0.1/x?sslmode=require"
        );
    }
}

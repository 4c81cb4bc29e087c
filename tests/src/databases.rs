//! The databases every store and server test runs against: a fresh SQLite file always, and
//! PostgreSQL when `DATABASE_URL` names one (CI always sets it).
//!
//! Each PostgreSQL test gets a schema of its own (through `search_path`), so tests running
//! side by side — and their timer workers — never see each other's rows.

use sqlx::Connection;

/// One database for one test; dropped with the test.
#[derive(Debug)]
pub struct TestDatabase {
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    /// What to pass to `Store::connect`.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite file in a directory of its own.
pub fn sqlite_database() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("assent.db").display());
    TestDatabase {
        kind: "sqlite",
        url,
        _dir: Some(dir),
    }
}

/// A fresh schema on the PostgreSQL at `DATABASE_URL`, if it is set.
pub async fn postgres_database() -> Option<TestDatabase> {
    let base = std::env::var("DATABASE_URL").ok()?;
    if !base.starts_with("postgres") {
        return None;
    }
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut connection = sqlx::postgres::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|error| {
            panic!("DATABASE_URL is set but `{base}` is not reachable: {error}")
        });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut connection)
        .await
        .expect("create a test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(TestDatabase {
        kind: "postgres",
        url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
        _dir: None,
    })
}

/// SQLite, and PostgreSQL when configured.
pub async fn test_databases() -> Vec<TestDatabase> {
    let mut databases = vec![sqlite_database()];
    match postgres_database().await {
        Some(postgres) => databases.push(postgres),
        None => eprintln!("DATABASE_URL is not set: PostgreSQL runs of this test are skipped"),
    }
    databases
}

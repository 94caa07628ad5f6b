//! The service's own tables, in the outbox's database (SQLite or PostgreSQL): the same
//! statements run on both, with `$N` placeholders that both accept.

use std::borrow::Cow;

use posbridge_outbox::Outbox;
use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::ServerError;

/// Runs `$body` with `$pool` bound to the outbox's pool, whichever backend it is on.
macro_rules! with_pool {
    ($outbox:expr, $pool:ident => $body:expr) => {
        match ($outbox.sqlite_pool(), $outbox.postgres_pool()) {
            (Some($pool), _) => $body,
            (None, Some($pool)) => $body,
            (None, None) => Err($crate::ServerError::Config(
                "the outbox has no database pool".to_owned(),
            )),
        }
    };
}
pub(crate) use with_pool;

/// The service's migrations, recorded in their own table beside the outbox's.
fn migrator() -> Migrator {
    let migration = |version, name, sql| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            SqlStr::from_static(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![
            migration(1, "keys", include_str!("../migrations/0001_keys.sql")),
            migration(2, "webhooks", include_str!("../migrations/0002_webhooks.sql")),
        ]),
        table_name: Cow::Borrowed("posbridge_server_migrations"),
        ..Migrator::DEFAULT
    }
}

/// Applies the service's migrations.
pub(crate) async fn migrate(outbox: &Outbox) -> Result<(), ServerError> {
    with_pool!(outbox, pool => migrator().run(pool).await.map_err(ServerError::from))
}

/// Whether every migration of the service is applied.
pub(crate) async fn migrations_current(outbox: &Outbox) -> Result<bool, ServerError> {
    let applied: i64 = with_pool!(outbox, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM posbridge_server_migrations WHERE success")
            .fetch_one(pool)
            .await
            .map_err(ServerError::from)
    })?;
    Ok(usize::try_from(applied).unwrap_or(0) >= migrator().migrations.len())
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

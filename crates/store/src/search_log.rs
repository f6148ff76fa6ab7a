//! The record of searches that found nothing: each distinct query once, with how often and when.

use tongban_domain::Tenant;

use crate::db;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchMiss {
    pub query: String,
    pub times: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
}

impl Store {
    pub async fn record_search_miss(
        &self,
        tenant: &Tenant,
        query: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO search_misses (tenant, query, times, first_at, last_at) VALUES ($1, $2, 1, $3, $3) \
             ON CONFLICT (tenant, query) DO UPDATE SET times = search_misses.times + 1, last_at = excluded.last_at",
        )
        .bind(tenant.as_str())
        .bind(query)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most frequent misses first.
    pub async fn search_misses(
        &self,
        tenant: &Tenant,
        limit: i64,
    ) -> Result<Vec<SearchMiss>, StoreError> {
        let rows = db::query(
            "SELECT query, times, first_at, last_at FROM search_misses WHERE tenant = $1 \
             ORDER BY times DESC, last_at DESC LIMIT $2",
        )
        .bind(tenant.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SearchMiss {
                    query: r.try_get("query")?,
                    times: r.try_get("times")?,
                    first_at_ms: r.try_get("first_at")?,
                    last_at_ms: r.try_get("last_at")?,
                })
            })
            .collect()
    }
}

//! Searching the catalog and the FAQ, and recording the searches that find nothing.

use tongban_domain::text::clean_line;
use tongban_search::{FaqHit, Filters, ItemHit, SearchRequest};

use crate::{App, AppError};

/// Longer queries are cut: no one types more to find a service, and the rest only costs time.
pub const MAX_QUERY_CHARS: usize = 64;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub text: String,
    pub filters: Filters,
    pub limit: usize,
    pub offset: usize,
    /// How many FAQ answers to return beside the items (0 for none).
    pub faq_limit: usize,
}

#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// The query as searched (cleaned and cut).
    pub query: String,
    pub total: usize,
    pub items: Vec<ItemHit>,
    pub faqs: Vec<FaqHit>,
}

impl App {
    /// A query with text that finds neither an item nor an FAQ is recorded as a miss.
    pub async fn search(&self, params: SearchParams) -> Result<SearchOutcome, AppError> {
        let query = clean_line(&params.text, MAX_QUERY_CHARS);
        let request = SearchRequest {
            text: query.clone(),
            filters: params.filters.clone(),
            limit: params.limit.clamp(1, MAX_LIMIT),
            offset: params.offset,
        };
        // Inline, not on the blocking pool: a query over the county catalog takes tens of
        // microseconds, less than handing it to another thread and back.
        let items = self.search.search_items(&request)?;
        let faqs = if params.faq_limit > 0 && !request.text.is_empty() {
            self.search.search_faqs(
                &request.text,
                &Filters {
                    department: request.filters.department.clone(),
                    ..Filters::default()
                },
                params.faq_limit,
            )?
        } else {
            tongban_search::SearchResults {
                total: 0,
                hits: Vec::new(),
            }
        };

        if !query.is_empty()
            && items.total == 0
            && faqs.total == 0
            && let Err(e) = self
                .store
                .record_search_miss(&self.tenant, &query, self.now_ms())
                .await
        {
            // Losing one record of demand is better than failing the resident's search.
            tracing::warn!(error = %e, "could not record a search miss");
        }
        Ok(SearchOutcome {
            query,
            total: items.total,
            items: items.hits,
            faqs: faqs.hits,
        })
    }

    pub async fn search_misses(
        &self,
        limit: i64,
    ) -> Result<Vec<tongban_store::SearchMiss>, AppError> {
        Ok(self.store.search_misses(&self.tenant, limit).await?)
    }
}

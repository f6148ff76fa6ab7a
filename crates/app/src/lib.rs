//! Use cases: what residents, staff and the command line can do, each owning its transaction.
//! Pages, the JSON API and the CLI all call these; no rule lives twice.

mod catalog;
mod dataset;
mod demo;
mod error;
mod search;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use catalog::{DepartmentPage, ItemGuide, TownshipPage};
pub use dataset::{
    Dataset, ImportReport, RowError, read_dir as read_dataset_dir, write_dir as write_dataset_dir,
};
pub use demo::demo_dataset;
pub use error::AppError;
pub use search::{MAX_QUERY_CHARS, SearchOutcome, SearchParams};
pub use tongban_search::{FaqHit, Filters, ItemHit, SearchIndex, Synonyms};
pub use tongban_store::{Backend, ImportCounts, SearchMiss, Store, StoreError};

use tongban_domain::{Clock, Tenant, UnitCode};

/// Where the search index lives.
#[derive(Debug, Clone)]
pub enum IndexLocation {
    Memory,
    Dir(PathBuf),
}

/// The services every use case needs, shared by all requests.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub search: Arc<SearchIndex>,
    pub tenant: Tenant,
    pub clock: Arc<dyn Clock>,
}

impl App {
    pub fn new(
        store: Store,
        search: Arc<SearchIndex>,
        tenant: Tenant,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            search,
            tenant,
            clock,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Rebuilds the search index from the database.
    pub async fn reindex(&self) -> Result<u64, AppError> {
        let items = self.store.items(&self.tenant).await?;
        let faqs = self.store.faqs(&self.tenant).await?;
        let units = self.store.units(&self.tenant).await?;
        let unit_names: HashMap<UnitCode, String> =
            units.into_iter().map(|u| (u.code, u.name_zh)).collect();
        let synonyms = reference_synonyms()?;
        let search = Arc::clone(&self.search);
        tokio::task::spawn_blocking(move || {
            search.rebuild(tongban_search::IndexInput {
                items: &items,
                faqs: &faqs,
                unit_names: &unit_names,
                synonyms,
            })?;
            Ok::<u64, AppError>(search.document_count())
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
    }

    /// Validates a data set against itself and the database, then writes it in one transaction
    /// and refreshes the search index. Nothing is written when anything is invalid.
    pub async fn import(&self, dataset: &Dataset) -> Result<ImportCounts, AppError> {
        let existing = dataset::Existing::load(&self.store, &self.tenant).await?;
        let data = dataset.validate(&self.tenant, &existing)?;
        let counts = self
            .store
            .import_master_data(&self.tenant, &data, self.now_ms())
            .await?;
        self.reindex().await?;
        Ok(counts)
    }

    /// Everything that `import` reads, as it is now in the database.
    pub async fn export(&self) -> Result<Dataset, AppError> {
        Dataset::from_store(&self.store, &self.tenant).await
    }
}

/// The synonym table shipped with Tongban.
pub fn reference_synonyms() -> Result<Synonyms, AppError> {
    Synonyms::parse(include_str!("../reference/synonyms.txt")).map_err(|errors| {
        AppError::Internal(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

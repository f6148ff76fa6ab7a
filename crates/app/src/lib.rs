//! Use cases: what residents, staff and the command line can do, each owning its transaction.
//! Pages, the JSON API and the CLI all call these; no rule lives twice.

pub mod agents;
mod audit;
pub mod blobs;
pub mod calendar;
pub mod cases;
mod catalog;
mod dataset;
mod demo;
mod demo_history;
pub mod email;
mod error;
mod http_post;
pub mod identity;
pub mod materials;
pub mod people;
pub mod rekey;
pub mod relay;
pub mod request_rates;
pub mod requests;
mod search;
pub mod signin;
pub mod sms;
mod snapshot;
pub mod tokens;
pub mod track;
pub mod vault;
pub mod webhook;

use std::path::PathBuf;
use std::sync::Arc;

pub use audit::AuditVerdict;
pub use catalog::{DepartmentPage, ItemGuide, TownshipPage};
pub use dataset::{
    Dataset, ImportReport, RowError, read_dir as read_dataset_dir, write_dir as write_dataset_dir,
};
pub use demo::{
    DEMO_AGENT_PHONE, DEMO_PASSWORD, DEMO_RESIDENT_PHONE, DemoAccount, demo_dataset,
    demo_routing_history,
};
pub use error::{AppError, Refusal, RefusalKind};
pub use identity::{AuthPolicy, Credential, Identity, Principal};
pub use search::{MAX_QUERY_CHARS, SearchOutcome, SearchParams};
pub use signin::{CodeSent, NewSession, NextStep, SessionLookup, TotpEnrolment};
pub use snapshot::{CatalogSnapshot, POPULAR, VERSION_CHECK_INTERVAL};
pub use tongban_search::routing;
pub use tongban_search::{FaqHit, Filters, ItemHit, SearchIndex, Synonyms};
pub use tongban_store::{
    AuditFilter, Backend, CaseRecord, ImportCounts, MaterialRecord, RequestPhoto, RequestQuery,
    RequestRecord, SearchMiss, Store, StoreError,
};

use tongban_domain::{Clock, ServiceItem, Tenant};

use snapshot::CatalogCache;

/// Where the search index lives.
#[derive(Debug, Clone)]
pub enum IndexLocation {
    Memory,
    Dir(PathBuf),
}

/// The services every use case needs, shared by all requests. Cloned for every request that
/// comes in, so it is one shared pointer to its [`Parts`].
#[derive(Clone)]
pub struct App(Arc<Parts>);

impl std::ops::Deref for App {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

#[derive(Clone)]
pub struct Parts {
    pub store: Store,
    pub search: Arc<SearchIndex>,
    pub tenant: Tenant,
    pub clock: Arc<dyn Clock>,
    pub identity: Arc<Identity>,
    /// Where uploaded files' bytes live, by content hash (local folder, or an S3-compatible
    /// store); metadata stays in the database.
    pub blobs: Arc<dyn object_store::ObjectStore>,
    /// The integration endpoint told of every change to a case, if one is configured.
    pub webhook: Option<Arc<webhook::Webhook>>,
    /// The SMTP relay for e-mail notifications, if one is configured.
    pub mailer: Option<Arc<email::Mailer>>,
    /// How the county runs the request loop.
    pub request_policy: Arc<requests::RequestPolicy>,
    routers: Arc<requests::RouterCache>,
    catalog: Arc<CatalogCache>,
    lookups: Arc<track::LookupLog>,
}

tokio::task_local! {
    /// The id of the request being served, recorded in audit entries.
    pub static REQUEST_ID: String;
}

/// The current request's id, or empty outside a request (command line, start-up).
pub fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

impl App {
    pub fn new(
        store: Store,
        search: Arc<SearchIndex>,
        tenant: Tenant,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self(Arc::new(Parts {
            store,
            search,
            tenant,
            clock,
            identity: Arc::new(Identity::ephemeral()),
            blobs: Arc::new(object_store::memory::InMemory::new()),
            webhook: None,
            mailer: None,
            request_policy: Arc::default(),
            routers: Arc::default(),
            catalog: Arc::default(),
            lookups: Arc::default(),
        }))
    }

    /// The parts to set up; only while the app is being built, before it is shared.
    fn parts(&mut self) -> &mut Parts {
        Arc::make_mut(&mut self.0)
    }

    /// The deployment's keys, SMS gateway and sign-in policy (default: throwaway keys, the
    /// development SMS sink, the default policy).
    #[must_use]
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.parts().identity = Arc::new(identity);
        self
    }

    /// The store for uploaded files (default: in memory, for tests and tools).
    #[must_use]
    pub fn with_blobs(mut self, blobs: Arc<dyn object_store::ObjectStore>) -> Self {
        self.parts().blobs = blobs;
        self
    }

    /// Posts every change to a case to an integration endpoint (default: none).
    #[must_use]
    pub fn with_webhook(mut self, webhook: webhook::Webhook) -> Self {
        self.parts().webhook = Some(Arc::new(webhook));
        self
    }

    /// Sends notifications by e-mail too, to residents who gave an address (default: no).
    #[must_use]
    pub fn with_mailer(mut self, mailer: email::Mailer) -> Self {
        self.parts().mailer = Some(Arc::new(mailer));
        self
    }

    /// The county's limits, office hours and auto-dispatch threshold for requests.
    #[must_use]
    pub fn with_request_policy(mut self, policy: requests::RequestPolicy) -> Self {
        self.parts().request_policy = Arc::new(policy);
        self
    }

    /// How often this process asks the database whether another process changed the catalog
    /// (default [`VERSION_CHECK_INTERVAL`]). Starts with an empty snapshot.
    #[must_use]
    pub fn with_catalog_check_interval(mut self, interval: std::time::Duration) -> Self {
        self.parts().catalog = Arc::new(CatalogCache::with_interval(interval));
        self
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Reloads the catalog from the database and rebuilds the search index from it.
    pub async fn reindex(&self) -> Result<u64, AppError> {
        let _reloading = self.catalog.reload_lock().await;
        let snapshot = Arc::new(CatalogSnapshot::load(&self.store, &self.tenant).await?);
        self.catalog.put(Arc::clone(&snapshot));
        self.index(&snapshot).await
    }

    /// Reloads this process's catalog snapshot after a change that leaves the search index as
    /// it is (the calendar).
    pub(crate) async fn reload_catalog(&self) -> Result<(), AppError> {
        let _reloading = self.catalog.reload_lock().await;
        let snapshot = Arc::new(CatalogSnapshot::load(&self.store, &self.tenant).await?);
        self.catalog.put(snapshot);
        Ok(())
    }

    /// The catalog as this process holds it. Every [`VERSION_CHECK_INTERVAL`] one request asks
    /// the database for the catalog version; when another process has imported since, the
    /// snapshot and the search index are rebuilt.
    pub async fn catalog(&self) -> Result<Arc<CatalogSnapshot>, AppError> {
        if let Some(snapshot) = self.catalog.fresh() {
            return Ok(snapshot);
        }
        let _reloading = self.catalog.reload_lock().await;
        if let Some(snapshot) = self.catalog.fresh() {
            return Ok(snapshot);
        }
        let previous = self.catalog.current();
        let version = match (self.store.catalog_version(&self.tenant).await, &previous) {
            (Ok(v), _) => v,
            // The database is away: the catalog it last gave is still right to show.
            (Err(e), Some(held)) => {
                tracing::warn!(error = %e, "catalog version check failed; serving the snapshot held");
                self.catalog.touch();
                return Ok(Arc::clone(held));
            }
            (Err(e), None) => return Err(e.into()),
        };
        if let Some(current) = previous.as_ref().filter(|s| s.version == version) {
            self.catalog.touch();
            return Ok(Arc::clone(current));
        }
        let snapshot = Arc::new(CatalogSnapshot::load(&self.store, &self.tenant).await?);
        self.catalog.put(Arc::clone(&snapshot));
        if previous.is_some() {
            tracing::info!(
                version,
                "catalog changed in the database; rebuilding the search index"
            );
            self.index(&snapshot).await?;
        }
        Ok(snapshot)
    }

    async fn index(&self, snapshot: &Arc<CatalogSnapshot>) -> Result<u64, AppError> {
        let synonyms = reference_synonyms()?;
        let search = Arc::clone(&self.search);
        let snapshot = Arc::clone(snapshot);
        tokio::task::spawn_blocking(move || {
            let items: Vec<&ServiceItem> = snapshot.items.iter().map(AsRef::as_ref).collect();
            search.rebuild(tongban_search::IndexInput {
                items: &items,
                summaries: &snapshot.summaries,
                faqs: &snapshot.faqs,
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
        let audit = tongban_domain::audit::AuditEntry {
            at_ms: self.now_ms(),
            actor: audit::SYSTEM.into(),
            action: "catalog.import".into(),
            object: "catalog".into(),
            ..Default::default()
        };
        let counts = self
            .store
            .import_master_data(&self.tenant, &data, &audit)
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

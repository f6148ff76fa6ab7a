//! The catalog held in memory. Master data changes only by import, yet every guide, department
//! and township page reads it, so each process keeps one immutable snapshot and swaps it whole
//! when the database's catalog version moves (see `catalog_versions`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tongban_domain::{
    Division, DivisionLevel, Faq, ItemSummary, OrgUnit, ServiceItem, ServiceLevel, Target, Tenant,
};
use tongban_store::Store;

use crate::AppError;

/// How long a process trusts its snapshot before asking the database whether another process
/// imported. An import in this process reloads at once.
pub const VERSION_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// How many popular items the home and township pages show.
pub const POPULAR: usize = 8;

/// One consistent reading of the tenant's master data.
#[derive(Debug, Default)]
pub struct CatalogSnapshot {
    pub version: i64,
    pub divisions: Vec<Division>,
    pub units: Vec<Arc<OrgUnit>>,
    pub items: Vec<Arc<ServiceItem>>,
    pub faqs: Vec<Faq>,
    /// Summaries of `items`, same order.
    pub summaries: Vec<ItemSummary>,
    /// County items residents ask about most (see `rank_popular`).
    pub popular: Vec<ItemSummary>,
    /// The working-day calendar deadlines are counted on.
    pub calendar: tongban_domain::Calendar,
    item_index: HashMap<String, usize>,
    unit_index: HashMap<String, usize>,
    faqs_by_item: HashMap<String, Vec<usize>>,
}

impl CatalogSnapshot {
    pub async fn load(store: &Store, tenant: &Tenant) -> Result<Self, AppError> {
        // The version is read first: should an import land between the reads, the next check
        // sees a newer version and loads again, so the snapshot is never stale for long.
        let version = store.catalog_version(tenant).await?;
        let divisions = store.divisions(tenant).await?;
        let units = store.units(tenant).await?;
        let items = store.items(tenant).await?;
        let faqs = store.faqs(tenant).await?;
        let mut snapshot = Self::new(version, divisions, units, items, faqs);
        snapshot.calendar = tongban_domain::Calendar::new(store.calendar_years(tenant).await?);
        Ok(snapshot)
    }

    pub fn new(
        version: i64,
        divisions: Vec<Division>,
        units: Vec<OrgUnit>,
        items: Vec<ServiceItem>,
        faqs: Vec<Faq>,
    ) -> Self {
        let units: Vec<Arc<OrgUnit>> = units.into_iter().map(Arc::new).collect();
        let unit_index = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.code.to_string(), i))
            .collect();
        let items: Vec<Arc<ServiceItem>> = items.into_iter().map(Arc::new).collect();
        let item_index = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.code.to_string(), i))
            .collect();
        let mut faqs_by_item: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in faqs.iter().enumerate() {
            if let Some(code) = &f.item_code {
                faqs_by_item.entry(code.to_string()).or_default().push(i);
            }
        }
        let mut snapshot = Self {
            version,
            divisions,
            units,
            items,
            faqs,
            summaries: Vec::new(),
            popular: Vec::new(),
            calendar: tongban_domain::Calendar::default(),
            item_index,
            unit_index,
            faqs_by_item,
        };
        snapshot.summaries = snapshot
            .items
            .iter()
            .map(|i| snapshot.summary_of(i))
            .collect();
        snapshot.popular = snapshot.rank_popular(POPULAR);
        snapshot
    }

    pub fn item(&self, code: &str) -> Option<&Arc<ServiceItem>> {
        self.item_index.get(code).map(|&i| &self.items[i])
    }

    pub fn unit(&self, code: &str) -> Option<&Arc<OrgUnit>> {
        self.unit_index.get(code).map(|&i| &self.units[i])
    }

    pub fn division(&self, code: &str) -> Option<&Division> {
        self.divisions.iter().find(|d| d.code.as_str() == code)
    }

    pub fn townships(&self) -> impl Iterator<Item = &Division> {
        self.divisions
            .iter()
            .filter(|d| d.level == DivisionLevel::Township)
    }

    pub fn faqs_of_item(&self, code: &str) -> impl Iterator<Item = &Faq> {
        self.faqs_by_item
            .get(code)
            .into_iter()
            .flatten()
            .map(|&i| &self.faqs[i])
    }

    /// The display name of a unit (its code when the catalog does not know it).
    pub fn unit_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.unit(code).map_or(code, |u| u.name_zh.as_str())
    }

    fn summary_of(&self, item: &ServiceItem) -> ItemSummary {
        item.summary(self.unit_name(item.department.as_str()))
    }

    /// Summaries of the items that match, in catalog order.
    pub fn summaries_where(&self, keep: impl Fn(&ServiceItem) -> bool) -> Vec<ItemSummary> {
        self.items
            .iter()
            .zip(&self.summaries)
            .filter(|(i, _)| keep(i))
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Items residents ask about most, judged by how many FAQ entries concern them (the FAQ
    /// records what people actually ask); ties go to deeper online service, then catalog order.
    fn rank_popular(&self, n: usize) -> Vec<ItemSummary> {
        let mut ranked: Vec<(usize, &ServiceItem)> = self
            .items
            .iter()
            .map(AsRef::as_ref)
            .enumerate()
            .filter(|(_, i)| {
                i.target.contains(&Target::Individual) && i.level == ServiceLevel::County
            })
            .collect();
        ranked.sort_by_key(|(pos, i)| {
            (
                std::cmp::Reverse(self.faqs_by_item.get(i.code.as_str()).map_or(0, Vec::len)),
                std::cmp::Reverse(i.online_level),
                *pos,
            )
        });
        ranked
            .into_iter()
            .take(n)
            .map(|(pos, _)| self.summaries[pos].clone())
            .collect()
    }
}

/// The current snapshot of one process, with when it last compared versions.
pub(crate) struct CatalogCache {
    current: RwLock<Option<(Arc<CatalogSnapshot>, Instant)>>,
    reload: tokio::sync::Mutex<()>,
    interval: Duration,
}

impl Default for CatalogCache {
    fn default() -> Self {
        Self::with_interval(VERSION_CHECK_INTERVAL)
    }
}

impl CatalogCache {
    pub(crate) fn with_interval(interval: Duration) -> Self {
        Self {
            current: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
            interval,
        }
    }

    /// The snapshot if it was checked recently enough; `None` when a version check is due.
    pub(crate) fn fresh(&self) -> Option<Arc<CatalogSnapshot>> {
        let guard = self.current.read().ok()?;
        let (snapshot, checked) = guard.as_ref()?;
        (checked.elapsed() < self.interval).then(|| Arc::clone(snapshot))
    }

    pub(crate) fn current(&self) -> Option<Arc<CatalogSnapshot>> {
        let guard = self.current.read().ok()?;
        guard.as_ref().map(|(s, _)| Arc::clone(s))
    }

    pub(crate) fn put(&self, snapshot: Arc<CatalogSnapshot>) {
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((snapshot, Instant::now()));
        }
    }

    pub(crate) fn touch(&self) {
        if let Ok(mut guard) = self.current.write()
            && let Some((_, checked)) = guard.as_mut()
        {
            *checked = Instant::now();
        }
    }

    /// Serialises reloads so a burst of requests after the interval makes one version query.
    pub(crate) async fn reload_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reload.lock().await
    }
}

//! Reading the catalog: guides, departments, townships, divisions.

use std::sync::Arc;

use tongban_domain::{Division, Faq, ItemSummary, OrgUnit, ServiceItem, ServiceLevel};

use crate::{App, AppError};

/// One item's guide (办事指南) with what the page around it needs.
#[derive(Debug, Clone)]
pub struct ItemGuide {
    pub item: Arc<ServiceItem>,
    pub department: Arc<OrgUnit>,
    pub faqs: Vec<Faq>,
}

#[derive(Debug, Clone)]
pub struct DepartmentPage {
    pub unit: Arc<OrgUnit>,
    pub items: Vec<ItemSummary>,
    /// For a township government: the division it governs.
    pub division: Option<Division>,
}

#[derive(Debug, Clone)]
pub struct TownshipPage {
    pub township: Division,
    pub villages: Vec<Division>,
    pub office: Option<Arc<OrgUnit>>,
    /// Items handled at this township's centre or its villages' stations.
    pub local_items: Vec<ItemSummary>,
    /// County items its residents use most.
    pub county_items: Vec<ItemSummary>,
}

impl App {
    pub async fn item_guide(&self, code: &str) -> Result<ItemGuide, AppError> {
        let catalog = self.catalog().await?;
        let item = found(catalog.item(code), "item", code)?;
        let department = catalog.unit(item.department.as_str()).ok_or_else(|| {
            AppError::Internal(format!(
                "item {code} names missing unit {}",
                item.department
            ))
        })?;
        Ok(ItemGuide {
            item: Arc::clone(item),
            department: Arc::clone(department),
            faqs: catalog.faqs_of_item(code).cloned().collect(),
        })
    }

    pub async fn item(&self, code: &str) -> Result<Arc<ServiceItem>, AppError> {
        let catalog = self.catalog().await?;
        found(catalog.item(code), "item", code).map(Arc::clone)
    }

    pub async fn units(&self) -> Result<Vec<Arc<OrgUnit>>, AppError> {
        Ok(self.catalog().await?.units.clone())
    }

    pub async fn unit(&self, code: &str) -> Result<Arc<OrgUnit>, AppError> {
        let catalog = self.catalog().await?;
        found(catalog.unit(code), "unit", code).map(Arc::clone)
    }

    pub async fn divisions(&self) -> Result<Vec<Division>, AppError> {
        Ok(self.catalog().await?.divisions.clone())
    }

    pub async fn townships(&self) -> Result<Vec<Division>, AppError> {
        Ok(self.catalog().await?.townships().cloned().collect())
    }

    pub async fn department_page(&self, code: &str) -> Result<DepartmentPage, AppError> {
        let catalog = self.catalog().await?;
        let unit = Arc::clone(found(catalog.unit(code), "unit", code)?);
        let items = match &unit.division {
            // A township government handles the township- and village-level items.
            Some(_) => catalog.summaries_where(is_local),
            None => catalog.summaries_where(|i| i.department.as_str() == code),
        };
        let division = unit
            .division
            .as_ref()
            .and_then(|d| catalog.division(d.as_str()))
            .cloned();
        Ok(DepartmentPage {
            unit,
            items,
            division,
        })
    }

    pub async fn township_page(&self, code: &str) -> Result<TownshipPage, AppError> {
        let catalog = self.catalog().await?;
        let township = found(
            catalog.townships().find(|d| d.code.as_str() == code),
            "township",
            code,
        )?
        .clone();
        let villages = catalog
            .divisions
            .iter()
            .filter(|d| d.parent.as_ref() == Some(&township.code))
            .cloned()
            .collect();
        Ok(TownshipPage {
            township,
            villages,
            office: catalog.unit(code).cloned(),
            local_items: catalog.summaries_where(is_local),
            county_items: catalog.popular.clone(),
        })
    }

    /// Items residents ask about most (see [`CatalogSnapshot::popular`]).
    pub async fn popular_items(&self) -> Result<Vec<ItemSummary>, AppError> {
        Ok(self.catalog().await?.popular.clone())
    }
}

/// Handled at a township centre or a village station rather than at the county hall.
fn is_local(item: &ServiceItem) -> bool {
    matches!(item.level, ServiceLevel::Township | ServiceLevel::Village)
}

fn found<'a, T>(value: Option<&'a T>, kind: &'static str, code: &str) -> Result<&'a T, AppError> {
    value.ok_or_else(|| AppError::not_found(kind, code))
}

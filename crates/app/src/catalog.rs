//! Reading the catalog: guides, departments, townships, divisions.

use std::collections::HashMap;

use tongban_domain::{Division, DivisionLevel, Faq, ItemSummary, OrgUnit, ServiceItem, Target};

use crate::{App, AppError};

/// One item's guide (办事指南) with what the page around it needs.
#[derive(Debug, Clone)]
pub struct ItemGuide {
    pub item: ServiceItem,
    pub department: OrgUnit,
    pub faqs: Vec<Faq>,
}

#[derive(Debug, Clone)]
pub struct DepartmentPage {
    pub unit: OrgUnit,
    pub items: Vec<ItemSummary>,
    /// For a township government: the division it governs.
    pub division: Option<Division>,
}

#[derive(Debug, Clone)]
pub struct TownshipPage {
    pub township: Division,
    pub villages: Vec<Division>,
    pub office: Option<OrgUnit>,
    /// Items handled at this township's centre or its villages' stations.
    pub local_items: Vec<ItemSummary>,
    /// County items its residents use most.
    pub county_items: Vec<ItemSummary>,
}

/// How many popular items the home and township pages show.
pub const POPULAR: usize = 8;

impl App {
    pub async fn item_guide(&self, code: &str) -> Result<ItemGuide, AppError> {
        let item = self
            .store
            .item(&self.tenant, code)
            .await?
            .ok_or_else(|| AppError::not_found("item", code))?;
        let department = self
            .store
            .unit(&self.tenant, item.department.as_str())
            .await?
            .ok_or_else(|| {
                AppError::Internal(format!(
                    "item {code} names missing unit {}",
                    item.department
                ))
            })?;
        let faqs = self.store.faqs_of_item(&self.tenant, code).await?;
        Ok(ItemGuide {
            item,
            department,
            faqs,
        })
    }

    pub async fn item(&self, code: &str) -> Result<ServiceItem, AppError> {
        self.store
            .item(&self.tenant, code)
            .await?
            .ok_or_else(|| AppError::not_found("item", code))
    }

    pub async fn units(&self) -> Result<Vec<OrgUnit>, AppError> {
        Ok(self.store.units(&self.tenant).await?)
    }

    pub async fn unit(&self, code: &str) -> Result<OrgUnit, AppError> {
        self.store
            .unit(&self.tenant, code)
            .await?
            .ok_or_else(|| AppError::not_found("unit", code))
    }

    pub async fn divisions(&self) -> Result<Vec<Division>, AppError> {
        Ok(self.store.divisions(&self.tenant).await?)
    }

    pub async fn townships(&self) -> Result<Vec<Division>, AppError> {
        Ok(self
            .divisions()
            .await?
            .into_iter()
            .filter(|d| d.level == DivisionLevel::Township)
            .collect())
    }

    async fn unit_names(&self) -> Result<HashMap<String, String>, AppError> {
        Ok(self
            .units()
            .await?
            .into_iter()
            .map(|u| (u.code.to_string(), u.name_zh))
            .collect())
    }

    fn summarize(items: &[ServiceItem], names: &HashMap<String, String>) -> Vec<ItemSummary> {
        items
            .iter()
            .map(|i| {
                i.summary(
                    names
                        .get(i.department.as_str())
                        .map_or(i.department.as_str(), String::as_str),
                )
            })
            .collect()
    }

    pub async fn department_page(&self, code: &str) -> Result<DepartmentPage, AppError> {
        let unit = self.unit(code).await?;
        let names = self.unit_names().await?;
        let items = match &unit.division {
            // A township government handles the township- and village-level items.
            Some(_) => self.store.local_items(&self.tenant).await?,
            None => self.store.items_of_department(&self.tenant, code).await?,
        };
        let division = match &unit.division {
            Some(d) => self.store.division(&self.tenant, d.as_str()).await?,
            None => None,
        };
        Ok(DepartmentPage {
            unit,
            items: Self::summarize(&items, &names),
            division,
        })
    }

    pub async fn township_page(&self, code: &str) -> Result<TownshipPage, AppError> {
        let divisions = self.divisions().await?;
        let township = divisions
            .iter()
            .find(|d| d.code.as_str() == code && d.level == DivisionLevel::Township)
            .cloned()
            .ok_or_else(|| AppError::not_found("township", code))?;
        let villages = divisions
            .into_iter()
            .filter(|d| d.parent.as_ref() == Some(&township.code))
            .collect();
        let office = self.store.unit(&self.tenant, code).await?;
        let names = self.unit_names().await?;
        let local = self.store.local_items(&self.tenant).await?;
        Ok(TownshipPage {
            township,
            villages,
            office,
            local_items: Self::summarize(&local, &names),
            county_items: self.popular_items(POPULAR).await?,
        })
    }

    /// Items residents ask about most, judged by how many FAQ entries concern them (the FAQ
    /// records what people actually ask); ties go to deeper online service.
    pub async fn popular_items(&self, n: usize) -> Result<Vec<ItemSummary>, AppError> {
        let faqs = self.store.faqs(&self.tenant).await?;
        let mut asked: HashMap<String, usize> = HashMap::new();
        for f in &faqs {
            if let Some(code) = &f.item_code {
                *asked.entry(code.to_string()).or_default() += 1;
            }
        }
        let items = self.store.items(&self.tenant).await?;
        let names = self.unit_names().await?;
        let mut ranked: Vec<(usize, &ServiceItem)> = items
            .iter()
            .filter(|i| {
                i.target.contains(&Target::Individual)
                    && i.level == tongban_domain::ServiceLevel::County
            })
            .enumerate()
            .collect();
        ranked.sort_by_key(|(pos, i)| {
            (
                std::cmp::Reverse(asked.get(i.code.as_str()).copied().unwrap_or(0)),
                std::cmp::Reverse(i.online_level),
                *pos,
            )
        });
        let top: Vec<ServiceItem> = ranked.into_iter().take(n).map(|(_, i)| i.clone()).collect();
        Ok(Self::summarize(&top, &names))
    }
}

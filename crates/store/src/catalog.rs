//! Master data: divisions, organisation units, service items, FAQs and calendar years.

use crate::db::{self, Row};
use tongban_domain::{
    CalendarYear, Division, DivisionCode, DivisionKind, DivisionLevel, Faq, ItemCode, OrgUnit,
    ServiceItem, Tenant, UnitCode, UnitKind,
};

use crate::error::corrupt;
use tongban_domain::audit::AuditEntry;

use crate::{Store, StoreError};

/// A validated set of master data to write in one transaction. Entities with a code are
/// upserted; when `faqs` is given it replaces the tenant's whole knowledge base.
#[derive(Debug, Clone, Default)]
pub struct MasterData {
    pub divisions: Vec<Division>,
    pub units: Vec<OrgUnit>,
    pub items: Vec<ServiceItem>,
    pub faqs: Option<Vec<Faq>>,
    pub calendars: Vec<CalendarYear>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub divisions: usize,
    pub units: usize,
    pub items: usize,
    pub faqs: usize,
    pub calendars: usize,
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Writes a whole data set atomically: either all of it lands or none does.
    pub async fn import_master_data(
        &self,
        tenant: &Tenant,
        data: &MasterData,
        audit: &AuditEntry,
    ) -> Result<ImportCounts, StoreError> {
        let t = tenant.as_str();
        let now_ms = audit.at_ms;
        let mut tx = self.begin().await?;

        // Parents before children, so the self-reference holds at every insert.
        let mut divisions: Vec<&Division> = data.divisions.iter().collect();
        divisions.sort_by_key(|d| d.level);
        for d in divisions {
            db::query(
                "INSERT INTO divisions (tenant, code, name, level, parent_code, kind) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (tenant, code) DO UPDATE SET name = excluded.name, level = excluded.level, \
                 parent_code = excluded.parent_code, kind = excluded.kind",
            )
            .bind(t)
            .bind(d.code.as_str())
            .bind(&d.name)
            .bind(d.level.as_str())
            .bind(d.parent.as_ref().map(DivisionCode::as_str))
            .bind(d.kind.as_str())
            .execute(tx.conn())
            .await?;
        }

        for (position, u) in data.units.iter().enumerate() {
            db::query(
                "INSERT INTO org_units (tenant, code, name_zh, name_en, short_zh, duties_zh, phone, address, kind, division_code, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (tenant, code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, \
                 short_zh = excluded.short_zh, duties_zh = excluded.duties_zh, phone = excluded.phone, \
                 address = excluded.address, kind = excluded.kind, division_code = excluded.division_code, \
                 position = excluded.position",
            )
            .bind(t)
            .bind(u.code.as_str())
            .bind(&u.name_zh)
            .bind(&u.name_en)
            .bind(&u.short_zh)
            .bind(&u.duties_zh)
            .bind(&u.phone)
            .bind(&u.address)
            .bind(u.kind.as_str())
            .bind(u.division.as_ref().map(DivisionCode::as_str))
            .bind(to_i64(position))
            .execute(tx.conn())
            .await?;
        }

        for (position, item) in data.items.iter().enumerate() {
            let document = serde_json::to_string(item).map_err(|e| corrupt("service item", e))?;
            db::query(
                "INSERT INTO service_items (tenant, code, name, department_code, level, item_type, online_level, position, document, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (tenant, code) DO UPDATE SET name = excluded.name, department_code = excluded.department_code, \
                 level = excluded.level, item_type = excluded.item_type, online_level = excluded.online_level, \
                 position = excluded.position, document = excluded.document, updated_at = excluded.updated_at",
            )
            .bind(t)
            .bind(item.code.as_str())
            .bind(&item.name)
            .bind(item.department.as_str())
            .bind(item.level.as_str())
            .bind(item.item_type.as_str())
            .bind(i64::from(item.online_level.value()))
            .bind(to_i64(position))
            .bind(document)
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
        }

        let mut faq_count = 0;
        if let Some(faqs) = &data.faqs {
            db::query("DELETE FROM faqs WHERE tenant = $1")
                .bind(t)
                .execute(tx.conn())
                .await?;
            for (position, f) in faqs.iter().enumerate() {
                db::query(
                    "INSERT INTO faqs (tenant, position, question, answer, item_code, department_code) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(t)
                .bind(to_i64(position))
                .bind(&f.question)
                .bind(&f.answer)
                .bind(f.item_code.as_ref().map(ItemCode::as_str))
                .bind(f.department.as_str())
                .execute(tx.conn())
                .await?;
            }
            faq_count = faqs.len();
        }

        for year in &data.calendars {
            let document = serde_json::to_string(year).map_err(|e| corrupt("calendar year", e))?;
            db::query(
                "INSERT INTO calendar_years (tenant, year, document, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant, year) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
            )
            .bind(t)
            .bind(i64::from(year.year))
            .bind(document)
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
        }

        db::query(
            "INSERT INTO catalog_versions (tenant, version, updated_at) VALUES ($1, 1, $2) \
             ON CONFLICT (tenant) DO UPDATE SET version = catalog_versions.version + 1, \
             updated_at = excluded.updated_at",
        )
        .bind(t)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;

        let counts = ImportCounts {
            divisions: data.divisions.len(),
            units: data.units.len(),
            items: data.items.len(),
            faqs: faq_count,
            calendars: data.calendars.len(),
        };
        let detail = format!(
            "divisions={} units={} items={} faqs={} calendars={}",
            counts.divisions, counts.units, counts.items, counts.faqs, counts.calendars
        );
        self.append_audit(
            &mut tx,
            tenant,
            &AuditEntry {
                detail,
                ..audit.clone()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// The tenant's catalog version: 0 before the first import, raised by each import.
    pub async fn catalog_version(&self, tenant: &Tenant) -> Result<i64, StoreError> {
        let row = db::query("SELECT version FROM catalog_versions WHERE tenant = $1")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("version")?,
            None => 0,
        })
    }

    /// Whether the tenant has no catalog yet (a fresh database, ready for demo data).
    pub async fn catalog_is_empty(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let row = db::query("SELECT COUNT(*) AS n FROM org_units WHERE tenant = $1")
            .bind(tenant.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    pub async fn divisions(&self, tenant: &Tenant) -> Result<Vec<Division>, StoreError> {
        let rows = db::query(
            "SELECT code, name, level, parent_code, kind FROM divisions WHERE tenant = $1 ORDER BY code",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(division_from_row).collect()
    }

    pub async fn units(&self, tenant: &Tenant) -> Result<Vec<OrgUnit>, StoreError> {
        let rows = db::query(
            "SELECT code, name_zh, name_en, short_zh, duties_zh, phone, address, kind, division_code \
             FROM org_units WHERE tenant = $1 ORDER BY position, code",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(unit_from_row).collect()
    }

    pub async fn items(&self, tenant: &Tenant) -> Result<Vec<ServiceItem>, StoreError> {
        let rows = db::query(
            "SELECT document FROM service_items WHERE tenant = $1 ORDER BY position, code",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    pub async fn faqs(&self, tenant: &Tenant) -> Result<Vec<Faq>, StoreError> {
        let rows = db::query(
            "SELECT question, answer, item_code, department_code FROM faqs WHERE tenant = $1 ORDER BY position",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(faq_from_row).collect()
    }

    pub async fn calendar_years(&self, tenant: &Tenant) -> Result<Vec<CalendarYear>, StoreError> {
        let rows = db::query("SELECT document FROM calendar_years WHERE tenant = $1 ORDER BY year")
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let doc: String = r.try_get("document")?;
                serde_json::from_str(&doc).map_err(|e| corrupt("calendar year", e))
            })
            .collect()
    }
}

fn division_from_row(row: &Row) -> Result<Division, StoreError> {
    let code: String = row.try_get("code")?;
    let level: String = row.try_get("level")?;
    let kind: String = row.try_get("kind")?;
    let parent: Option<String> = row.try_get("parent_code")?;
    let bad = |e: tongban_domain::RuleViolation| corrupt(format!("division {code}"), e);
    Ok(Division {
        code: DivisionCode::parse(&code).map_err(bad)?,
        name: row.try_get("name")?,
        level: DivisionLevel::parse(&level).map_err(bad)?,
        parent: parent
            .as_deref()
            .map(DivisionCode::parse)
            .transpose()
            .map_err(bad)?,
        kind: DivisionKind::parse(&kind).map_err(bad)?,
    })
}

fn unit_from_row(row: &Row) -> Result<OrgUnit, StoreError> {
    let code: String = row.try_get("code")?;
    let kind: String = row.try_get("kind")?;
    let division: Option<String> = row.try_get("division_code")?;
    let bad = |e: tongban_domain::RuleViolation| corrupt(format!("unit {code}"), e);
    Ok(OrgUnit {
        code: UnitCode::parse(&code).map_err(bad)?,
        name_zh: row.try_get("name_zh")?,
        name_en: row.try_get("name_en")?,
        short_zh: row.try_get("short_zh")?,
        duties_zh: row.try_get("duties_zh")?,
        phone: row.try_get("phone")?,
        address: row.try_get("address")?,
        kind: UnitKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("unit {code}"), format!("kind {kind}")))?,
        division: division
            .as_deref()
            .map(DivisionCode::parse)
            .transpose()
            .map_err(bad)?,
    })
}

fn item_from_row(row: &Row) -> Result<ServiceItem, StoreError> {
    let doc: String = row.try_get("document")?;
    serde_json::from_str(&doc).map_err(|e| corrupt("service item", e))
}

fn faq_from_row(row: &Row) -> Result<Faq, StoreError> {
    let item: Option<String> = row.try_get("item_code")?;
    let dept: String = row.try_get("department_code")?;
    Ok(Faq {
        question: row.try_get("question")?,
        answer: row.try_get("answer")?,
        item_code: item
            .as_deref()
            .map(ItemCode::parse)
            .transpose()
            .map_err(|e| corrupt("faq", e))?,
        department: UnitCode::parse(&dept).map_err(|e| corrupt("faq", e))?,
    })
}

//! Administrators keep the working-day calendar: each year as the State Council publishes it
//! (days off, make-up working days), in the same TOML form `import` reads. A year is checked
//! as a whole and replaces the stored one in one step, so deadlines never count on half a
//! year.

use tongban_domain::access::may_administer;
use tongban_domain::{Actor, CalendarYear};

use crate::dataset::Dataset;
use crate::{AppError, Refusal, RefusalKind};

impl crate::App {
    /// The years the county has, oldest first.
    pub async fn calendar_years(&self, actor: &Actor) -> Result<Vec<i32>, AppError> {
        if !may_administer(actor) {
            return Err(AppError::forbidden());
        }
        let mut years: Vec<i32> = self.catalog().await?.calendar.years().collect();
        years.sort_unstable();
        Ok(years)
    }

    /// A year in its file form, or an empty one to fill in.
    pub async fn calendar_year_text(&self, actor: &Actor, year: i32) -> Result<String, AppError> {
        if !may_administer(actor) {
            return Err(AppError::forbidden());
        }
        let stored = self
            .store
            .calendar_years(&self.tenant)
            .await?
            .into_iter()
            .find(|y| y.year == year);
        let y = stored.unwrap_or(CalendarYear {
            year,
            source: String::new(),
            source_url: String::new(),
            confidence: String::new(),
            workdays: Vec::new(),
            holidays: Vec::new(),
        });
        toml::to_string(&y).map_err(|e| AppError::Internal(format!("calendar {year}: {e}")))
    }

    /// Checks and stores a year given in its file form. Returns the year.
    pub async fn save_calendar_year(&self, actor: &Actor, text: &str) -> Result<i32, AppError> {
        if !may_administer(actor) {
            return Err(AppError::forbidden());
        }
        let year: CalendarYear = toml::from_str(text).map_err(|e| {
            AppError::from(
                Refusal::new(RefusalKind::Invalid, "calendar_invalid")
                    .on("document")
                    .with("detail", e.message()),
            )
        })?;
        let dataset = Dataset {
            calendars: [(format!("cn-{}.toml", year.year), text.to_owned())].into(),
            ..Dataset::default()
        };
        let existing = crate::dataset::Existing::load(&self.store, &self.tenant).await?;
        let data = dataset
            .validate(&self.tenant, &existing)
            .map_err(|e| match e {
                AppError::Import(report) => AppError::from(
                    Refusal::new(RefusalKind::Invalid, "calendar_invalid")
                        .on("document")
                        .with("detail", report.to_string()),
                ),
                other => other,
            })?;
        let entry = self.audit_entry(
            actor,
            "calendar.save",
            &format!("calendar:{}", year.year),
            "",
        );
        self.store
            .import_master_data(&self.tenant, &data, &entry)
            .await?;
        self.reload_catalog().await?;
        Ok(year.year)
    }
}

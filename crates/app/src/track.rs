//! Checking a case's progress without signing in, with the reference number and the
//! applicant's mobile number, as a person would after a phone call or from a text. A wrong
//! pair answers exactly like an unknown reference, and look-ups are limited per address, so
//! the page cannot be used to find out whose cases exist.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tongban_domain::PhoneNumber;
use tongban_domain::deadline::Light;
use tongban_domain::reference::{CaseRef, LOOKUP_WINDOW_MS, may_look_up};

use crate::signin::PHONE;
use crate::{AppError, Refusal, RefusalKind};

/// What anyone with the reference and the phone number may see: no names, no numbers, no
/// answers or files.
#[derive(Debug, Clone)]
pub struct TrackView {
    pub reference: String,
    pub item_name: String,
    /// `submitted`, `in_progress`, `supplement`, ...
    pub stage: &'static str,
    pub unit_name: String,
    pub due_on: Option<chrono::NaiveDate>,
    pub light: Option<Light>,
    /// Every step: when (ms) and what (an action name).
    pub steps: Vec<(i64, String)>,
    /// Names of the materials asked for, while a supplement is open.
    pub supplement: Vec<String>,
}

/// Recent look-up times per client address, in this process.
#[derive(Debug, Default)]
pub struct LookupLog(Mutex<HashMap<String, VecDeque<i64>>>);

impl LookupLog {
    /// Records a look-up from `ip` at `now_ms` if one is allowed; else the seconds to wait.
    fn admit(&self, ip: &str, now_ms: i64) -> Result<(), i64> {
        let mut log = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget quiet addresses so the map stays small.
        if log.len() > 10_000 {
            log.retain(|_, times| times.back().is_some_and(|t| *t > now_ms - LOOKUP_WINDOW_MS));
        }
        let times = log.entry(ip.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| *t <= now_ms - LOOKUP_WINDOW_MS)
        {
            times.pop_front();
        }
        may_look_up(times.make_contiguous(), now_ms)?;
        times.push_back(now_ms);
        Ok(())
    }
}

impl crate::App {
    /// The progress of the case `reference` if `phone` is the applicant's (or the filer's).
    pub async fn track_case(
        &self,
        reference: &str,
        phone: &str,
        ip: &str,
    ) -> Result<TrackView, AppError> {
        let reference =
            CaseRef::parse(reference).map_err(|e| AppError::rejected(e.code(), "reference"))?;
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::rejected(e.code(), "phone"))?;
        if let Err(wait_s) = self.lookups.admit(ip, self.now_ms()) {
            return Err(Refusal::new(RefusalKind::TooMany, "track_too_many")
                .with("minutes", (wait_s + 59) / 60)
                .into());
        }
        let not_found = || {
            AppError::from(Refusal::new(RefusalKind::NotFound, "track_not_found").on("reference"))
        };
        let c = self
            .store
            .case_by_reference(&self.tenant, reference.as_str())
            .await?
            .ok_or_else(not_found)?;
        let hash = self.identity.vault.blind_index(PHONE, phone.as_str());
        let mut matches = false;
        for who in [&c.applicant_id, &c.filed_by] {
            if let Some(u) = self.store.user(&self.tenant, who).await?
                && u.phone_hash.as_deref() == Some(hash.as_str())
            {
                matches = true;
            }
        }
        if !matches {
            return Err(not_found());
        }
        let principal = self.principal_of(&c.applicant_id).await?;
        let view = self.case_view(&principal, &c.id).await?;
        Ok(TrackView {
            reference: reference.to_string(),
            item_name: view.item_name,
            stage: view.stage.as_str(),
            unit_name: view.unit_name,
            due_on: view.clock.as_ref().map(|k| k.due_on).or(view.intake_due),
            light: view.clock.map(|k| k.light),
            steps: view
                .timeline
                .into_iter()
                .map(|e| (e.at_ms, e.action))
                .collect(),
            supplement: view.supplement.into_iter().map(|s| s.material).collect(),
        })
    }
}

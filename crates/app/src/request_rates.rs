//! How well the county answers its residents: the three rates of the 12345 loop, per unit and
//! per township, the overdue requests, and hot spots (which problems recur where).
//!
//! - Responded on time (按时响应率): of requests that reached a unit, the share it signed for
//!   by the deadline.
//! - Resolved (办结率): of requests filed (merged repeats aside), the share closed.
//! - Satisfied (满意率): of rated requests, the share rated 3 or more (基本满意, 满意, 非常满意).

use std::collections::BTreeMap;

use tongban_domain::Role;
use tongban_store::RequestRecord;

use crate::AppError;
use crate::identity::Principal;

/// Counts behind the three rates for one unit, one township or the county.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    pub filed: u64,
    pub reached_unit: u64,
    pub signed_on_time: u64,
    pub closed: u64,
    pub rated: u64,
    pub satisfied: u64,
}

impl Rates {
    fn add(&mut self, r: &RequestRecord) {
        if r.stage == "merged" {
            return;
        }
        self.filed += 1;
        if let Some(due) = r.sign_by {
            self.reached_unit += 1;
            if r.signed_at.is_some_and(|s| s <= due) {
                self.signed_on_time += 1;
            }
        }
        if r.stage == "closed" {
            self.closed += 1;
        }
        if let Some(score) = r.rating {
            self.rated += 1;
            if score >= 3 {
                self.satisfied += 1;
            }
        }
    }

    fn ratio(n: u64, d: u64) -> Option<f64> {
        (d > 0).then(|| n as f64 / d as f64)
    }

    pub fn on_time(&self) -> Option<f64> {
        Self::ratio(self.signed_on_time, self.reached_unit)
    }

    pub fn resolved(&self) -> Option<f64> {
        Self::ratio(self.closed, self.filed)
    }

    pub fn satisfied_share(&self) -> Option<f64> {
        Self::ratio(self.satisfied, self.rated)
    }
}

/// The dispatch centre's view of a period.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub county: Rates,
    /// By the unit a request is (or was last) with.
    pub by_unit: BTreeMap<String, Rates>,
    pub by_township: BTreeMap<String, Rates>,
    /// Open requests past their sign-by or resolve-by deadline, oldest deadline first.
    pub overdue: Vec<RequestRecord>,
    /// (category, village or township, requests in the last 7 days, in the last 30), most
    /// frequent first.
    pub hot_spots: Vec<(String, String, u64, u64)>,
    pub waiting_dispatch: u64,
}

const DAY_MS: i64 = 86_400_000;

impl crate::App {
    /// Rates, overdue requests and hot spots over the last `days` days (dispatchers,
    /// supervisors, administrators).
    pub async fn request_dashboard(&self, p: &Principal, days: i64) -> Result<Dashboard, AppError> {
        let a = &p.actor;
        if !(a.has(Role::Dispatcher) || a.has(Role::Supervisor) || a.has(Role::Administrator)) {
            return Err(AppError::forbidden());
        }
        let now = self.now_ms();
        let since = now - days.max(30) * DAY_MS;
        let all = self.store.requests_since(&self.tenant, since).await?;
        let mut d = Dashboard::default();
        let mut spots: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for r in &all {
            if r.created_at >= now - days * DAY_MS {
                d.county.add(r);
                if let Some(u) = &r.unit_code {
                    d.by_unit.entry(u.clone()).or_default().add(r);
                }
                if let Some(t) = &r.township_code {
                    d.by_township.entry(t.clone()).or_default().add(r);
                }
            }
            let open = matches!(
                r.stage.as_str(),
                "filed" | "dispatched" | "in_hand" | "replied"
            );
            if r.stage == "filed" {
                d.waiting_dispatch += 1;
            }
            let late_sign = r.stage == "dispatched" && r.sign_by.is_some_and(|due| due < now);
            let late_resolve = open && r.resolve_by.is_some_and(|due| due < now);
            if late_sign || late_resolve {
                d.overdue.push(r.clone());
            }
            if r.stage != "merged"
                && let Some(place) = r.village_code.clone().or_else(|| r.township_code.clone())
            {
                let slot = spots.entry((r.category.clone(), place)).or_default();
                if r.created_at >= now - 30 * DAY_MS {
                    slot.1 += 1;
                }
                if r.created_at >= now - 7 * DAY_MS {
                    slot.0 += 1;
                }
            }
        }
        d.overdue
            .sort_by_key(|r| r.resolve_by.or(r.sign_by).unwrap_or(i64::MAX));
        let mut hot: Vec<(String, String, u64, u64)> = spots
            .into_iter()
            .filter(|(_, (_, month))| *month >= 2)
            .map(|((category, place), (week, month))| (category, place, week, month))
            .collect();
        hot.sort_by_key(|h| std::cmp::Reverse((h.2, h.3)));
        hot.truncate(20);
        d.hot_spots = hot;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(
        stage: &str,
        sign_by: Option<i64>,
        signed_at: Option<i64>,
        rating: Option<i64>,
    ) -> RequestRecord {
        RequestRecord {
            stage: stage.into(),
            sign_by,
            signed_at,
            rating,
            ..RequestRecord::default()
        }
    }

    #[test]
    fn the_three_rates_count_what_they_say() {
        let mut rates = Rates::default();
        for x in [
            r("closed", Some(100), Some(90), Some(5)),
            r("closed", Some(100), Some(120), Some(2)),
            r("in_hand", Some(100), Some(100), None),
            r("filed", None, None, None),
            r("merged", Some(100), None, None),
        ] {
            rates.add(&x);
        }
        assert_eq!(rates.filed, 4, "a merged repeat is not counted twice");
        assert_eq!(rates.on_time(), Some(2.0 / 3.0));
        assert_eq!(rates.resolved(), Some(0.5));
        assert_eq!(rates.satisfied_share(), Some(0.5));
        assert_eq!(Rates::default().on_time(), None);
    }
}

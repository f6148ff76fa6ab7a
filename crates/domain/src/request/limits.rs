//! Time limits of the request loop, counted on the working calendar and within office hours:
//! signing for a request is counted in working minutes, contact and resolution in working days.
//! All times here are Beijing local times ([`NaiveDateTime`]); callers convert at the edge.
//!
//! A limit of N working days ends at close of business on the N-th working day after the day
//! the clock starts (the starting day is not counted, as in 行政许可法 §82 and the 12345
//! practice it follows).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::{RequestKind, Urgency};
use crate::calendar::{Calendar, CalendarError};
use crate::deadline::Light;

/// How far ahead a count may run before it is taken for a mistake (no office is closed for a
/// year).
const MAX_DAYS_SCANNED: i64 = 400;

/// The office's working periods of a working day, in order, e.g. 08:30–12:00 and 14:30–17:30.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    pub periods: Vec<(NaiveTime, NaiveTime)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("working hours need at least one period")]
    Empty,
    #[error("the period {0}–{1} ends before it starts or overlaps the one before")]
    Disordered(NaiveTime, NaiveTime),
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl Default for WorkingHours {
    /// The usual county office day: 08:30–12:00 and 14:30–17:30.
    fn default() -> Self {
        Self {
            periods: vec![(hm(8, 30), hm(12, 0)), (hm(14, 30), hm(17, 30))],
        }
    }
}

impl WorkingHours {
    /// Checks the periods are in order, each non-empty and none overlapping.
    pub fn new(periods: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, HoursError> {
        if periods.is_empty() {
            return Err(HoursError::Empty);
        }
        let mut last_end = NaiveTime::MIN;
        for (i, &(a, b)) in periods.iter().enumerate() {
            if b <= a || (i > 0 && a < last_end) {
                return Err(HoursError::Disordered(a, b));
            }
            last_end = b;
        }
        Ok(Self { periods })
    }

    /// Close of business.
    pub fn closing(&self) -> NaiveTime {
        self.periods.last().map_or(NaiveTime::MIN, |p| p.1)
    }

    /// Working minutes in a working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.periods
            .iter()
            .map(|(a, b)| (*b - *a).num_minutes())
            .sum()
    }

    /// The moment `minutes` working minutes after `start` are used up. Time outside the
    /// periods and on days off does not count; a start outside them counts from the next
    /// period's opening.
    pub fn add_minutes(
        &self,
        cal: &Calendar,
        start: NaiveDateTime,
        minutes: u32,
    ) -> Result<NaiveDateTime, CalendarError> {
        let mut left = i64::from(minutes);
        let mut day = start.date();
        let mut from = start;
        for _ in 0..MAX_DAYS_SCANNED {
            if cal.is_working_day(day)? {
                for &(a, b) in &self.periods {
                    let (open, close) = (day.and_time(a), day.and_time(b));
                    if from >= close {
                        continue;
                    }
                    let begin = from.max(open);
                    let available = (close - begin).num_minutes();
                    if left <= available {
                        return Ok(begin + Duration::minutes(left));
                    }
                    left -= available;
                    from = close;
                }
            }
            day = day
                .succ_opt()
                .ok_or(CalendarError::YearMissing(day.year() + 1))?;
            from = day.and_time(NaiveTime::MIN);
        }
        // Only a calendar with every day off gets here.
        Err(CalendarError::YearMissing(day.year()))
    }

    /// Working minutes from `a` to `b` (zero when `b` is not after `a`).
    pub fn minutes_between(
        &self,
        cal: &Calendar,
        a: NaiveDateTime,
        b: NaiveDateTime,
    ) -> Result<i64, CalendarError> {
        if b <= a {
            return Ok(0);
        }
        let mut total = 0;
        let mut day = a.date();
        while day <= b.date() {
            if cal.is_working_day(day)? {
                for &(open, close) in &self.periods {
                    let begin = day.and_time(open).max(a);
                    let end = day.and_time(close).min(b);
                    if end > begin {
                        total += (end - begin).num_minutes();
                    }
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        Ok(total)
    }

    /// Close of business on the `days`-th working day after the day of `start`.
    pub fn end_of_working_days(
        &self,
        cal: &Calendar,
        start: NaiveDateTime,
        days: u32,
    ) -> Result<NaiveDateTime, CalendarError> {
        let last: NaiveDate = cal.add_working_days(start.date(), days.max(1))?;
        Ok(last.and_time(self.closing()))
    }
}

/// The loop's limits, by kind and urgency. Defaults: sign within 2 working hours (30 minutes if
/// urgent); first contact within 1 working day; resolve a consultation in 1 working day, help,
/// a complaint or a report in 5, a suggestion in 10, praise in 5, anything urgent in 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeLimits {
    pub sign_minutes: u32,
    pub sign_minutes_urgent: u32,
    pub contact_days: u32,
    pub resolve_days: BTreeMap<RequestKind, u32>,
    pub resolve_days_urgent: u32,
    /// The most working days one extension may add.
    pub extension_max_days: u32,
    /// Calendar days after closing during which the resident may reopen.
    pub reopen_days: u32,
}

impl Default for TimeLimits {
    fn default() -> Self {
        Self {
            sign_minutes: 120,
            sign_minutes_urgent: 30,
            contact_days: 1,
            resolve_days: BTreeMap::from([
                (RequestKind::Consultation, 1),
                (RequestKind::Help, 5),
                (RequestKind::Complaint, 5),
                (RequestKind::Report, 5),
                (RequestKind::Suggestion, 10),
                (RequestKind::Praise, 5),
            ]),
            resolve_days_urgent: 1,
            extension_max_days: 10,
            reopen_days: 7,
        }
    }
}

/// When each step of one request is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    pub sign_by: NaiveDateTime,
    pub contact_by: NaiveDateTime,
    pub resolve_by: NaiveDateTime,
}

impl TimeLimits {
    pub fn sign_minutes_for(&self, urgency: Urgency) -> u32 {
        match urgency {
            Urgency::Normal => self.sign_minutes,
            Urgency::Urgent => self.sign_minutes_urgent,
        }
    }

    pub fn resolve_days_for(&self, kind: RequestKind, urgency: Urgency) -> u32 {
        match urgency {
            Urgency::Urgent => self.resolve_days_urgent,
            Urgency::Normal => self.resolve_days.get(&kind).copied().unwrap_or(5),
        }
    }

    /// The deadlines of a request that reached its unit at `dispatched_at`.
    pub fn deadlines(
        &self,
        cal: &Calendar,
        hours: &WorkingHours,
        kind: RequestKind,
        urgency: Urgency,
        dispatched_at: NaiveDateTime,
    ) -> Result<Deadlines, CalendarError> {
        Ok(Deadlines {
            sign_by: hours.add_minutes(cal, dispatched_at, self.sign_minutes_for(urgency))?,
            contact_by: hours.end_of_working_days(cal, dispatched_at, self.contact_days)?,
            resolve_by: hours.end_of_working_days(
                cal,
                dispatched_at,
                self.resolve_days_for(kind, urgency),
            )?,
        })
    }

    /// Checks the limits make sense: every kind has one, none is zero, urgent is not slower.
    pub fn validate(&self) -> Vec<crate::RuleViolation> {
        let mut out = Vec::new();
        for k in RequestKind::ALL {
            match self.resolve_days.get(&k) {
                Some(0) | None => out.push(crate::RuleViolation::new(
                    format!("resolve_days.{}", k.as_str()),
                    "must be at least 1 working day",
                )),
                _ => {}
            }
        }
        if self.sign_minutes == 0 || self.sign_minutes_urgent == 0 {
            out.push(crate::RuleViolation::new(
                "sign_minutes",
                "must be at least 1 minute",
            ));
        }
        if self.sign_minutes_urgent > self.sign_minutes {
            out.push(crate::RuleViolation::new(
                "sign_minutes_urgent",
                "must not be longer than sign_minutes",
            ));
        }
        if self.contact_days == 0 || self.resolve_days_urgent == 0 || self.reopen_days == 0 {
            out.push(crate::RuleViolation::new(
                "contact_days",
                "contact_days, resolve_days_urgent and reopen_days must be at least 1",
            ));
        }
        out
    }
}

/// The light of a step due at `due` that was given `limit_minutes` working minutes: red once
/// past, yellow in its last quarter, green before.
pub fn light(
    cal: &Calendar,
    hours: &WorkingHours,
    now: NaiveDateTime,
    due: NaiveDateTime,
    limit_minutes: i64,
) -> Result<Light, CalendarError> {
    if now > due {
        return Ok(Light::Red);
    }
    let left = hours.minutes_between(cal, now, due)?;
    Ok(if left * 4 <= limit_minutes.max(1) {
        Light::Yellow
    } else {
        Light::Green
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarYear, Holiday};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
        d(y, m, day).and_time(hm(h, min))
    }

    /// 2026 as published: Spring Festival 2/15–2/23 off with 2/14 and 2/28 worked; National
    /// Day 10/1–10/7 off with 9/20 and 10/10 worked.
    fn cal() -> Calendar {
        let range = |a: NaiveDate, b: NaiveDate| {
            let mut v = Vec::new();
            let mut x = a;
            while x <= b {
                v.push(x);
                x = x.succ_opt().unwrap_or(x);
            }
            v
        };
        Calendar::new([CalendarYear {
            year: 2026,
            source: String::new(),
            source_url: String::new(),
            confidence: String::new(),
            workdays: vec![
                d(2026, 2, 14),
                d(2026, 2, 28),
                d(2026, 9, 20),
                d(2026, 10, 10),
            ],
            holidays: vec![
                Holiday {
                    name: "春节".into(),
                    dates: range(d(2026, 2, 15), d(2026, 2, 23)),
                },
                Holiday {
                    name: "国庆节".into(),
                    dates: range(d(2026, 10, 1), d(2026, 10, 7)),
                },
            ],
        }])
    }

    #[test]
    fn signing_counts_working_minutes_across_lunch_and_the_night() {
        let h = WorkingHours::default();
        // Monday 11:00 + 120: 60 until noon, then 14:30 + 60.
        assert_eq!(
            h.add_minutes(&cal(), at(2026, 3, 2, 11, 0), 120),
            Ok(at(2026, 3, 2, 15, 30))
        );
        // Monday 17:00 + 120: 30 today, 90 from 08:30 Tuesday.
        assert_eq!(
            h.add_minutes(&cal(), at(2026, 3, 2, 17, 0), 120),
            Ok(at(2026, 3, 3, 10, 0))
        );
        // Filed at night: the clock starts at the next opening.
        assert_eq!(
            h.add_minutes(&cal(), at(2026, 3, 2, 22, 15), 30),
            Ok(at(2026, 3, 3, 9, 0))
        );
    }

    #[test]
    fn signing_skips_the_spring_festival_and_counts_its_make_up_saturday() {
        let h = WorkingHours::default();
        // Friday 2/13 17:00 + 120: 30 minutes Friday; Saturday 2/14 is worked: 08:30 + 90.
        assert_eq!(
            h.add_minutes(&cal(), at(2026, 2, 13, 17, 0), 120),
            Ok(at(2026, 2, 14, 10, 0))
        );
        // Saturday 2/14 17:00 + 60: 30 minutes, then nothing until Tuesday 2/24 09:00.
        assert_eq!(
            h.add_minutes(&cal(), at(2026, 2, 14, 17, 0), 60),
            Ok(at(2026, 2, 24, 9, 0))
        );
    }

    #[test]
    fn days_end_at_close_of_business_and_skip_national_day() {
        let h = WorkingHours::default();
        // Filed Wednesday 9/30: 5 working days are 10/8, 10/9, 10/10 (worked Saturday),
        // 10/12, 10/13.
        assert_eq!(
            h.end_of_working_days(&cal(), at(2026, 9, 30, 10, 0), 5),
            Ok(at(2026, 10, 13, 17, 30))
        );
        let limits = TimeLimits::default();
        let due = limits
            .deadlines(
                &cal(),
                &h,
                RequestKind::Consultation,
                Urgency::Normal,
                at(2026, 3, 6, 16, 0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // Friday 16:00: sign by Monday 08:30 + 30 = 09:00 (90 minutes left Friday).
        assert_eq!(due.sign_by, at(2026, 3, 9, 9, 0));
        assert_eq!(due.resolve_by, at(2026, 3, 9, 17, 30));
        let urgent = limits
            .deadlines(
                &cal(),
                &h,
                RequestKind::Complaint,
                Urgency::Urgent,
                at(2026, 3, 6, 16, 0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(urgent.sign_by, at(2026, 3, 6, 16, 30));
    }

    #[test]
    fn lights_turn_yellow_in_the_last_quarter_and_red_after() {
        let h = WorkingHours::default();
        let due = at(2026, 3, 2, 16, 30);
        assert_eq!(
            light(&cal(), &h, at(2026, 3, 2, 15, 0), due, 120),
            Ok(Light::Green)
        );
        assert_eq!(
            light(&cal(), &h, at(2026, 3, 2, 16, 0), due, 120),
            Ok(Light::Yellow)
        );
        assert_eq!(
            light(&cal(), &h, at(2026, 3, 2, 16, 31), due, 120),
            Ok(Light::Red)
        );
    }

    #[test]
    fn the_default_limits_are_valid_and_broken_ones_are_named() {
        assert!(TimeLimits::default().validate().is_empty());
        let mut bad = TimeLimits::default();
        bad.resolve_days.remove(&RequestKind::Praise);
        bad.sign_minutes_urgent = 500;
        let fields: Vec<String> = bad.validate().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["resolve_days.praise", "sign_minutes_urgent"]);
        assert!(WorkingHours::new(vec![(hm(14, 0), hm(12, 0))]).is_err());
        assert!(WorkingHours::new(vec![(hm(8, 0), hm(12, 0)), (hm(11, 0), hm(17, 0))]).is_err());
    }

    proptest! {
        #[test]
        fn added_minutes_land_inside_working_time_and_measure_back_exactly(
            day in 0i64..300, minute in 0i64..1440, minutes in 1u32..3000
        ) {
            let h = WorkingHours::default();
            let start = d(2026, 1, 5).and_time(NaiveTime::MIN) + Duration::days(day) + Duration::minutes(minute);
            let end = h.add_minutes(&cal(), start, minutes);
            prop_assume!(end.is_ok());
            let end = end.unwrap_or(start);
            prop_assert!(cal().is_working_day(end.date()).unwrap_or(false));
            let t = end.time();
            prop_assert!(h.periods.iter().any(|(a, b)| t > *a && t <= *b));
            prop_assert_eq!(h.minutes_between(&cal(), start, end), Ok(i64::from(minutes)));
        }
    }
}

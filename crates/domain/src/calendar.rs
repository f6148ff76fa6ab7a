//! The official working-day calendar: weekends off, public holidays off, make-up working days
//! (调休) on, published yearly by the State Council General Office. Deadlines are counted on it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::RuleViolation;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub name: String,
    /// Every day off in the block, weekends included.
    pub dates: Vec<NaiveDate>,
}

/// One year as published: the file format of `calendar/cn-YYYY.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarYear {
    pub year: i32,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub source_url: String,
    #[serde(default)]
    pub confidence: String,
    /// Weekend days that are working days (调休上班).
    #[serde(default)]
    pub workdays: Vec<NaiveDate>,
    #[serde(default, rename = "holiday")]
    pub holidays: Vec<Holiday>,
}

impl CalendarYear {
    pub fn validate(&self) -> Vec<RuleViolation> {
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        for d in &self.workdays {
            if d.year() != self.year {
                errors.push(RuleViolation::new(
                    "workdays",
                    format!("{d} is not in {}", self.year),
                ));
            }
            if !is_weekend(*d) {
                errors.push(RuleViolation::new(
                    "workdays",
                    format!("{d} is a weekday: only weekend days can be make-up working days"),
                ));
            }
            if !seen.insert(*d) {
                errors.push(RuleViolation::new(
                    "workdays",
                    format!("{d} is listed twice"),
                ));
            }
        }
        for h in &self.holidays {
            if h.name.trim().is_empty() {
                errors.push(RuleViolation::new("holiday.name", "must not be empty"));
            }
            for d in &h.dates {
                if !seen.insert(*d) {
                    errors.push(RuleViolation::new(
                        "holiday.dates",
                        format!("{d} ({}) is listed twice", h.name),
                    ));
                }
            }
        }
        errors
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Counting reached a year nobody has published; guessing would give wrong deadlines.
    #[error("no working-day calendar for {0}")]
    YearMissing(i32),
}

/// The calendar across the years known to the county.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearDays>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct YearDays {
    off: BTreeSet<NaiveDate>,
    on: BTreeSet<NaiveDate>,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The public holidays fixed by calendar date in 《全国年节及纪念日放假办法》 (2024 revision):
/// New Year's Day (1/1), Labour Day (5/1–5/2) and National Day (10/1–10/3). The others follow
/// the lunar calendar or solar terms and are known only from the published arrangement.
pub fn fixed_holiday(date: NaiveDate) -> bool {
    matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (5, 2) | (10, 1) | (10, 2) | (10, 3)
    )
}

impl Calendar {
    pub fn new(years: impl IntoIterator<Item = CalendarYear>) -> Self {
        let mut cal = Self::default();
        for y in years {
            cal.insert(y);
        }
        cal
    }

    pub fn insert(&mut self, year: CalendarYear) {
        let off = year
            .holidays
            .iter()
            .flat_map(|h| h.dates.iter().copied())
            .collect();
        let on = year.workdays.iter().copied().collect();
        self.years.insert(year.year, YearDays { off, on });
    }

    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether `date` is a working day. For a year whose arrangement is not yet published
    /// (the State Council publishes it late in the year before) the answer is provisional:
    /// weekends and the holidays fixed by calendar date are off (see [`fixed_holiday`]). A
    /// government office cannot stop accepting applications whose deadline runs into next
    /// year; deadlines counted this way are shown as provisional and follow the published
    /// arrangement as soon as an administrator loads it.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(match self.years.get(&date.year()) {
            Some(days) => {
                days.on.contains(&date) || (!is_weekend(date) && !days.off.contains(&date))
            }
            None => !is_weekend(date) && !fixed_holiday(date),
        })
    }

    /// Whether the official arrangement for `year` is loaded (else its days are provisional).
    pub fn is_published(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The day on which `n` working days counted after `start` are complete: the n-th working
    /// day strictly after `start`. With `n == 0` it is `start` itself (decided the same day).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            day = day
                .succ_opt()
                .ok_or(CalendarError::YearMissing(day.year() + 1))?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// Working days in the half-open range `(from, to]`: how many working days have passed
    /// between two dates. Zero when `to <= from`.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, CalendarError> {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day
                .succ_opt()
                .ok_or(CalendarError::YearMissing(day.year() + 1))?;
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn year_2026() -> CalendarYear {
        CalendarYear {
            year: 2026,
            source: String::new(),
            source_url: String::new(),
            confidence: String::new(),
            workdays: [
                "2026-01-04",
                "2026-02-14",
                "2026-02-28",
                "2026-05-09",
                "2026-09-20",
                "2026-10-10",
            ]
            .into_iter()
            .map(d)
            .collect(),
            holidays: vec![
                Holiday {
                    name: "春节".into(),
                    dates: (15..=23)
                        .map(|day| d(&format!("2026-02-{day:02}")))
                        .collect(),
                },
                Holiday {
                    name: "国庆节".into(),
                    dates: (1..=7).map(|day| d(&format!("2026-10-{day:02}"))).collect(),
                },
            ],
        }
    }

    #[test]
    fn make_up_saturday_is_a_working_day_and_holiday_weekday_is_not() {
        let cal = Calendar::new([year_2026()]);
        assert_eq!(cal.is_working_day(d("2026-02-14")), Ok(true));
        assert_eq!(cal.is_working_day(d("2026-02-16")), Ok(false));
        assert_eq!(cal.is_working_day(d("2026-02-21")), Ok(false));
        assert_eq!(cal.is_working_day(d("2026-02-24")), Ok(true));
    }

    #[test]
    fn counting_across_the_spring_festival_skips_the_whole_break() {
        let cal = Calendar::new([year_2026()]);
        // Fri 2/13 + 1 → Sat 2/14 (make-up day); + 2 → Tue 2/24, after the break.
        assert_eq!(
            cal.add_working_days(d("2026-02-13"), 1),
            Ok(d("2026-02-14"))
        );
        assert_eq!(
            cal.add_working_days(d("2026-02-13"), 2),
            Ok(d("2026-02-24"))
        );
    }

    #[test]
    fn an_unpublished_year_counts_weekends_and_fixed_date_holidays_off() {
        let cal = Calendar::new([year_2026()]);
        // Wed 12/30 + 5: 12/31, (1/1 New Year off, 1/2–1/3 weekend) 1/4, 1/5, 1/6, 1/7.
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 5),
            Ok(d("2027-01-07"))
        );
        assert_eq!(cal.is_working_day(d("2027-10-01")), Ok(false));
        assert_eq!(cal.is_working_day(d("2027-10-04")), Ok(true));
        assert!(cal.is_published(2026) && !cal.is_published(2027));
    }

    #[test]
    fn a_weekday_listed_as_make_up_day_is_rejected() {
        let mut y = year_2026();
        y.workdays.push(d("2026-03-03"));
        assert_eq!(y.validate().len(), 1);
    }

    proptest! {
        #[test]
        fn adding_then_counting_working_days_agree(offset in 0u32..250, n in 0u32..40) {
            let cal = Calendar::new([year_2026()]);
            let start = d("2026-01-01") + chrono::Days::new(u64::from(offset));
            let end = cal.add_working_days(start, n).unwrap_or(start);
            prop_assert_eq!(cal.working_days_between(start, end), Ok(n));
            if n > 0 {
                prop_assert_eq!(cal.is_working_day(end), Ok(true));
            }
        }

        #[test]
        fn adding_working_days_is_monotonic_in_the_start_and_in_the_count(
            offset in 0u32..250, later in 0u32..30, n in 0u32..40
        ) {
            let cal = Calendar::new([year_2026()]);
            let start = d("2026-01-01") + chrono::Days::new(u64::from(offset));
            let (Ok(end), Ok(one_more)) = (cal.add_working_days(start, n), cal.add_working_days(start, n + 1)) else {
                return Ok(());
            };
            prop_assert!(one_more > end);
            let later_start = start + chrono::Days::new(u64::from(later));
            if let Ok(later_end) = cal.add_working_days(later_start, n) {
                prop_assert!(later_end >= end);
            }
        }
    }
}

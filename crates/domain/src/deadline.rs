//! Legal clocks on the working-day calendar. A clock starts on a date with a limit in working
//! days; it stands still while the authority waits for the applicant to supply a material
//! (补正期间不计入审查期限) and stops when the matter is decided. Its due date, and the traffic
//! light shown on worklists, follow from those dates alone, so they can be recomputed at any
//! time for any "today".

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError};

/// Working days the authority has, after receiving an application, to accept it or to give
/// one notice of everything missing (行政许可法 第三十二条). Without either in time, the
/// application counts as accepted on the day it was received.
pub const INTAKE_DAYS: u32 = 5;

/// A stretch during which the clock stood still: from the day a supplement was requested to
/// the day it was supplied (open while the applicant has not answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

/// How a clock stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// More than one working day left.
    Green,
    /// One working day or less left: due today or on the next working day.
    Yellow,
    /// Past the due date and not decided.
    Red,
    /// Waiting for the applicant: the clock stands still.
    Paused,
    /// Decided by the due date.
    DoneOnTime,
    /// Decided after the due date.
    DoneLate,
}

impl Light {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Red => "red",
            Self::Paused => "paused",
            Self::DoneOnTime => "done_on_time",
            Self::DoneLate => "done_late",
        }
    }

    /// Whether a supervisor should be looking at it.
    pub fn needs_attention(self) -> bool {
        matches!(self, Self::Yellow | Self::Red)
    }
}

/// A clock: started on a day, `limit_days` working days long, paused while waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalClock {
    pub started_on: NaiveDate,
    pub limit_days: u32,
    #[serde(default)]
    pub pauses: Vec<Pause>,
    #[serde(default)]
    pub stopped_on: Option<NaiveDate>,
}

/// A clock read on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    /// The last day the matter may be decided on. While paused, the date it would be if the
    /// applicant supplied today.
    pub due_on: NaiveDate,
    /// Working days from `today` to the due date; negative when overdue.
    pub working_days_left: i64,
    pub paused_working_days: u32,
    pub light: Light,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("the clock is already paused")]
    AlreadyPaused,
    #[error("the clock is not paused")]
    NotPaused,
    #[error("the clock has stopped")]
    Stopped,
    #[error("a clock cannot go back in time: {0} is before {1}")]
    Backwards(NaiveDate, NaiveDate),
}

impl LegalClock {
    pub fn start(on: NaiveDate, limit_days: u32) -> Self {
        Self {
            started_on: on,
            limit_days,
            pauses: Vec::new(),
            stopped_on: None,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.to.is_none())
    }

    fn last_event(&self) -> NaiveDate {
        self.pauses
            .iter()
            .flat_map(|p| [Some(p.from), p.to])
            .flatten()
            .chain(self.stopped_on)
            .max()
            .unwrap_or(self.started_on)
            .max(self.started_on)
    }

    fn not_before_last_event(&self, on: NaiveDate) -> Result<(), ClockError> {
        let last = self.last_event();
        if on < last {
            return Err(ClockError::Backwards(on, last));
        }
        Ok(())
    }

    pub fn pause(&mut self, on: NaiveDate) -> Result<(), ClockError> {
        if self.stopped_on.is_some() {
            return Err(ClockError::Stopped);
        }
        if self.is_paused() {
            return Err(ClockError::AlreadyPaused);
        }
        self.not_before_last_event(on)?;
        self.pauses.push(Pause { from: on, to: None });
        Ok(())
    }

    pub fn resume(&mut self, on: NaiveDate) -> Result<(), ClockError> {
        self.not_before_last_event(on)?;
        match self.pauses.last_mut() {
            Some(p) if p.to.is_none() => {
                p.to = Some(on);
                Ok(())
            }
            _ => Err(ClockError::NotPaused),
        }
    }

    /// Stops the clock: the matter is decided (a pause still open ends the same day).
    pub fn stop(&mut self, on: NaiveDate) -> Result<(), ClockError> {
        if self.stopped_on.is_some() {
            return Err(ClockError::Stopped);
        }
        self.not_before_last_event(on)?;
        if self.is_paused() {
            self.resume(on)?;
        }
        self.stopped_on = Some(on);
        Ok(())
    }

    /// Working days spent waiting for the applicant, an open pause counted up to `today`.
    /// A pause counts the working days after the day it began up to the day it ended, so a
    /// request and an answer on the same day cost the authority nothing and gain it nothing.
    pub fn paused_working_days(
        &self,
        cal: &Calendar,
        today: NaiveDate,
    ) -> Result<u32, CalendarError> {
        let mut total = 0;
        for p in &self.pauses {
            total += cal.working_days_between(p.from, p.to.unwrap_or(today))?;
        }
        Ok(total)
    }

    /// The clock on `today`.
    pub fn read(&self, cal: &Calendar, today: NaiveDate) -> Result<ClockReading, CalendarError> {
        let paused = self.paused_working_days(cal, today)?;
        let due_on = cal.add_working_days(self.started_on, self.limit_days + paused)?;
        let light = if let Some(done) = self.stopped_on {
            if done <= due_on {
                Light::DoneOnTime
            } else {
                Light::DoneLate
            }
        } else if self.is_paused() {
            Light::Paused
        } else if today > due_on {
            Light::Red
        } else if cal.working_days_between(today, due_on)? <= 1 {
            Light::Yellow
        } else {
            Light::Green
        };
        let working_days_left = if today <= due_on {
            i64::from(cal.working_days_between(today, due_on)?)
        } else {
            -i64::from(cal.working_days_between(due_on, today)?)
        };
        Ok(ClockReading {
            due_on,
            working_days_left,
            paused_working_days: paused,
            light,
        })
    }
}

/// The last day to accept an application received on `received_on`, or to give notice of what
/// is missing.
pub fn intake_due(cal: &Calendar, received_on: NaiveDate) -> Result<NaiveDate, CalendarError> {
    cal.add_working_days(received_on, INTAKE_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarYear, Holiday};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn range(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days().take_while(|x| *x <= to).collect()
    }

    /// The 2026 calendar as published (国办发明电〔2025〕7号), the parts these tests cross.
    fn cal_2026() -> Calendar {
        Calendar::new([CalendarYear {
            year: 2026,
            source: String::new(),
            source_url: String::new(),
            confidence: String::new(),
            workdays: vec![
                d(2026, 1, 4),
                d(2026, 2, 14),
                d(2026, 2, 28),
                d(2026, 5, 9),
                d(2026, 9, 20),
                d(2026, 10, 10),
            ],
            holidays: vec![
                Holiday {
                    name: "元旦".into(),
                    dates: range(d(2026, 1, 1), d(2026, 1, 3)),
                },
                Holiday {
                    name: "春节".into(),
                    dates: range(d(2026, 2, 15), d(2026, 2, 23)),
                },
                Holiday {
                    name: "清明节".into(),
                    dates: range(d(2026, 4, 4), d(2026, 4, 6)),
                },
                Holiday {
                    name: "劳动节".into(),
                    dates: range(d(2026, 5, 1), d(2026, 5, 5)),
                },
                Holiday {
                    name: "端午节".into(),
                    dates: range(d(2026, 6, 19), d(2026, 6, 21)),
                },
                Holiday {
                    name: "国庆节、中秋节".into(),
                    dates: range(d(2026, 10, 1), d(2026, 10, 7)),
                },
            ],
        }])
    }

    #[test]
    fn a_clock_across_spring_festival_skips_the_holiday_and_counts_the_make_up_days() {
        let cal = cal_2026();
        // Accepted Friday 2/13; Saturday 2/14 is worked; 2/15–2/23 off; 2/24 on.
        let clock = LegalClock::start(d(2026, 2, 13), 3);
        let r = clock
            .read(&cal, d(2026, 2, 13))
            .unwrap_or_else(|e| panic!("{e}"));
        // 2/14 (make-up), 2/24, 2/25.
        assert_eq!(r.due_on, d(2026, 2, 25));
        assert_eq!(r.light, Light::Green);
        // On the first day back only one working day remains before the due date.
        let r = clock
            .read(&cal, d(2026, 2, 24))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.working_days_left, r.light), (1, Light::Yellow));
        let r = clock
            .read(&cal, d(2026, 2, 26))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.working_days_left, r.light), (-1, Light::Red));
    }

    #[test]
    fn a_clock_across_national_day_counts_the_weekend_make_up_days() {
        let cal = cal_2026();
        // Accepted Friday 9/18: 9/20 (Sunday) is worked, 10/1–10/7 off, 10/10 (Saturday) worked.
        let clock = LegalClock::start(d(2026, 9, 18), 10);
        let r = clock
            .read(&cal, d(2026, 9, 18))
            .unwrap_or_else(|e| panic!("{e}"));
        // 9/20, 21, 22, 23, 24, 25, 28, 29, 30, then 10/8.
        assert_eq!(r.due_on, d(2026, 10, 8));
        let clock = LegalClock::start(d(2026, 9, 30), 3);
        let r = clock
            .read(&cal, d(2026, 9, 30))
            .unwrap_or_else(|e| panic!("{e}"));
        // 10/8, 10/9, 10/10 (Saturday, worked).
        assert_eq!(r.due_on, d(2026, 10, 10));
    }

    #[test]
    fn a_supplement_pause_across_a_holiday_adds_only_the_working_days_waited() {
        let cal = cal_2026();
        // Accepted Monday 9/28 with 5 working days: 9/29, 9/30, 10/8, 10/9, 10/10 (worked).
        let mut clock = LegalClock::start(d(2026, 9, 28), 5);
        assert_eq!(
            clock.read(&cal, d(2026, 9, 28)).map(|r| r.due_on),
            Ok(d(2026, 10, 10))
        );
        // A supplement is requested on 9/29 and supplied on 10/9: the working days waited are
        // 9/30, 10/8 and 10/9 (the holiday in between costs nothing twice).
        clock
            .pause(d(2026, 9, 29))
            .unwrap_or_else(|e| panic!("{e}"));
        let waiting = clock
            .read(&cal, d(2026, 10, 5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(waiting.light, Light::Paused);
        clock
            .resume(d(2026, 10, 9))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = clock
            .read(&cal, d(2026, 10, 9))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.paused_working_days, 3);
        // 10/10 + 3 working days: 10/12, 10/13, 10/14.
        assert_eq!(r.due_on, d(2026, 10, 14));
        assert_eq!((r.working_days_left, r.light), (4, Light::Green));
        clock
            .stop(d(2026, 10, 14))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            clock.read(&cal, d(2026, 11, 1)).map(|r| r.light),
            Ok(Light::DoneOnTime)
        );
    }

    #[test]
    fn a_clock_refuses_to_pause_twice_resume_unpaused_or_go_back_in_time() {
        let mut clock = LegalClock::start(d(2026, 3, 2), 5);
        assert_eq!(clock.resume(d(2026, 3, 3)), Err(ClockError::NotPaused));
        assert_eq!(
            clock.pause(d(2026, 3, 1)),
            Err(ClockError::Backwards(d(2026, 3, 1), d(2026, 3, 2)))
        );
        assert_eq!(clock.pause(d(2026, 3, 3)), Ok(()));
        assert_eq!(clock.pause(d(2026, 3, 4)), Err(ClockError::AlreadyPaused));
        assert_eq!(clock.stop(d(2026, 3, 5)), Ok(()));
        assert_eq!(
            clock.pauses[0].to,
            Some(d(2026, 3, 5)),
            "stopping ends the pause"
        );
        assert_eq!(clock.pause(d(2026, 3, 6)), Err(ClockError::Stopped));
    }

    #[test]
    fn an_immediate_item_is_due_the_day_it_starts_and_late_the_next() {
        let cal = cal_2026();
        let mut clock = LegalClock::start(d(2026, 3, 2), 0);
        assert_eq!(
            clock.read(&cal, d(2026, 3, 2)).map(|r| (r.due_on, r.light)),
            Ok((d(2026, 3, 2), Light::Yellow))
        );
        clock.stop(d(2026, 3, 3)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            clock.read(&cal, d(2026, 3, 3)).map(|r| r.light),
            Ok(Light::DoneLate)
        );
    }

    #[test]
    fn intake_is_five_working_days() {
        // Received Thursday 2/12: 2/13, 2/14 (worked), 2/24, 2/25, 2/26.
        assert_eq!(intake_due(&cal_2026(), d(2026, 2, 12)), Ok(d(2026, 2, 26)));
    }

    #[test]
    fn counting_into_an_unpublished_year_is_provisional_not_refused() {
        // Monday 12/28 + 10 working days: 12/29–12/31 (3), New Year's Day off, then
        // 1/4–1/8 (5) and 1/11–1/12 (2).
        let clock = LegalClock::start(d(2026, 12, 28), 10);
        let cal = cal_2026();
        let due = clock.read(&cal, d(2026, 12, 28)).map(|r| r.due_on);
        assert_eq!(due, Ok(d(2027, 1, 12)));
        assert!(!cal.is_published(2027));
    }

    proptest! {
        #[test]
        fn pauses_never_bring_the_due_date_forward(
            start in 0i64..300, limit in 0u32..30, pause_at in 0i64..40, pause_len in 0i64..30
        ) {
            let cal = cal_2026();
            let start = d(2026, 1, 5) + chrono::Duration::days(start % 300);
            let mut clock = LegalClock::start(start, limit);
            let plain = clock.read(&cal, start).map(|r| r.due_on);
            let from = start + chrono::Duration::days(pause_at);
            let to = from + chrono::Duration::days(pause_len);
            prop_assume!(to.year() == 2026 && plain.is_ok());
            prop_assert!(clock.pause(from).is_ok());
            prop_assert!(clock.resume(to).is_ok());
            if let (Ok(plain), Ok(r)) = (plain, clock.read(&cal, to)) {
                prop_assert!(r.due_on >= plain);
                prop_assert!(cal.is_working_day(r.due_on).unwrap_or(false) || limit + r.paused_working_days == 0);
            }
        }
    }

    use chrono::Datelike;
}

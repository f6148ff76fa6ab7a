//! Spotting repeats: the same problem reported again near the same place within a week is
//! offered to the dispatcher for merging, so one office answers it once.
//!
//! Texts are compared by their character pairs (Dice coefficient over bigrams), which suits
//! Chinese without a word segmenter and tolerates the small rewordings of a second caller.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

/// How close two texts must be to count as the same problem.
pub const DUPLICATE_THRESHOLD: f64 = 0.45;
/// How far back repeats are looked for.
pub const DUPLICATE_WINDOW_DAYS: i64 = 7;
/// Two GPS points this close (metres) are the same place.
const NEAR_METRES: f64 = 500.0;

/// What duplicate detection needs of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting<'a> {
    pub id: &'a str,
    pub text: &'a str,
    pub township: Option<&'a str>,
    pub village: Option<&'a str>,
    /// Latitude and longitude (WGS-84).
    pub point: Option<(f64, f64)>,
    pub filed_at: DateTime<Utc>,
}

fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// 0 (nothing shared) to 1 (the same character pairs).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let shared = x.intersection(&y).count();
    (2 * shared) as f64 / (x.len() + y.len()) as f64
}

/// Great-circle distance in metres.
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_000.0_f64;
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// Same village; or, when either names no village, the same township; or GPS points within
/// 500 m of each other.
pub fn same_place(a: &Sighting<'_>, b: &Sighting<'_>) -> bool {
    if let (Some(p), Some(q)) = (a.point, b.point)
        && metres(p, q) <= NEAR_METRES
    {
        return true;
    }
    match (a.village, b.village) {
        (Some(x), Some(y)) => x == y,
        _ => a.township.is_some() && a.township == b.township,
    }
}

/// The earlier requests `new` probably repeats, most similar first, with their scores.
pub fn likely_duplicates<'a>(new: &Sighting<'_>, earlier: &[Sighting<'a>]) -> Vec<(&'a str, f64)> {
    let since = new.filed_at - Duration::days(DUPLICATE_WINDOW_DAYS);
    let mut found: Vec<(&'a str, f64)> = earlier
        .iter()
        .filter(|e| e.id != new.id && e.filed_at >= since && e.filed_at <= new.filed_at)
        .filter(|e| same_place(new, e))
        .map(|e| (e.id, similarity(new.text, e.text)))
        .filter(|(_, score)| *score >= DUPLICATE_THRESHOLD)
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default() + Duration::days(days)
    }

    fn s<'a>(id: &'a str, text: &'a str, village: Option<&'a str>, day: i64) -> Sighting<'a> {
        Sighting {
            id,
            text,
            township: Some("130534100000"),
            village,
            point: None,
            filed_at: at(day),
        }
    }

    #[test]
    fn the_same_problem_in_other_words_is_similar_and_another_problem_is_not() {
        let a = "城东村口的路灯坏了一个多月了，晚上黑得看不见路";
        let b = "城东村村口路灯坏了快一个月，晚上走路看不见";
        let c = "孩子上学的校车超载，一辆车坐了二十多个孩子";
        assert!(
            similarity(a, b) >= DUPLICATE_THRESHOLD,
            "{}",
            similarity(a, b)
        );
        assert!(similarity(a, c) < 0.2, "{}", similarity(a, c));
        assert_eq!(similarity("", a), 0.0);
        assert!((similarity(a, a) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn repeats_count_only_near_the_same_place_within_a_week() {
        let text = "城东村口的路灯坏了一个多月了，晚上黑得看不见路";
        let again = "城东村村口路灯坏了快一个月，晚上走路看不见";
        let new = s("r9", again, Some("130534100201"), 10);
        let earlier = [
            s("r1", text, Some("130534100201"), 8),
            s("r2", text, Some("130534100202"), 8),
            s("r3", text, Some("130534100201"), 1),
            s("r4", text, None, 9),
        ];
        let found: Vec<&str> = likely_duplicates(&new, &earlier)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            found,
            ["r1", "r4"],
            "another village and last month's are not repeats"
        );
    }

    #[test]
    fn gps_points_close_together_are_the_same_place_across_villages() {
        let mut a = s("a", "x", Some("130534100201"), 0);
        let mut b = s("b", "x", Some("130534100202"), 0);
        a.point = Some((37.0700, 115.6700));
        b.point = Some((37.0720, 115.6710));
        assert!(same_place(&a, &b));
        b.point = Some((37.1000, 115.6700));
        assert!(!same_place(&a, &b));
    }
}

//! The Qinghe County demo data set and the official calendars, embedded in the binary so
//! `tongban serve --demo` works from any folder.

use std::collections::BTreeMap;

use crate::Dataset;

/// Qinghe (130534) master data plus the 2025 and 2026 working-day calendars.
pub fn demo_dataset() -> Dataset {
    Dataset {
        divisions: Some(include_str!("../demo/qinghe/divisions.csv").to_owned()),
        departments: Some(include_str!("../demo/qinghe/departments.csv").to_owned()),
        catalog: Some(include_str!("../demo/qinghe/catalog.json").to_owned()),
        faq: Some(include_str!("../demo/qinghe/faq.json").to_owned()),
        calendars: BTreeMap::from([
            (
                "cn-2025.toml".to_owned(),
                include_str!("../reference/calendar/cn-2025.toml").to_owned(),
            ),
            (
                "cn-2026.toml".to_owned(),
                include_str!("../reference/calendar/cn-2026.toml").to_owned(),
            ),
        ]),
    }
}

//! The master-data file set that `tongban import` reads and `tongban export` writes:
//! `divisions.csv`, `departments.csv`, `catalog.json`, `faq.json` and `calendar/*.toml`, each
//! optional. Every bad row is reported with file:line and reason, and nothing is written
//! unless the whole set is valid.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use tongban_domain::division::check_tree;
use tongban_domain::{
    CalendarYear, Division, DivisionCode, DivisionKind, DivisionLevel, Faq, OrgUnit, RuleViolation,
    ServiceItem, Tenant, UnitCode, UnitKind,
};
use tongban_store::{MasterData, Store};

use crate::AppError;

pub const DIVISIONS: &str = "divisions.csv";
pub const DEPARTMENTS: &str = "departments.csv";
pub const CATALOG: &str = "catalog.json";
pub const FAQ: &str = "faq.json";
pub const CALENDAR_DIR: &str = "calendar";

const DIVISION_HEADER: [&str; 5] = ["code", "name", "level", "parent_code", "kind"];
const DEPARTMENT_HEADER: [&str; 7] = [
    "code",
    "name_zh",
    "name_en",
    "short_zh",
    "duties_zh",
    "phone",
    "address",
];

/// The raw text of each file, before parsing. Files that are absent are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub divisions: Option<String>,
    pub departments: Option<String>,
    pub catalog: Option<String>,
    pub faq: Option<String>,
    /// File name (e.g. `cn-2026.toml`) → text.
    pub calendars: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Every problem found in a data set; nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} problem(s) found; nothing was imported:",
            self.errors.len()
        )?;
        for e in &self.errors {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// Codes already in the database, so a file may refer to what an earlier import brought.
#[derive(Debug, Default)]
pub(crate) struct Existing {
    divisions: HashSet<String>,
    units: HashSet<String>,
    items: HashSet<String>,
}

impl Existing {
    pub(crate) async fn load(store: &Store, tenant: &Tenant) -> Result<Self, AppError> {
        Ok(Self {
            divisions: store
                .divisions(tenant)
                .await?
                .into_iter()
                .map(|d| d.code.to_string())
                .collect(),
            units: store
                .units(tenant)
                .await?
                .into_iter()
                .map(|u| u.code.to_string())
                .collect(),
            items: store
                .items(tenant)
                .await?
                .into_iter()
                .map(|i| i.code.to_string())
                .collect(),
        })
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, AppError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| {
                AppError::invalid(path.display().to_string(), format!("not UTF-8 text ({e})"))
            })?;
            Ok(Some(
                text.strip_prefix('\u{feff}')
                    .map(str::to_owned)
                    .unwrap_or(text),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AppError::invalid(path.display().to_string(), e.to_string())),
    }
}

/// Reads a data-set folder. A folder with none of the known files is an error, since an
/// import of nothing is almost always a wrong path.
pub fn read_dir(dir: &Path) -> Result<Dataset, AppError> {
    if !dir.is_dir() {
        return Err(AppError::invalid(
            "DIR",
            format!("{} is not a folder", dir.display()),
        ));
    }
    let mut set = Dataset {
        divisions: read_optional(&dir.join(DIVISIONS))?,
        departments: read_optional(&dir.join(DEPARTMENTS))?,
        catalog: read_optional(&dir.join(CATALOG))?,
        faq: read_optional(&dir.join(FAQ))?,
        calendars: BTreeMap::new(),
    };
    let cal_dir = dir.join(CALENDAR_DIR);
    if cal_dir.is_dir() {
        let entries = std::fs::read_dir(&cal_dir)
            .map_err(|e| AppError::invalid(cal_dir.display().to_string(), e.to_string()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| AppError::invalid(cal_dir.display().to_string(), e.to_string()))?
                .path();
            if path.extension().is_some_and(|e| e == "toml")
                && let (Some(name), Some(text)) = (path.file_name(), read_optional(&path)?)
            {
                set.calendars
                    .insert(name.to_string_lossy().into_owned(), text);
            }
        }
    }
    if set == Dataset::default() {
        return Err(AppError::invalid(
            "DIR",
            format!(
                "{} holds none of {DIVISIONS}, {DEPARTMENTS}, {CATALOG}, {FAQ} or {CALENDAR_DIR}/*.toml",
                dir.display()
            ),
        ));
    }
    Ok(set)
}

/// Writes a data set in the layout `read_dir` reads.
pub fn write_dir(set: &Dataset, dir: &Path) -> Result<Vec<String>, AppError> {
    let io =
        |p: &Path, e: std::io::Error| AppError::invalid(p.display().to_string(), e.to_string());
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = Vec::new();
    for (name, text) in [
        (DIVISIONS, &set.divisions),
        (DEPARTMENTS, &set.departments),
        (CATALOG, &set.catalog),
        (FAQ, &set.faq),
    ] {
        if let Some(text) = text {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
            written.push(name.to_owned());
        }
    }
    if !set.calendars.is_empty() {
        let cal_dir = dir.join(CALENDAR_DIR);
        std::fs::create_dir_all(&cal_dir).map_err(|e| io(&cal_dir, e))?;
        for (name, text) in &set.calendars {
            let path = cal_dir.join(name);
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
            written.push(format!("{CALENDAR_DIR}/{name}"));
        }
    }
    Ok(written)
}

/// Collects errors with their place.
struct Errors(Vec<RowError>);

impl Errors {
    fn push(&mut self, file: &str, line: usize, reason: impl Into<String>) {
        self.0.push(RowError {
            file: file.to_owned(),
            line,
            reason: reason.into(),
        });
    }

    fn violations(&mut self, file: &str, line: usize, label: &str, violations: Vec<RuleViolation>) {
        for v in violations {
            self.push(file, line, format!("{label}: {v}"));
        }
    }
}

/// The line on which each element of a top-level JSON array starts. The text is known to be
/// valid JSON when this runs.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut depth, mut line, mut in_string, mut escaped, mut expect_element) =
        (0usize, 1usize, false, false, false);
    for ch in text.chars() {
        if ch == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if ch.is_whitespace() {
            continue;
        }
        if depth == 1 && expect_element && ch != ']' {
            lines.push(line);
            expect_element = false;
        }
        match ch {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect_element = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_element = true,
            _ => {}
        }
    }
    lines
}

/// Parses a JSON array file element by element, so one bad element does not hide the others.
fn parse_json_array<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    errors: &mut Errors,
) -> Vec<(usize, T)> {
    let values: Vec<serde_json::Value> = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            errors.push(file, e.line(), format!("not a JSON array: {e}"));
            return Vec::new();
        }
    };
    let lines = element_lines(text);
    values
        .into_iter()
        .enumerate()
        .filter_map(|(i, value)| {
            let line = lines.get(i).copied().unwrap_or(1);
            match serde_json::from_value::<T>(value) {
                Ok(v) => Some((line, v)),
                Err(e) => {
                    errors.push(file, line, format!("entry #{}: {e}", i + 1));
                    None
                }
            }
        })
        .collect()
}

/// Parses a CSV file with the given header; yields (line, fields) for rows of the right width.
fn parse_csv(
    file: &str,
    text: &str,
    header: &[&str],
    errors: &mut Errors,
) -> Vec<(usize, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    match reader.headers() {
        Ok(h) if h.iter().map(str::trim).eq(header.iter().copied()) => {}
        Ok(h) => {
            errors.push(
                file,
                1,
                format!(
                    "header must be `{}`, found `{}`",
                    header.join(","),
                    h.iter().collect::<Vec<_>>().join(",")
                ),
            );
            return Vec::new();
        }
        Err(e) => {
            errors.push(file, 1, format!("unreadable header: {e}"));
            return Vec::new();
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r
                    .position()
                    .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
                if r.len() != header.len() {
                    errors.push(
                        file,
                        line,
                        format!("expected {} fields, found {}", header.len(), r.len()),
                    );
                } else {
                    rows.push((line, r.iter().map(|s| s.trim().to_owned()).collect()));
                }
            }
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
                errors.push(file, line, format!("bad CSV: {e}"));
            }
        }
    }
    rows
}

impl Dataset {
    /// Parses and checks everything; returns what to write, or every problem found.
    pub(crate) fn validate(
        &self,
        tenant: &Tenant,
        existing: &Existing,
    ) -> Result<MasterData, AppError> {
        let mut errors = Errors(Vec::new());
        let mut data = MasterData::default();

        // Divisions.
        let mut division_lines = Vec::new();
        if let Some(text) = &self.divisions {
            for (line, f) in parse_csv(DIVISIONS, text, &DIVISION_HEADER, &mut errors) {
                let parsed = (|| -> Result<Division, RuleViolation> {
                    Ok(Division {
                        code: DivisionCode::parse(&f[0])?,
                        name: f[1].clone(),
                        level: DivisionLevel::parse(&f[2])?,
                        parent: if f[3].is_empty() {
                            None
                        } else {
                            Some(
                                DivisionCode::parse(&f[3])
                                    .map_err(|v| RuleViolation::new("parent_code", v.reason))?,
                            )
                        },
                        kind: DivisionKind::parse(&f[4])?,
                    })
                })();
                match parsed {
                    Ok(d) => {
                        errors.violations(
                            DIVISIONS,
                            line,
                            &format!("division {}", d.code),
                            d.validate(),
                        );
                        division_lines.push(line);
                        data.divisions.push(d);
                    }
                    Err(v) => errors.push(DIVISIONS, line, v.to_string()),
                }
            }
            // Parents may also be already in the database.
            let mut tree = data.divisions.clone();
            for code in &existing.divisions {
                if !tree.iter().any(|d| d.code.as_str() == code)
                    && let Ok(c) = DivisionCode::parse(code)
                {
                    let level = c.implied_level();
                    tree.push(Division {
                        parent: c.implied_parent(),
                        kind: match level {
                            DivisionLevel::County => DivisionKind::County,
                            DivisionLevel::Township => DivisionKind::Town,
                            DivisionLevel::Village => DivisionKind::Village,
                        },
                        code: c,
                        name: String::new(),
                        level,
                    });
                }
            }
            for (i, v) in check_tree(&tree, tenant.as_str()) {
                let line = division_lines.get(i).copied().unwrap_or(1);
                errors.push(DIVISIONS, line, v.to_string());
            }
        }
        let division_known = |code: &str| {
            existing.divisions.contains(code)
                || data.divisions.iter().any(|d| d.code.as_str() == code)
        };

        // Units.
        let mut unit_codes = HashSet::new();
        if let Some(text) = &self.departments {
            for (line, f) in parse_csv(DEPARTMENTS, text, &DEPARTMENT_HEADER, &mut errors) {
                let code = match UnitCode::parse(&f[0]) {
                    Ok(c) => c,
                    Err(v) => {
                        errors.push(DEPARTMENTS, line, v.to_string());
                        continue;
                    }
                };
                let division = code.as_division();
                let kind = match division.as_ref().map(DivisionCode::implied_level) {
                    None => UnitKind::Department,
                    Some(DivisionLevel::Village) => UnitKind::Village,
                    Some(_) => UnitKind::Township,
                };
                if let Some(d) = &division
                    && !division_known(d.as_str())
                {
                    errors.push(
                        DEPARTMENTS,
                        line,
                        format!("unit {code}: division {d} is not a listed division"),
                    );
                }
                if !unit_codes.insert(code.to_string()) {
                    errors.push(DEPARTMENTS, line, format!("unit {code} appears twice"));
                }
                let unit = OrgUnit {
                    code,
                    name_zh: f[1].clone(),
                    name_en: f[2].clone(),
                    short_zh: f[3].clone(),
                    duties_zh: f[4].clone(),
                    phone: f[5].clone(),
                    address: f[6].clone(),
                    kind,
                    division,
                };
                errors.violations(
                    DEPARTMENTS,
                    line,
                    &format!("unit {}", unit.code),
                    unit.validate(),
                );
                data.units.push(unit);
            }
        }
        let unit_known = |code: &UnitCode| {
            existing.units.contains(code.as_str()) || unit_codes.contains(code.as_str())
        };

        // Items.
        let mut item_codes = HashSet::new();
        if let Some(text) = &self.catalog {
            for (line, item) in parse_json_array::<ServiceItem>(CATALOG, text, &mut errors) {
                let label = format!("item {}", item.code);
                errors.violations(CATALOG, line, &label, item.validate());
                if !unit_known(&item.department) {
                    errors.push(
                        CATALOG,
                        line,
                        format!(
                            "{label}: department {} is not a listed unit",
                            item.department
                        ),
                    );
                }
                if !item_codes.insert(item.code.to_string()) {
                    errors.push(CATALOG, line, format!("{label} appears twice"));
                }
                data.items.push(item);
            }
        }

        // FAQs.
        if let Some(text) = &self.faq {
            let mut faqs = Vec::new();
            for (line, faq) in parse_json_array::<Faq>(FAQ, text, &mut errors) {
                let label = format!(
                    "question `{}`",
                    faq.question.chars().take(20).collect::<String>()
                );
                errors.violations(FAQ, line, &label, faq.validate());
                if let Some(code) = &faq.item_code
                    && !existing.items.contains(code.as_str())
                    && !item_codes.contains(code.as_str())
                {
                    errors.push(
                        FAQ,
                        line,
                        format!("{label}: item {code} is not in the catalog"),
                    );
                }
                if !unit_known(&faq.department) {
                    errors.push(
                        FAQ,
                        line,
                        format!(
                            "{label}: department {} is not a listed unit",
                            faq.department
                        ),
                    );
                }
                faqs.push(faq);
            }
            data.faqs = Some(faqs);
        }

        // Calendars.
        let mut years = HashSet::new();
        for (name, text) in &self.calendars {
            let file = format!("{CALENDAR_DIR}/{name}");
            match toml::from_str::<CalendarYear>(text) {
                Ok(year) => {
                    errors.violations(&file, 1, &format!("year {}", year.year), year.validate());
                    if !years.insert(year.year) {
                        errors.push(&file, 1, format!("year {} is given twice", year.year));
                    }
                    data.calendars.push(year);
                }
                Err(e) => {
                    let line = e.span().map_or(1, |s| {
                        text[..s.start.min(text.len())].lines().count().max(1)
                    });
                    errors.push(&file, line, format!("not a calendar: {}", e.message()));
                }
            }
        }

        if errors.0.is_empty() {
            Ok(data)
        } else {
            Err(AppError::Import(ImportReport { errors: errors.0 }))
        }
    }

    /// The database's master data in file form.
    pub(crate) async fn from_store(store: &Store, tenant: &Tenant) -> Result<Self, AppError> {
        let internal = |e: &dyn fmt::Display| AppError::Internal(e.to_string());
        let mut set = Dataset::default();

        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(DIVISION_HEADER).map_err(|e| internal(&e))?;
        for d in store.divisions(tenant).await? {
            let parent = d.parent.as_ref().map(DivisionCode::as_str).unwrap_or("");
            w.write_record([
                d.code.as_str(),
                &d.name,
                d.level.as_str(),
                parent,
                d.kind.as_str(),
            ])
            .map_err(|e| internal(&e))?;
        }
        set.divisions = Some(
            String::from_utf8(w.into_inner().map_err(|e| internal(&e))?)
                .map_err(|e| internal(&e))?,
        );

        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(DEPARTMENT_HEADER)
            .map_err(|e| internal(&e))?;
        for u in store.units(tenant).await? {
            w.write_record([
                u.code.as_str(),
                &u.name_zh,
                &u.name_en,
                &u.short_zh,
                &u.duties_zh,
                &u.phone,
                &u.address,
            ])
            .map_err(|e| internal(&e))?;
        }
        set.departments = Some(
            String::from_utf8(w.into_inner().map_err(|e| internal(&e))?)
                .map_err(|e| internal(&e))?,
        );

        let items = store.items(tenant).await?;
        set.catalog = Some(serde_json::to_string_pretty(&items).map_err(|e| internal(&e))? + "\n");
        let faqs = store.faqs(tenant).await?;
        set.faq = Some(serde_json::to_string_pretty(&faqs).map_err(|e| internal(&e))? + "\n");
        for year in store.calendar_years(tenant).await? {
            set.calendars.insert(
                format!("cn-{}.toml", year.year),
                toml::to_string(&year).map_err(|e| internal(&e))?,
            );
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_lines_point_at_each_array_entry() {
        let text = "[\n {\"a\": \"x,]\"},\n {\n  \"b\": [1, 2]\n },\n 3\n]";
        assert_eq!(element_lines(text), vec![2, 3, 6]);
    }

    #[test]
    fn a_csv_with_a_wrong_header_is_reported_on_line_1() {
        let mut errors = Errors(Vec::new());
        let rows = parse_csv("x.csv", "code,name\n1,2\n", &DIVISION_HEADER, &mut errors);
        assert!(rows.is_empty());
        assert_eq!(errors.0[0].line, 1);
    }
}

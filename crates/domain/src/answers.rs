//! Checking what a person typed into an item's online form against the item's field
//! definitions. Input is read liberally (full-width digits, `2026/3/5`, `2026年3月5日`, a phone
//! number with spaces), stored in one canonical form, and every problem is reported at once,
//! per field, as a code the web layer words in the reader's language.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::catalog::{FieldType, FormField};
use crate::identity::{PhoneNumber, ResidentId};

/// Longest one-line answer, in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest multi-line answer, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Answers by field key, canonical.
pub type Answers = BTreeMap<String, String>;

/// One field's problem: `code` names it (`answer_required`, `answer_date`, `id_number_check_digit`
/// …), `args` fill in its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerProblem {
    pub key: String,
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl AnswerProblem {
    fn new(key: &str, code: &'static str) -> Self {
        Self {
            key: key.to_owned(),
            code,
            args: Vec::new(),
        }
    }

    /// A required question left unanswered: "choose" for a list, "enter" for the rest.
    fn required(field: &FormField) -> Self {
        let code = if field.field_type == FieldType::Select {
            "answer_choice_required"
        } else {
            "answer_required"
        };
        Self::new(&field.key, code).with("label", &field.label)
    }

    fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

/// Full-width digits and punctuation typed on Chinese keyboards, as ASCII.
fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Keeps line breaks (a textarea's paragraphs) but drops other control characters.
fn clean_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    s.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A date as people write it: `2026-03-05`, `2026/3/5`, `2026.3.5` or `2026年3月5日`.
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    let s = half_width(input.trim());
    let s = s.strip_suffix('日').unwrap_or(&s);
    let parts: Vec<&str> = s.split(['-', '/', '.', '年', '月']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if y.len() != 4
        || !all_digits(y)
        || !all_digits(m)
        || !all_digits(d)
        || m.len() > 2
        || d.len() > 2
    {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A number as people write it: digits with at most one decimal point and an optional minus
/// sign; thousands separators are dropped. Returned as typed, without the separators.
fn parse_number(input: &str) -> Option<String> {
    let s: String = half_width(input.trim())
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' '))
        .collect();
    let body = s.strip_prefix('-').unwrap_or(&s);
    let mut dots = 0;
    let ok = !body.is_empty()
        && body.chars().all(|c| {
            if c == '.' {
                dots += 1;
                true
            } else {
                c.is_ascii_digit()
            }
        })
        && dots <= 1
        && !body.starts_with('.')
        && !body.ends_with('.');
    ok.then_some(s)
}

fn check_one(field: &FormField, raw: &str, today: NaiveDate) -> Result<String, AnswerProblem> {
    let key = field.key.as_str();
    let too_long = |max: usize| AnswerProblem::new(key, "answer_too_long").with("max", max);
    match field.field_type {
        FieldType::Text => {
            let v = crate::text::clean_line(raw, MAX_LINE_CHARS + 1);
            if v.chars().count() > MAX_LINE_CHARS {
                return Err(too_long(MAX_LINE_CHARS));
            }
            Ok(v)
        }
        FieldType::Textarea => {
            let v = clean_text(raw);
            if v.chars().count() > MAX_TEXT_CHARS {
                return Err(too_long(MAX_TEXT_CHARS));
            }
            Ok(v)
        }
        FieldType::Number => {
            parse_number(raw).ok_or_else(|| AnswerProblem::new(key, "answer_number"))
        }
        FieldType::Date => parse_date(raw)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| AnswerProblem::new(key, "answer_date")),
        FieldType::Select => {
            let v = raw.trim();
            if field.options.iter().any(|o| o == v) {
                Ok(v.to_owned())
            } else {
                Err(AnswerProblem::new(key, "answer_option"))
            }
        }
        FieldType::IdNumber => ResidentId::parse(&half_width(raw), today)
            .map(|id| id.as_str().to_owned())
            .map_err(|e| AnswerProblem::new(key, e.code())),
        FieldType::Phone => PhoneNumber::parse(&half_width(raw))
            .map(|p| p.as_str().to_owned())
            .map_err(|e| AnswerProblem::new(key, e.code())),
    }
}

/// Which required answers must be present when answers are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Require<'a> {
    /// Every required answer (submitting).
    All,
    /// None: a draft may be saved half done, but what it holds must still be well-formed.
    Nothing,
    /// Those of the named fields (one page of a form asked a question at a time).
    These(&'a [&'a str]),
}

impl Require<'_> {
    fn applies_to(self, key: &str) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::These(keys) => keys.contains(&key),
        }
    }
}

/// Checks `raw` answers against `fields`. Returns the canonical answers of the defined fields
/// (unknown keys are dropped, empty optional fields left out), or every problem found.
///
/// `partial` is [`Require::Nothing`] when true and [`Require::All`] when false.
pub fn check_answers(
    fields: &[FormField],
    raw: &BTreeMap<String, String>,
    today: NaiveDate,
    partial: bool,
) -> Result<Answers, Vec<AnswerProblem>> {
    let require = if partial {
        Require::Nothing
    } else {
        Require::All
    };
    check_answers_requiring(fields, raw, today, require)
}

/// Checks `raw` answers against `fields`, requiring the required answers `require` names.
pub fn check_answers_requiring(
    fields: &[FormField],
    raw: &BTreeMap<String, String>,
    today: NaiveDate,
    require: Require<'_>,
) -> Result<Answers, Vec<AnswerProblem>> {
    let mut answers = Answers::new();
    let mut problems = Vec::new();
    for field in fields {
        let given = raw.get(&field.key).map(String::as_str).unwrap_or_default();
        if given.trim().is_empty() {
            if field.required && require.applies_to(&field.key) {
                problems.push(AnswerProblem::required(field));
            }
            continue;
        }
        match check_one(field, given, today) {
            Ok(v) if v.is_empty() => {
                if field.required && require.applies_to(&field.key) {
                    problems.push(AnswerProblem::required(field));
                }
            }
            Ok(v) => {
                answers.insert(field.key.clone(), v);
            }
            // Every message can name its question: an error summary lists several.
            Err(p) => problems.push(p.with("label", &field.label)),
        }
    }
    if problems.is_empty() {
        Ok(answers)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, t: FieldType, required: bool) -> FormField {
        FormField {
            key: key.into(),
            label: key.into(),
            field_type: t,
            required,
            options: if t == FieldType::Select {
                vec!["个人经营".into(), "家庭经营".into()]
            } else {
                Vec::new()
            },
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
    }

    fn all_fields() -> Vec<FormField> {
        vec![
            field("name", FieldType::Text, true),
            field("amount", FieldType::Number, false),
            field("since", FieldType::Date, true),
            field("form", FieldType::Select, true),
            field("scope", FieldType::Textarea, false),
            field("id", FieldType::IdNumber, true),
            field("phone", FieldType::Phone, true),
        ]
    }

    #[test]
    fn answers_are_read_liberally_and_stored_canonically() {
        let answers = check_answers(
            &all_fields(),
            &raw(&[
                ("name", "  李明\t "),
                ("amount", "１２,000.5"),
                ("since", "2026年3月5日"),
                ("form", "家庭经营"),
                ("scope", "针纺织品销售\r\n服装零售"),
                ("id", "11010519491231002x"),
                ("phone", "138 0013 8000"),
                ("unknown", "dropped"),
            ]),
            today(),
            false,
        );
        let a = answers.unwrap_or_default();
        assert_eq!(a["name"], "李明");
        assert_eq!(a["amount"], "12000.5");
        assert_eq!(a["since"], "2026-03-05");
        assert_eq!(a["scope"], "针纺织品销售\n服装零售");
        assert_eq!(a["id"], "11010519491231002X");
        assert_eq!(a["phone"], "13800138000");
        assert!(!a.contains_key("unknown"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_own_code() {
        let problems = check_answers(
            &all_fields(),
            &raw(&[
                ("name", ""),
                ("amount", "12元"),
                ("since", "05/03/2026"),
                ("form", "合伙经营"),
                ("id", "110105194912310021"),
                ("phone", "12345"),
            ]),
            today(),
            false,
        )
        .err()
        .unwrap_or_default();
        let codes: Vec<(&str, &str)> = problems.iter().map(|p| (p.key.as_str(), p.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("name", "answer_required"),
                ("amount", "answer_number"),
                ("since", "answer_date"),
                ("form", "answer_option"),
                ("id", "id_number_check_digit"),
                ("phone", "phone_invalid"),
            ]
        );
    }

    #[test]
    fn a_draft_may_leave_required_fields_empty_but_not_malformed() {
        let fields = all_fields();
        assert!(check_answers(&fields, &raw(&[("name", "李明")]), today(), true).is_ok());
        let problems = check_answers(&fields, &raw(&[("since", "2026-02-30")]), today(), true)
            .err()
            .unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "answer_date");
    }

    #[test]
    fn over_long_answers_are_refused_with_the_limit() {
        let fields = vec![field("name", FieldType::Text, true)];
        let long = "名".repeat(MAX_LINE_CHARS + 1);
        let problems = check_answers(&fields, &raw(&[("name", &long)]), today(), false)
            .err()
            .unwrap_or_default();
        assert_eq!(problems[0].code, "answer_too_long");
        assert_eq!(
            problems[0].args,
            vec![
                ("max", MAX_LINE_CHARS.to_string()),
                ("label", "name".to_owned())
            ],
            "the message names the limit and the question"
        );
    }

    #[test]
    fn dates_in_every_common_spelling_and_none_other() {
        for ok in [
            "2026-03-05",
            "2026/3/5",
            "2026.03.05",
            "2026年3月5日",
            "２０２６-３-５",
        ] {
            assert_eq!(parse_date(ok), NaiveDate::from_ymd_opt(2026, 3, 5), "{ok}");
        }
        for bad in [
            "05/03/2026",
            "2026-13-01",
            "2026-02-29",
            "26-3-5",
            "2026-3",
            "明天",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_page_of_a_long_form_requires_only_its_own_questions() {
        let fields = vec![
            field("name", FieldType::Text, true),
            field("phone", FieldType::Phone, true),
        ];
        let keys = ["name"];
        let problems = check_answers_requiring(&fields, &raw(&[]), today(), Require::These(&keys))
            .err()
            .unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "name");
        assert!(
            check_answers_requiring(
                &fields,
                &raw(&[("name", "李明")]),
                today(),
                Require::These(&keys)
            )
            .is_ok(),
            "the phone question is on another page"
        );
    }
}

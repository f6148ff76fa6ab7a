//! Service items (政务服务事项) and their standard guide elements, as listed in the national
//! standard for government service item management (GB/T 42494-style elements): type,
//! implementing body, target, legal basis, statutory and promised limits, materials, fee,
//! place, online level, in-person visits (跑动次数), village-agent eligibility, life events.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{RuleViolation, UnitCode};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemCode(String);

impl ItemCode {
    pub fn parse(code: &str) -> Result<Self, RuleViolation> {
        let ok = (4..=40).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(RuleViolation::new(
                "code",
                format!(
                    "`{}` is not an item code: 4 to 40 letters, digits or '-'",
                    code.chars().take(60).collect::<String>()
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ItemCode {
    type Error = RuleViolation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ItemCode> for String {
    fn from(c: ItemCode) -> Self {
        c.0
    }
}

/// Declares a closed vocabulary whose wire form is its Chinese name, with `ALL`, `as_str` and `parse`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The accepted values, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }

            /// What the vocabulary is called, for error messages.
            pub const WHAT: &'static str = $what;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// The legal nature of an item (事项类型).
    ItemType, "item type" {
        Licensing => "行政许可",
        Confirmation => "行政确认",
        Payment => "行政给付",
        Adjudication => "行政裁决",
        Inspection => "行政检查",
        OtherPower => "其他行政权力",
        PublicService => "公共服务",
    }
);

vocabulary!(
    /// Who may apply (服务对象).
    Target, "target" {
        Individual => "个人",
        LegalPerson => "法人",
    }
);

vocabulary!(
    /// Form of a required material.
    MaterialForm, "material form" {
        Original => "原件",
        Copy => "复印件",
        Electronic => "电子",
    }
);

vocabulary!(
    /// Life events (一件事) a resident meets; items are grouped under them on the home page.
    LifeEvent, "life event" {
        Birth => "出生",
        Schooling => "入学",
        Employment => "就业",
        Marriage => "婚育",
        Business => "创业",
        Housing => "住房",
        Medical => "就医",
        Retirement => "养老",
        Disability => "残疾",
        Relief => "救助",
        Veterans => "退役",
        Death => "身后",
        Travel => "出行",
        Farming => "农业生产",
    }
);

impl LifeEvent {
    /// Stable ASCII slug for URLs, CSS and translations.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Birth => "birth",
            Self::Schooling => "schooling",
            Self::Employment => "employment",
            Self::Marriage => "marriage",
            Self::Business => "business",
            Self::Housing => "housing",
            Self::Medical => "medical",
            Self::Retirement => "retirement",
            Self::Disability => "disability",
            Self::Relief => "relief",
            Self::Veterans => "veterans",
            Self::Death => "death",
            Self::Travel => "travel",
            Self::Farming => "farming",
        }
    }
}

/// Where an item is handled: at county departments, or at the applicant's township service
/// centre (便民服务中心) or village service station (便民服务站).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    County,
    Township,
    Village,
}

impl ServiceLevel {
    pub const ALL: &'static [Self] = &[Self::County, Self::Township, Self::Village];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::County => "county",
            Self::Township => "township",
            Self::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

/// How far an item can be done online (网上办理深度), 0 to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum OnlineLevel {
    InformationOnly = 0,
    DownloadableForms = 1,
    OnlineSubmission = 2,
    FullyOnline = 3,
    FullyOnlineDelivered = 4,
}

impl OnlineLevel {
    pub const ALL: &'static [Self] = &[
        Self::InformationOnly,
        Self::DownloadableForms,
        Self::OnlineSubmission,
        Self::FullyOnline,
        Self::FullyOnlineDelivered,
    ];

    pub fn value(self) -> u8 {
        self as u8
    }

    /// Whether a resident can submit an application from the app.
    pub fn accepts_online_applications(self) -> bool {
        self >= Self::OnlineSubmission
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for OnlineLevel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(0))
            .maximum(Some(4))
            .description(Some(
                "0 information only, 1 downloadable forms, 2 online submission, 3 fully online, 4 fully online with result delivered",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for OnlineLevel {}

impl TryFrom<u8> for OnlineLevel {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .ok_or_else(|| format!("online_level {v} is out of range 0..=4"))
    }
}

impl From<OnlineLevel> for u8 {
    fn from(l: OnlineLevel) -> Self {
        l.value()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Material {
    pub name: String,
    pub form: MaterialForm,
    pub count: u32,
    pub required: bool,
    /// When the material is needed or how to get it (conditional materials say so here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// The common case in yuan; `basis` lists other rates.
    pub amount_yuan: f64,
    pub basis: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Date,
    Select,
    Textarea,
    IdNumber,
    Phone,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// One service item with every standard guide element. The serde form is the import/export
/// format (`catalog.json`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceItem {
    pub code: ItemCode,
    pub name: String,
    /// The county unit that owns the item; township/village items are handled at the
    /// applicant's own township or village office.
    pub department: UnitCode,
    pub level: ServiceLevel,
    #[serde(rename = "type")]
    pub item_type: ItemType,
    pub target: Vec<Target>,
    pub legal_basis: String,
    /// Time limit set by law, in working days; 0 means decided on the spot (即办).
    pub statutory_days: u32,
    /// Time limit the county promises, in working days; never above the statutory one.
    pub promised_days: u32,
    pub materials: Vec<Material>,
    pub fee: Option<Fee>,
    pub place: String,
    pub hours: String,
    pub online_level: OnlineLevel,
    /// Most in-person visits a resident needs (跑动次数); 0 is "zero trips" (零跑动).
    pub max_visits: u8,
    pub agent_allowed: bool,
    pub life_events: Vec<LifeEvent>,
    pub keywords: Vec<String>,
    pub form_fields: Vec<FormField>,
    pub steps: Vec<String>,
}

/// The longest plausible statutory limit: a few procedures run six months (recorded as 120
/// working days); anything far beyond is a typo.
pub const MAX_LIMIT_DAYS: u32 = 366;
/// Visits above this defeat the "run at most once" reform and signal a data error.
pub const MAX_VISITS: u8 = 5;

impl ServiceItem {
    pub fn is_free(&self) -> bool {
        self.fee.as_ref().is_none_or(|f| f.amount_yuan == 0.0)
    }

    pub fn is_zero_trip(&self) -> bool {
        self.max_visits == 0
    }

    pub fn is_immediate(&self) -> bool {
        self.promised_days == 0
    }

    pub fn required_materials(&self) -> impl Iterator<Item = &Material> {
        self.materials.iter().filter(|m| m.required)
    }

    /// Every rule an item must satisfy on its own. Whether its department exists is a question
    /// for the whole data set.
    pub fn validate(&self) -> Vec<RuleViolation> {
        let mut errors = Vec::new();
        let mut nonempty = |field: &str, value: &str| {
            if value.trim().is_empty() {
                errors.push(RuleViolation::new(field, "must not be empty"));
            }
        };
        nonempty("name", &self.name);
        nonempty("legal_basis", &self.legal_basis);
        nonempty("place", &self.place);
        nonempty("hours", &self.hours);
        if self.name.chars().count() > 100 {
            errors.push(RuleViolation::new("name", "is longer than 100 characters"));
        }
        if self.target.is_empty() {
            errors.push(RuleViolation::new("target", "must name 个人, 法人 or both"));
        }
        if self.statutory_days > MAX_LIMIT_DAYS {
            errors.push(RuleViolation::new(
                "statutory_days",
                format!(
                    "{} is more than {MAX_LIMIT_DAYS} working days",
                    self.statutory_days
                ),
            ));
        }
        if self.promised_days > self.statutory_days {
            errors.push(RuleViolation::new(
                "promised_days",
                format!(
                    "the promised limit ({}) must not exceed the statutory limit ({})",
                    self.promised_days, self.statutory_days
                ),
            ));
        }
        if self.max_visits > MAX_VISITS {
            errors.push(RuleViolation::new(
                "max_visits",
                format!("{} is more than {MAX_VISITS}", self.max_visits),
            ));
        }
        for (i, m) in self.materials.iter().enumerate() {
            if m.name.trim().is_empty() {
                errors.push(RuleViolation::new(
                    format!("materials[{i}].name"),
                    "must not be empty",
                ));
            }
            if m.count == 0 {
                errors.push(RuleViolation::new(
                    format!("materials[{i}].count"),
                    "must be at least 1",
                ));
            }
        }
        if let Some(fee) = &self.fee {
            if !(fee.amount_yuan.is_finite() && fee.amount_yuan >= 0.0) {
                errors.push(RuleViolation::new(
                    "fee.amount_yuan",
                    "must be a non-negative amount",
                ));
            }
            if fee.basis.trim().is_empty() {
                errors.push(RuleViolation::new(
                    "fee.basis",
                    "a fee must name its legal basis",
                ));
            }
        }
        let mut keys = HashSet::new();
        for (i, f) in self.form_fields.iter().enumerate() {
            let key_ok = !f.key.is_empty()
                && f.key.len() <= 40
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && f.key.as_bytes()[0].is_ascii_lowercase();
            if !key_ok {
                errors.push(RuleViolation::new(
                    format!("form_fields[{i}].key"),
                    format!(
                        "`{}` must be snake_case ASCII starting with a letter",
                        f.key
                    ),
                ));
            }
            if !keys.insert(f.key.as_str()) {
                errors.push(RuleViolation::new(
                    format!("form_fields[{i}].key"),
                    format!("`{}` appears twice", f.key),
                ));
            }
            if f.label.trim().is_empty() {
                errors.push(RuleViolation::new(
                    format!("form_fields[{i}].label"),
                    "must not be empty",
                ));
            }
            if f.field_type == FieldType::Select && f.options.is_empty() {
                errors.push(RuleViolation::new(
                    format!("form_fields[{i}].options"),
                    "a select field needs at least one option",
                ));
            }
            if f.field_type != FieldType::Select && !f.options.is_empty() {
                errors.push(RuleViolation::new(
                    format!("form_fields[{i}].options"),
                    "only select fields have options",
                ));
            }
        }
        if self.steps.is_empty() || self.steps.iter().any(|s| s.trim().is_empty()) {
            errors.push(RuleViolation::new(
                "steps",
                "must list at least one non-empty step",
            ));
        }
        if self.keywords.iter().any(|k| k.trim().is_empty()) {
            errors.push(RuleViolation::new(
                "keywords",
                "must not contain empty keywords",
            ));
        }
        errors
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample_item() -> ServiceItem {
        ServiceItem {
            code: ItemCode(String::from("1305340101001")),
            name: "个体工商户设立登记".into(),
            department: UnitCode::parse("130534-SPJ").unwrap_or_else(|e| panic!("{e}")),
            level: ServiceLevel::County,
            item_type: ItemType::Licensing,
            target: vec![Target::Individual],
            legal_basis: "《促进个体工商户发展条例》".into(),
            statutory_days: 3,
            promised_days: 0,
            materials: vec![Material {
                name: "身份证".into(),
                form: MaterialForm::Original,
                count: 1,
                required: true,
                note: None,
            }],
            fee: None,
            place: "政务服务中心".into(),
            hours: "工作日".into(),
            online_level: OnlineLevel::FullyOnlineDelivered,
            max_visits: 0,
            agent_allowed: true,
            life_events: vec![LifeEvent::Business],
            keywords: vec!["营业执照".into()],
            form_fields: vec![],
            steps: vec!["申请".into()],
        }
    }

    #[test]
    fn a_valid_item_has_no_violations() {
        assert!(sample_item().validate().is_empty());
    }

    #[test]
    fn promised_limit_above_statutory_is_rejected() {
        let mut item = sample_item();
        item.promised_days = 5;
        let errors = item.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "promised_days");
    }

    #[test]
    fn a_select_field_without_options_is_rejected() {
        let mut item = sample_item();
        item.form_fields.push(FormField {
            key: "kind".into(),
            label: "类型".into(),
            field_type: FieldType::Select,
            required: true,
            options: vec![],
        });
        assert_eq!(item.validate()[0].field, "form_fields[0].options");
    }

    #[test]
    fn the_import_format_round_trips_through_serde() {
        let item = sample_item();
        let json = serde_json::to_string(&item).unwrap_or_default();
        let back: ServiceItem = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, item);
    }

    #[test]
    fn online_level_out_of_range_is_a_deserialisation_error() {
        assert!(serde_json::from_str::<OnlineLevel>("5").is_err());
        assert_eq!(
            serde_json::from_str::<OnlineLevel>("2").ok(),
            Some(OnlineLevel::OnlineSubmission)
        );
    }
}

/// What a list of items shows about each: enough to choose one without opening the guide.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSummary {
    pub code: ItemCode,
    pub name: String,
    pub department: UnitCode,
    pub department_name: String,
    pub level: ServiceLevel,
    #[serde(rename = "type")]
    pub item_type: ItemType,
    pub target: Vec<Target>,
    pub online_level: OnlineLevel,
    pub max_visits: u8,
    pub statutory_days: u32,
    pub promised_days: u32,
    pub free: bool,
    pub agent_allowed: bool,
    pub life_events: Vec<LifeEvent>,
}

impl ServiceItem {
    pub fn summary(&self, department_name: &str) -> ItemSummary {
        ItemSummary {
            code: self.code.clone(),
            name: self.name.clone(),
            department: self.department.clone(),
            department_name: department_name.to_owned(),
            level: self.level,
            item_type: self.item_type,
            target: self.target.clone(),
            online_level: self.online_level,
            max_visits: self.max_visits,
            statutory_days: self.statutory_days,
            promised_days: self.promised_days,
            free: self.is_free(),
            agent_allowed: self.agent_allowed,
            life_events: self.life_events.clone(),
        }
    }
}

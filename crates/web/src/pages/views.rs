//! What templates show, computed in Rust so templates stay plain markup.

use axum::http::Uri;
use tongban_app::{FaqHit, ItemGuide};
use tongban_domain::{ItemSummary, LifeEvent, MaterialForm, OrgUnit, ServiceLevel, Target};

use crate::assets;
use crate::i18n::{Lang, Tr};
use crate::prefs::Prefs;
use crate::session::{RequestFacts, Visitor};

/// The frame around every page: language, elderly mode, links that switch them, assets.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub care: bool,
    pub title: String,
    /// `lang` attribute of the page.
    pub html_lang: &'static str,
    pub lang_switch: String,
    pub care_switch: String,
    pub css: String,
    pub js: String,
    pub icon: String,
    pub manifest: String,
    /// This page's path and query, for links that return here.
    pub here: String,
    /// The signed-in person's name, for the header.
    pub who: Option<String>,
    pub staff: bool,
    /// The token every form on the page carries.
    pub csrf: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Chrome {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

impl Chrome {
    /// The page frame for a request: language and elderly-mode preferences, who is signed in,
    /// and the CSRF token for its forms.
    pub fn from_parts(parts: &axum::http::request::Parts) -> Self {
        let prefs = Prefs::from_headers(&parts.headers);
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        let mut c = Self::new(prefs, &uri);
        if let Some(Visitor::Signed(p)) = parts.extensions.get::<Visitor>() {
            c.who = Some(p.name.clone());
            c.staff = p.actor.is_staff();
        }
        if let Some(f) = parts.extensions.get::<RequestFacts>() {
            c.csrf.clone_from(&f.csrf);
        }
        c
    }

    pub fn new(prefs: Prefs, uri: &Uri) -> Self {
        let here = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let back = serde_urlencoded::to_string([("back", &here)]).unwrap_or_default();
        Self {
            tr: Tr(prefs.lang),
            care: prefs.care,
            title: String::new(),
            html_lang: prefs.lang.tag(),
            lang_switch: format!("/prefs/lang?set={}&{back}", prefs.lang.other().tag()),
            care_switch: format!(
                "/prefs/care?set={}&{back}",
                if prefs.care { "off" } else { "on" }
            ),
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("icon.svg"),
            manifest: assets::url("manifest.webmanifest"),
            here: here.clone(),
            who: None,
            staff: false,
            csrf: String::new(),
        }
    }

    pub fn titled(mut self, title: &str) -> Self {
        self.title = title.to_owned();
        self
    }

    pub fn unit_name(&self, u: &OrgUnit) -> String {
        match self.tr.0 {
            Lang::Zh => u.name_zh.clone(),
            Lang::En => u.name_en.clone(),
        }
    }

    pub fn is_en(&self) -> bool {
        self.tr.0 == Lang::En
    }
}

pub fn event_key(e: LifeEvent) -> String {
    format!("event-{}", e.slug())
}

/// An `<option>` of a filter.
#[derive(Debug, Clone)]
pub struct Option_ {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Option_ {
    pub fn new(value: &str, label: String, selected: bool) -> Self {
        Self {
            value: value.to_owned(),
            label,
            selected,
        }
    }
}

/// One item in a list.
#[derive(Debug, Clone)]
pub struct ItemCard {
    pub code: String,
    pub name: String,
    pub department: String,
    pub badges: Vec<(&'static str, String)>,
}

pub fn card(tr: Tr, i: &ItemSummary) -> ItemCard {
    let mut badges = Vec::new();
    badges.push(if i.max_visits == 0 {
        ("good", tr.t("badge-zero-trips"))
    } else {
        ("plain", tr.tn("badge-visits", "n", i.max_visits))
    });
    badges.push(if i.promised_days == 0 {
        ("good", tr.t("badge-immediate"))
    } else {
        ("plain", tr.tn("badge-days", "days", i.promised_days))
    });
    badges.push(if i.free {
        ("good", tr.t("badge-free"))
    } else {
        ("plain", tr.t("badge-fee"))
    });
    if i.online_level.accepts_online_applications() {
        badges.push(("good", tr.t("badge-online")));
    }
    ItemCard {
        code: i.code.to_string(),
        name: i.name.clone(),
        department: i.department_name.clone(),
        badges,
    }
}

#[derive(Debug, Clone)]
pub struct FaqView {
    pub question: String,
    pub answer: String,
    pub item: Option<(String, String)>,
}

impl From<FaqHit> for FaqView {
    fn from(f: FaqHit) -> Self {
        Self {
            item: f
                .item_code
                .map(|c| (c.to_string(), f.item_name.unwrap_or_default())),
            question: f.question,
            answer: f.answer,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MaterialView {
    pub name: String,
    pub form: String,
    pub count: u32,
    pub required: bool,
    pub note: String,
}

/// The guide (办事指南) of one item, every element phrased for a resident.
#[derive(Debug, Clone)]
pub struct GuideView {
    pub code: String,
    pub name: String,
    pub item_type: String,
    pub department: String,
    pub department_code: String,
    pub department_phone: String,
    pub targets: String,
    pub level: String,
    pub legal_basis: String,
    pub promised: String,
    pub statutory: String,
    pub visits: String,
    pub zero_trips: bool,
    pub fee: String,
    pub free: bool,
    pub fee_basis: String,
    pub online: String,
    /// Whether the item can be applied for from here.
    pub applies_online: bool,
    pub agent: String,
    pub materials: Vec<MaterialView>,
    pub steps: Vec<String>,
    pub place: String,
    pub hours: String,
    pub life_events: Vec<(&'static str, String)>,
    pub faqs: Vec<(String, String)>,
}

fn days(tr: Tr, n: u32) -> String {
    if n == 0 {
        tr.t("guide-immediate")
    } else {
        tr.tn("guide-days", "days", n)
    }
}

impl GuideView {
    pub fn new(tr: Tr, g: ItemGuide) -> Self {
        let i = g.item;
        let en = tr.0 == Lang::En;
        let form = |f: MaterialForm| -> String {
            if !en {
                return f.as_str().to_owned();
            }
            match f {
                MaterialForm::Original => "Original",
                MaterialForm::Copy => "Copy",
                MaterialForm::Electronic => "Electronic",
            }
            .to_owned()
        };
        Self {
            code: i.code.to_string(),
            item_type: i.item_type.as_str().to_owned(),
            department: if en {
                g.department.name_en.clone()
            } else {
                g.department.name_zh.clone()
            },
            department_code: g.department.code.to_string(),
            department_phone: g.department.phone.clone(),
            targets: i
                .target
                .iter()
                .map(|t| match t {
                    Target::Individual => tr.t("target-individual"),
                    Target::LegalPerson => tr.t("target-legal"),
                })
                .collect::<Vec<_>>()
                .join(" / "),
            level: tr.t(match i.level {
                ServiceLevel::County => "level-county",
                ServiceLevel::Township => "level-township",
                ServiceLevel::Village => "level-village",
            }),
            legal_basis: i.legal_basis.clone(),
            promised: days(tr, i.promised_days),
            statutory: days(tr, i.statutory_days),
            zero_trips: i.max_visits == 0,
            visits: if i.max_visits == 0 {
                tr.t("guide-zero-trips")
            } else {
                tr.tn("guide-visits-n", "n", i.max_visits)
            },
            free: i.is_free(),
            fee: match &i.fee {
                Some(f) if f.amount_yuan > 0.0 => {
                    tr.ts("guide-fee-amount", "amount", &format_yuan(f.amount_yuan))
                }
                _ => tr.t("guide-free"),
            },
            fee_basis: i.fee.as_ref().map(|f| f.basis.clone()).unwrap_or_default(),
            online: tr.t(&format!("online-{}", i.online_level.value())),
            applies_online: i.online_level.accepts_online_applications(),
            agent: tr.t(if i.agent_allowed {
                "guide-agent-yes"
            } else {
                "guide-agent-no"
            }),
            materials: i
                .materials
                .iter()
                .map(|m| MaterialView {
                    name: m.name.clone(),
                    form: form(m.form),
                    count: m.count,
                    required: m.required,
                    note: m.note.clone().unwrap_or_default(),
                })
                .collect(),
            steps: i.steps.clone(),
            place: i.place.clone(),
            hours: i.hours.clone(),
            life_events: i
                .life_events
                .iter()
                .map(|e| (e.slug(), tr.t(&event_key(*e))))
                .collect(),
            faqs: g.faqs.into_iter().map(|f| (f.question, f.answer)).collect(),
            name: i.name.clone(),
        }
    }
}

fn format_yuan(amount: f64) -> String {
    if amount.fract() == 0.0 {
        format!("{amount:.0}")
    } else {
        format!("{amount:.2}")
    }
}

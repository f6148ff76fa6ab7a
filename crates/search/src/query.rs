//! Turning what a person typed into a ranked tantivy query.

use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tongban_domain::{ItemType, LifeEvent, ServiceLevel, Target, UnitCode};

use crate::analysis::{full_pinyin, initials, is_intent_word, words};
use crate::fields::Fields;
use crate::synonyms::Synonyms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    Items,
    Faqs,
}

impl SearchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Items => "item",
            Self::Faqs => "faq",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filters {
    pub department: Option<UnitCode>,
    pub level: Option<ServiceLevel>,
    pub life_event: Option<LifeEvent>,
    pub target: Option<Target>,
    pub item_type: Option<ItemType>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Cleaned text (see `tongban_domain::text::clean_line`); empty lists everything in catalog order.
    pub text: String,
    pub filters: Filters,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub struct SearchResults<H> {
    pub total: usize,
    pub hits: Vec<H>,
}

// Relative weights: a word in the name counts most, then keywords, then the rest.
const EXACT: f32 = 12.0;
const NAME: f32 = 6.0;
const KEYWORDS: f32 = 4.0;
const SYNONYM: f32 = 2.5;
const PINYIN: f32 = 3.0;
const INITIALS: f32 = 5.0;
const BODY: f32 = 1.0;
const GRAMS: f32 = 0.8;

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(q: Box<dyn Query>, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(q, boost)))
}

/// The scoring part of a query: `None` when the text holds nothing searchable.
pub(crate) fn text_query(
    f: &Fields,
    analyzer: &mut tantivy::tokenizer::TextAnalyzer,
    synonyms: &Synonyms,
    text: &str,
) -> Option<Box<dyn Query>> {
    let lower = text.to_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    clauses.push(boosted(term(f.exact, &compact), EXACT));

    let all_words = words(analyzer, &lower);
    let content: Vec<&String> = all_words.iter().filter(|w| !is_intent_word(w)).collect();
    let chosen: Vec<&String> = if content.is_empty() {
        all_words.iter().collect()
    } else {
        content
    };
    for w in &chosen {
        clauses.push(boosted(term(f.name, w), NAME));
        clauses.push(boosted(term(f.keywords, w), KEYWORDS));
        clauses.push(boosted(term(f.body, w), BODY));
        let py = full_pinyin(w);
        if py.len() >= 4 {
            clauses.push(boosted(term(f.pinyin, &py), PINYIN));
        }
    }

    let mut expansions: Vec<&str> = Vec::new();
    for w in chosen
        .iter()
        .map(|w| w.as_str())
        .chain(synonyms.contained_in(&compact))
    {
        for s in synonyms.of(w) {
            if !expansions.contains(&s) && !chosen.iter().any(|c| c.as_str() == s) {
                expansions.push(s);
            }
        }
    }
    for s in expansions {
        clauses.push(boosted(term(f.exact, s), SYNONYM * 2.0));
        clauses.push(boosted(term(f.name, s), SYNONYM));
        clauses.push(boosted(term(f.keywords, s), SYNONYM));
    }

    // Homophones: the same pinyin as a name or keyword (身分证 → 身份证).
    let py = full_pinyin(&compact);
    if py.len() >= 4 {
        clauses.push(boosted(term(f.pinyin, &py), PINYIN * 2.0));
    }
    // Typed in Latin letters: pinyin initials (yyzz) or full pinyin, whole or as a prefix.
    if compact.len() >= 2 && compact.bytes().all(|b| b.is_ascii_lowercase()) {
        clauses.push(boosted(term(f.initials, &compact), INITIALS));
        clauses.push(boosted(term(f.pinyin, &compact), INITIALS));
        let prefix = |field| {
            Box::new(FuzzyTermQuery::new_prefix(
                Term::from_field_text(field, &compact),
                0,
                false,
            )) as Box<dyn Query>
        };
        clauses.push(boosted(prefix(f.initials), INITIALS / 2.0));
        if compact.len() >= 4 {
            clauses.push(boosted(prefix(f.pinyin), PINYIN));
        }
        let han_initials = initials(&compact);
        if !han_initials.is_empty() && han_initials != compact {
            clauses.push(boosted(term(f.initials, &han_initials), INITIALS));
        }
    }

    // One wrong character: enough of the query's character bigrams still match.
    let chars: Vec<char> = compact.chars().filter(|c| !c.is_ascii()).collect();
    if chars.len() >= 2 {
        let grams: Vec<(Occur, Box<dyn Query>)> = chars
            .windows(2)
            .map(|w| (Occur::Should, term(f.grams, &w.iter().collect::<String>())))
            .collect();
        let n = grams.len();
        let need = if n <= 3 { 1 } else { n / 2 };
        let mut q = BooleanQuery::new(grams);
        q.set_minimum_number_should_match(need);
        clauses.push(boosted(Box::new(q), GRAMS));
    }

    Some(Box::new(BooleanQuery::new(clauses)))
}

/// Restricts `scoring` (or everything, when `None`) to one kind of document and the filters.
pub(crate) fn filtered(
    f: &Fields,
    kind: SearchKind,
    filters: &Filters,
    scoring: Option<Box<dyn Query>>,
) -> Box<dyn Query> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term(f.kind, kind.as_str()))];
    must.push((Occur::Must, scoring.unwrap_or_else(|| Box::new(AllQuery))));
    if let Some(d) = &filters.department {
        must.push((Occur::Must, term(f.department, d.as_str())));
    }
    if let Some(l) = filters.level {
        must.push((Occur::Must, term(f.level, l.as_str())));
    }
    if let Some(e) = filters.life_event {
        must.push((Occur::Must, term(f.life_event, e.as_str())));
    }
    if let Some(t) = filters.target {
        must.push((Occur::Must, term(f.target, t.as_str())));
    }
    if let Some(t) = filters.item_type {
        must.push((Occur::Must, term(f.item_type, t.as_str())));
    }
    Box::new(BooleanQuery::new(must))
}

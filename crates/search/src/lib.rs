//! Chinese search over service items and FAQs: jieba word segmentation, item keywords and a
//! synonym table, full pinyin and pinyin initials (`yyzz` finds 营业执照), character bigrams and
//! homophones for one wrong character, ranked name > keywords > materials and descriptions.
//!
//! The index is derived data: it is rebuilt from the database at start-up and by `tongban
//! reindex`. What a hit shows is held in memory beside the searcher it belongs to, so a query
//! reads no stored document and parses no JSON.

mod analysis;
mod fields;
mod index;
mod query;
pub mod routing;
mod synonyms;

pub use index::{FaqHit, IndexInput, ItemHit, SearchIndex};
pub use query::{Filters, SearchKind, SearchRequest, SearchResults};
pub use synonyms::{SynonymError, Synonyms};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("cannot open the search index directory: {0}")]
    Directory(String),
    #[error("search index holds a corrupt document: {0}")]
    Corrupt(String),
}

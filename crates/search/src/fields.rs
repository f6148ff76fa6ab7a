//! The index schema: one document per item or FAQ, with a field per way of matching.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analysis::{BIGRAM, JIEBA};

#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `item` or `faq`.
    pub kind: Field,
    /// Item code, or the FAQ's position.
    pub key: Field,
    /// Catalog order, for listings without a query; also where the hit's summary is held.
    pub position: Field,
    /// Item name or FAQ question.
    pub name: Field,
    pub keywords: Field,
    /// Materials, legal basis, steps, department, FAQ answer.
    pub body: Field,
    /// Whole names and keywords as single lowercase terms, for an exact-phrase bonus.
    pub exact: Field,
    pub pinyin: Field,
    pub initials: Field,
    pub grams: Field,
    pub department: Field,
    pub level: Field,
    pub life_event: Field,
    pub target: Field,
    pub item_type: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Self) {
        let mut b = Schema::builder();
        let text = |analyzer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analyzer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let fields = Self {
            kind: b.add_text_field("kind", STRING),
            key: b.add_text_field("key", STRING),
            position: b.add_u64_field("position", INDEXED | FAST),
            name: b.add_text_field("name", text(JIEBA)),
            keywords: b.add_text_field("keywords", text(JIEBA)),
            body: b.add_text_field("body", text(JIEBA)),
            exact: b.add_text_field("exact", STRING),
            pinyin: b.add_text_field("pinyin", STRING),
            initials: b.add_text_field("initials", STRING),
            grams: b.add_text_field("grams", text(BIGRAM)),
            department: b.add_text_field("department", STRING),
            level: b.add_text_field("level", STRING),
            life_event: b.add_text_field("life_event", STRING),
            target: b.add_text_field("target", STRING),
            item_type: b.add_text_field("item_type", STRING),
        };
        (b.build(), fields)
    }
}

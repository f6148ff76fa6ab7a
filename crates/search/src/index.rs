//! The index itself: building it from the catalog and answering queries.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::schema::Value;
use tantivy::{Index, IndexReader, Order, ReloadPolicy, TantivyDocument};
use tongban_domain::{Faq, ItemCode, ItemSummary, ServiceItem, UnitCode};

use crate::SearchError;
use crate::analysis::{
    BIGRAM, JIEBA, bigram_analyzer, full_pinyin, initials, jieba_analyzer, words,
};
use crate::fields::Fields;
use crate::query::{Filters, SearchKind, SearchRequest, SearchResults, filtered, text_query};
use crate::synonyms::Synonyms;

/// Everything the index is built from.
pub struct IndexInput<'a> {
    pub items: &'a [ServiceItem],
    pub faqs: &'a [Faq],
    /// Display names of units, by code.
    pub unit_names: &'a HashMap<UnitCode, String>,
    pub synonyms: Synonyms,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemHit {
    pub item: ItemSummary,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaqHit {
    pub question: String,
    pub answer: String,
    pub item_code: Option<ItemCode>,
    pub item_name: Option<String>,
    pub department: UnitCode,
    #[serde(skip)]
    pub score: f32,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    synonyms: RwLock<Arc<Synonyms>>,
}

const WRITER_MEMORY: usize = 20_000_000;

impl SearchIndex {
    /// An index kept in memory: for tests and for servers without a data directory.
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = Fields::schema();
        Self::with_index(Index::create_in_ram(schema), fields)
    }

    /// Opens the index in `dir`, creating it (or recreating it, if it was written with another
    /// schema or is damaged: it is derived data).
    pub fn open_in_dir(dir: &Path) -> Result<Self, SearchError> {
        let (schema, fields) = Fields::schema();
        std::fs::create_dir_all(dir)
            .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
        let open = || -> Result<Index, SearchError> {
            let directory = MmapDirectory::open(dir)
                .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
            Ok(Index::open_or_create(directory, schema.clone())?)
        };
        let index = match open() {
            Ok(index) => index,
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "search index unusable, recreating it");
                std::fs::remove_dir_all(dir)
                    .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
                std::fs::create_dir_all(dir)
                    .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
                open()?
            }
        };
        Self::with_index(index, fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Self, SearchError> {
        index.tokenizers().register(JIEBA, jieba_analyzer());
        index.tokenizers().register(BIGRAM, bigram_analyzer()?);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            synonyms: RwLock::new(Arc::new(Synonyms::default())),
        })
    }

    /// Replaces the whole content with `input`, in one commit: searches see the old index
    /// until the new one is complete.
    pub fn rebuild(&self, input: IndexInput<'_>) -> Result<(), SearchError> {
        let f = &self.fields;
        let mut analyzer = jieba_analyzer();
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            self.index.writer_with_num_threads(1, WRITER_MEMORY)?;
        writer.delete_all_documents()?;

        let mut questions: HashMap<&str, Vec<&str>> = HashMap::new();
        for faq in input.faqs {
            if let Some(code) = &faq.item_code {
                questions
                    .entry(code.as_str())
                    .or_default()
                    .push(&faq.question);
            }
        }
        let unit_name = |code: &UnitCode| {
            input
                .unit_names
                .get(code)
                .cloned()
                .unwrap_or_else(|| code.to_string())
        };
        let mut item_names: HashMap<&str, &str> = HashMap::new();

        for (position, item) in input.items.iter().enumerate() {
            item_names.insert(item.code.as_str(), &item.name);
            let mut doc = TantivyDocument::default();
            doc.add_text(f.kind, SearchKind::Items.as_str());
            doc.add_text(f.key, item.code.as_str());
            doc.add_u64(f.position, position as u64);
            doc.add_text(f.name, &item.name);
            doc.add_text(f.keywords, item.keywords.join(" "));
            let dept = unit_name(&item.department);
            let mut body: Vec<&str> = vec![&item.legal_basis, &dept, item.item_type.as_str()];
            body.extend(item.materials.iter().map(|m| m.name.as_str()));
            body.extend(item.steps.iter().map(String::as_str));
            body.extend(item.life_events.iter().map(|e| e.as_str()));
            if let Some(qs) = questions.get(item.code.as_str()) {
                body.extend(qs.iter().copied());
            }
            doc.add_text(f.body, body.join("\n"));
            let phrases: Vec<&str> = std::iter::once(item.name.as_str())
                .chain(item.keywords.iter().map(String::as_str))
                .collect();
            add_phrases(&mut doc, f, &mut analyzer, &phrases);
            doc.add_text(f.grams, phrases.join(" "));
            doc.add_text(f.department, item.department.as_str());
            doc.add_text(f.level, item.level.as_str());
            for e in &item.life_events {
                doc.add_text(f.life_event, e.as_str());
            }
            for t in &item.target {
                doc.add_text(f.target, t.as_str());
            }
            doc.add_text(f.item_type, item.item_type.as_str());
            let summary = serde_json::to_string(&item.summary(&dept))
                .map_err(|e| SearchError::Corrupt(e.to_string()))?;
            doc.add_text(f.summary, summary);
            writer.add_document(doc)?;
        }

        for (position, faq) in input.faqs.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(f.kind, SearchKind::Faqs.as_str());
            doc.add_text(f.key, position.to_string());
            doc.add_u64(f.position, position as u64);
            doc.add_text(f.name, &faq.question);
            doc.add_text(f.body, &faq.answer);
            add_phrases(&mut doc, f, &mut analyzer, &[faq.question.as_str()]);
            doc.add_text(f.grams, &faq.question);
            doc.add_text(f.department, faq.department.as_str());
            let hit = FaqHit {
                question: faq.question.clone(),
                answer: faq.answer.clone(),
                item_code: faq.item_code.clone(),
                item_name: faq
                    .item_code
                    .as_ref()
                    .and_then(|c| item_names.get(c.as_str()).map(|n| (*n).to_owned())),
                department: faq.department.clone(),
                score: 0.0,
            };
            let summary =
                serde_json::to_string(&hit).map_err(|e| SearchError::Corrupt(e.to_string()))?;
            doc.add_text(f.summary, summary);
            writer.add_document(doc)?;
        }

        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        if let Ok(mut s) = self.synonyms.write() {
            *s = Arc::new(input.synonyms);
        }
        Ok(())
    }

    /// How many documents of each kind the current reader sees.
    pub fn document_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn synonyms(&self) -> Arc<Synonyms> {
        self.synonyms
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_default()
    }

    pub fn search_items(&self, req: &SearchRequest) -> Result<SearchResults<ItemHit>, SearchError> {
        let hits = self.run(
            SearchKind::Items,
            &req.text,
            &req.filters,
            req.limit,
            req.offset,
        )?;
        Ok(SearchResults {
            total: hits.total,
            hits: hits
                .hits
                .into_iter()
                .map(|(score, json)| {
                    serde_json::from_str(&json)
                        .map(|item| ItemHit { item, score })
                        .map_err(|e| SearchError::Corrupt(e.to_string()))
                })
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn search_faqs(
        &self,
        text: &str,
        filters: &Filters,
        limit: usize,
    ) -> Result<SearchResults<FaqHit>, SearchError> {
        let hits = self.run(SearchKind::Faqs, text, filters, limit, 0)?;
        Ok(SearchResults {
            total: hits.total,
            hits: hits
                .hits
                .into_iter()
                .map(|(score, json)| {
                    serde_json::from_str::<FaqHit>(&json)
                        .map(|hit| FaqHit { score, ..hit })
                        .map_err(|e| SearchError::Corrupt(e.to_string()))
                })
                .collect::<Result<_, _>>()?,
        })
    }

    fn run(
        &self,
        kind: SearchKind,
        text: &str,
        filters: &Filters,
        limit: usize,
        offset: usize,
    ) -> Result<SearchResults<(f32, String)>, SearchError> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let mut analyzer = jieba_analyzer();
        let scoring = text_query(f, &mut analyzer, &self.synonyms(), text);
        let ranked = scoring.is_some();
        let query = filtered(f, kind, filters, scoring);
        let limit = limit.max(1);
        let (total, addresses): (usize, Vec<(f32, tantivy::DocAddress)>) = if ranked {
            searcher.search(
                &query,
                &(
                    Count,
                    TopDocs::with_limit(limit)
                        .and_offset(offset)
                        .order_by_score(),
                ),
            )?
        } else {
            let (total, docs) = searcher.search(
                &query,
                &(
                    Count,
                    TopDocs::with_limit(limit)
                        .and_offset(offset)
                        .order_by_fast_field::<u64>("position", Order::Asc),
                ),
            )?;
            (total, docs.into_iter().map(|(_, a)| (0.0, a)).collect())
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            let json = doc
                .get_first(f.summary)
                .and_then(|v| v.as_str())
                .ok_or_else(|| SearchError::Corrupt("document without summary".into()))?;
            hits.push((score, json.to_owned()));
        }
        Ok(SearchResults { total, hits })
    }
}

/// Exact, pinyin and initials terms for whole phrases and for each of their words.
fn add_phrases(
    doc: &mut TantivyDocument,
    f: &Fields,
    analyzer: &mut tantivy::tokenizer::TextAnalyzer,
    phrases: &[&str],
) {
    let mut seen = std::collections::HashSet::new();
    for phrase in phrases {
        let lower = phrase.to_lowercase();
        doc.add_text(f.exact, lower.split_whitespace().collect::<String>());
        let mut parts = words(analyzer, &lower);
        parts.push(lower);
        for part in parts {
            if !seen.insert(part.clone()) {
                continue;
            }
            let py = full_pinyin(&part);
            if !py.is_empty() {
                doc.add_text(f.pinyin, py);
            }
            let ini = initials(&part);
            if ini.len() >= 2 {
                doc.add_text(f.initials, ini);
            }
        }
    }
}

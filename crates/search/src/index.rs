//! The index itself: building it from the catalog and answering queries.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::{DocAddress, Index, IndexReader, Order, ReloadPolicy, Searcher, TantivyDocument};
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
    pub items: &'a [&'a ServiceItem],
    /// What a result list shows of each item, in the order of `items`.
    pub summaries: &'a [ItemSummary],
    pub faqs: &'a [Faq],
    pub synonyms: Synonyms,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemHit {
    pub item: ItemSummary,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaqHit {
    pub question: String,
    pub answer: String,
    pub item_code: Option<ItemCode>,
    pub item_name: Option<String>,
    pub department: UnitCode,
    pub score: f32,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    current: RwLock<Arc<Generation>>,
}

/// One committed build: the searcher over it and, by each document's position, what its hits
/// show. Swapped whole, so a query never pairs a searcher with another build's summaries.
struct Generation {
    searcher: Searcher,
    items: Vec<ItemSummary>,
    faqs: Vec<FaqHit>,
    synonyms: Arc<Synonyms>,
    /// Pages already computed on this build. Residents ask the same few things (营业执照, 社保,
    /// 低保) over and over, and a build never changes, so a page is computed once per build.
    pages: Mutex<HashMap<PageKey, Arc<Page>>>,
}

/// Enough distinct queries for a county's daily traffic; when full, the cache starts over.
const CACHED_PAGES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    kind: SearchKind,
    text: String,
    filters: Filters,
    limit: usize,
    offset: usize,
}

/// Scores and catalog positions of one page of hits.
type Page = SearchResults<(f32, usize)>;

impl Generation {
    fn new(
        searcher: Searcher,
        items: Vec<ItemSummary>,
        faqs: Vec<FaqHit>,
        synonyms: Arc<Synonyms>,
    ) -> Self {
        Self {
            searcher,
            items,
            faqs,
            synonyms,
            pages: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, key: &PageKey) -> Option<Arc<Page>> {
        self.pages.lock().ok()?.get(key).cloned()
    }

    fn remember(&self, key: PageKey, page: Arc<Page>) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= CACHED_PAGES {
                pages.clear();
            }
            pages.insert(key, page);
        }
    }
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
            // Reloaded by `rebuild` itself, together with the summaries of the new build.
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        // Until the first rebuild, a searcher over whatever is on disk has no summaries: its
        // hits are dropped, and the server rebuilds before it listens.
        let current = RwLock::new(Arc::new(Generation::new(
            reader.searcher(),
            Vec::new(),
            Vec::new(),
            Arc::new(Synonyms::default()),
        )));
        Ok(Self {
            index,
            reader,
            fields,
            current,
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
        if input.items.len() != input.summaries.len() {
            return Err(SearchError::Corrupt(format!(
                "{} items but {} summaries",
                input.items.len(),
                input.summaries.len()
            )));
        }
        let mut item_names: HashMap<&str, &str> = HashMap::new();

        for (position, (item, summary)) in input.items.iter().zip(input.summaries).enumerate() {
            item_names.insert(item.code.as_str(), &item.name);
            let mut doc = TantivyDocument::default();
            doc.add_text(f.kind, SearchKind::Items.as_str());
            doc.add_text(f.key, item.code.as_str());
            doc.add_u64(f.position, position as u64);
            doc.add_text(f.name, &item.name);
            doc.add_text(f.keywords, item.keywords.join(" "));
            let mut body: Vec<&str> = vec![
                &item.legal_basis,
                &summary.department_name,
                item.item_type.as_str(),
            ];
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
            writer.add_document(doc)?;
        }

        let mut faq_hits = Vec::with_capacity(input.faqs.len());
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
            faq_hits.push(FaqHit {
                question: faq.question.clone(),
                answer: faq.answer.clone(),
                item_code: faq.item_code.clone(),
                item_name: faq
                    .item_code
                    .as_ref()
                    .and_then(|c| item_names.get(c.as_str()).map(|n| (*n).to_owned())),
                department: faq.department.clone(),
                score: 0.0,
            });
            writer.add_document(doc)?;
        }

        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        let generation = Arc::new(Generation::new(
            self.reader.searcher(),
            input.summaries.to_vec(),
            faq_hits,
            Arc::new(input.synonyms),
        ));
        if let Ok(mut current) = self.current.write() {
            *current = generation;
        }
        Ok(())
    }

    /// How many documents the current build holds.
    pub fn document_count(&self) -> u64 {
        self.generation().searcher.num_docs()
    }

    fn generation(&self) -> Arc<Generation> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn search_items(&self, req: &SearchRequest) -> Result<SearchResults<ItemHit>, SearchError> {
        let generation = self.generation();
        let found = self.run(
            &generation,
            SearchKind::Items,
            &req.text,
            &req.filters,
            req.limit,
            req.offset,
        )?;
        Ok(SearchResults {
            total: found.total,
            hits: found
                .hits
                .iter()
                .filter_map(|&(score, position)| {
                    let item = generation.items.get(position)?.clone();
                    Some(ItemHit { item, score })
                })
                .collect(),
        })
    }

    pub fn search_faqs(
        &self,
        text: &str,
        filters: &Filters,
        limit: usize,
    ) -> Result<SearchResults<FaqHit>, SearchError> {
        let generation = self.generation();
        let found = self.run(&generation, SearchKind::Faqs, text, filters, limit, 0)?;
        Ok(SearchResults {
            total: found.total,
            hits: found
                .hits
                .iter()
                .filter_map(|&(score, position)| {
                    let hit = generation.faqs.get(position)?;
                    Some(FaqHit {
                        score,
                        ..hit.clone()
                    })
                })
                .collect(),
        })
    }

    /// One page of hits, from the build's cache when it was asked before.
    fn run(
        &self,
        generation: &Generation,
        kind: SearchKind,
        text: &str,
        filters: &Filters,
        limit: usize,
        offset: usize,
    ) -> Result<Arc<Page>, SearchError> {
        let key = PageKey {
            kind,
            text: text.to_owned(),
            filters: filters.clone(),
            limit,
            offset,
        };
        if let Some(page) = generation.cached(&key) {
            return Ok(page);
        }
        let page = Arc::new(self.compute(generation, &key)?);
        generation.remember(key, Arc::clone(&page));
        Ok(page)
    }

    fn compute(&self, generation: &Generation, key: &PageKey) -> Result<Page, SearchError> {
        let f = &self.fields;
        let searcher = &generation.searcher;
        let mut analyzer = jieba_analyzer();
        let scoring = text_query(f, &mut analyzer, &generation.synonyms, &key.text);
        let ranked = scoring.is_some();
        let query = filtered(f, key.kind, &key.filters, scoring);
        let page = TopDocs::with_limit(key.limit.max(1)).and_offset(key.offset);
        let (total, hits) = if ranked {
            let (total, ranked): (usize, Vec<(f32, DocAddress)>) =
                searcher.search(&query, &(Count, page.order_by_score()))?;
            let mut hits = Vec::with_capacity(ranked.len());
            for (score, address) in ranked {
                hits.push((score, position_of(searcher, address)?));
            }
            (total, hits)
        } else {
            let (total, listed): (usize, Vec<(Option<u64>, DocAddress)>) = searcher.search(
                &query,
                &(
                    Count,
                    page.order_by_fast_field::<u64>("position", Order::Asc),
                ),
            )?;
            let hits = listed
                .into_iter()
                .filter_map(|(position, _)| Some((0.0, usize::try_from(position?).ok()?)))
                .collect();
            (total, hits)
        };
        Ok(SearchResults { total, hits })
    }
}

/// The catalog position of a document, from its fast field.
fn position_of(searcher: &Searcher, address: DocAddress) -> Result<usize, SearchError> {
    let column = searcher
        .segment_reader(address.segment_ord)
        .fast_fields()
        .u64("position")?;
    column
        .first(address.doc_id)
        .and_then(|p| usize::try_from(p).ok())
        .ok_or_else(|| SearchError::Corrupt("document without position".into()))
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

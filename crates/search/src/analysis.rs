//! Text analysis shared by indexing and querying, so both cut text the same way.

use pinyin::ToPinyin;
use tantivy::tokenizer::{LowerCaser, NgramTokenizer, RemoveLongFilter, TextAnalyzer, TokenStream};
use tantivy_jieba::JiebaTokenizer;

pub const JIEBA: &str = "zh_jieba";
pub const BIGRAM: &str = "zh_bigram";

pub fn jieba_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::new())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .build()
}

/// Character bigrams: they survive one wrong character in a word of three or more.
pub fn bigram_analyzer() -> tantivy::Result<TextAnalyzer> {
    let grams = NgramTokenizer::new(2, 2, false)?;
    Ok(TextAnalyzer::builder(grams).filter(LowerCaser).build())
}

/// Words of `text` as jieba cuts them (search mode, overlapping), without punctuation.
pub fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = stream.token().text.trim();
        if t.chars().any(char::is_alphanumeric) && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// Full toneless pinyin of the Han characters in `text` (`营业执照` → `yingyezhizhao`); other
/// letters and digits are kept, lowercased. Empty when `text` holds no Han character.
pub fn full_pinyin(text: &str) -> String {
    let mut out = String::new();
    let mut any_han = false;
    for (ch, py) in text.chars().zip(text.to_pinyin()) {
        match py {
            Some(p) => {
                any_han = true;
                out.push_str(p.plain());
            }
            None if ch.is_ascii_alphanumeric() => out.push(ch.to_ascii_lowercase()),
            None => {}
        }
    }
    if any_han { out } else { String::new() }
}

/// Pinyin initials of the Han characters in `text` (`营业执照` → `yyzz`).
pub fn initials(text: &str) -> String {
    let mut out = String::new();
    let mut any_han = false;
    for (ch, py) in text.chars().zip(text.to_pinyin()) {
        match py {
            Some(p) => {
                any_han = true;
                out.push_str(p.first_letter());
            }
            None if ch.is_ascii_alphanumeric() => out.push(ch.to_ascii_lowercase()),
            None => {}
        }
    }
    if any_han { out } else { String::new() }
}

/// Words that say what the person wants to do rather than what about ("怎么办理…需要什么材料").
/// They are dropped from a query when it has other words, so they neither rank nor count as a
/// match on their own.
pub const INTENT_WORDS: &[&str] = &[
    "怎么",
    "怎样",
    "如何",
    "咋",
    "咋办",
    "怎么办",
    "办理",
    "办",
    "申请",
    "需要",
    "什么",
    "哪里",
    "哪儿",
    "在哪",
    "去",
    "要",
    "想",
    "我",
    "俺",
    "我们",
    "的",
    "了",
    "吗",
    "呢",
    "啊",
    "吧",
    "可以",
    "能",
    "能不能",
    "多久",
    "多长时间",
    "多少",
    "钱",
    "时间",
    "流程",
    "手续",
    "材料",
    "哪些",
    "带",
    "有",
    "是",
    "请问",
    "你好",
    "一下",
    "给",
    "和",
    "跟",
    "在",
    "到",
    "个",
    "这个",
    "那个",
    "还",
    "都",
    "就",
    "又",
    "需",
    "该",
    "应该",
];

pub fn is_intent_word(w: &str) -> bool {
    INTENT_WORDS.contains(&w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_and_initials_of_a_licence() {
        assert_eq!(full_pinyin("营业执照"), "yingyezhizhao");
        assert_eq!(initials("营业执照"), "yyzz");
        assert_eq!(initials("abc"), "");
    }

    #[test]
    fn jieba_cuts_a_question_into_words_without_punctuation() {
        let mut a = jieba_analyzer();
        let w = words(&mut a, "办营业执照，要带什么？");
        assert!(w.iter().any(|x| x == "营业执照"), "{w:?}");
        assert!(!w.iter().any(|x| x == "，" || x == "？"));
    }
}

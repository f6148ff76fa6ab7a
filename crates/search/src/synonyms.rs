//! Synonym groups (营业执照 / 执照 / 营照 …), read from a plain text file an administrator can edit.

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
    by_word: HashMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("synonyms line {line}: {reason}")]
pub struct SynonymError {
    pub line: usize,
    pub reason: String,
}

impl Synonyms {
    /// One group a line, words separated by commas (ASCII or full-width); `#` starts a comment.
    pub fn parse(text: &str) -> Result<Self, Vec<SynonymError>> {
        let mut out = Self::default();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<String> = line
                .split([',', '，'])
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect();
            if words.len() < 2 {
                errors.push(SynonymError {
                    line: i + 1,
                    reason: "a group needs at least two words".into(),
                });
                continue;
            }
            let group = out.groups.len();
            for w in &words {
                if out.by_word.insert(w.clone(), group).is_some() {
                    errors.push(SynonymError {
                        line: i + 1,
                        reason: format!("`{w}` is already in another group"),
                    });
                }
            }
            out.groups.push(words);
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The other words of the group `word` belongs to.
    pub fn of(&self, word: &str) -> impl Iterator<Item = &str> {
        let group = self
            .by_word
            .get(word)
            .map(|g| self.groups[*g].as_slice())
            .unwrap_or(&[]);
        group.iter().map(String::as_str).filter(move |w| *w != word)
    }

    /// Every group word found inside `text`, longest first (for queries jieba cuts differently).
    pub fn contained_in<'a>(&'a self, text: &'a str) -> impl Iterator<Item = &'a str> {
        self.by_word
            .keys()
            .map(String::as_str)
            .filter(move |w| w.chars().count() >= 2 && text.contains(*w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_finds_the_rest_of_its_group() {
        let s = Synonyms::parse("营业执照,执照，营照\n# comment\n").unwrap_or_default();
        let mut others: Vec<&str> = s.of("执照").collect();
        others.sort_unstable();
        assert_eq!(others, vec!["营业执照", "营照"]);
    }

    #[test]
    fn a_word_in_two_groups_is_reported_with_its_line() {
        let errors = Synonyms::parse("甲,乙\n乙,丙").err().unwrap_or_default();
        assert_eq!(errors[0].line, 2);
    }
}

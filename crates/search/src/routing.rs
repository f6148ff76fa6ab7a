//! Routing suggestions for requests: which units should handle a resident's words, with a score
//! and a reason the dispatcher can check.
//!
//! A complement naive Bayes model (Rennie et al. 2003, the variant that holds up on small,
//! uneven classes) over TF-IDF weighted Han characters and character pairs. It learns from
//! past dispatches (accepted ones count for the unit, returned ones against it) and from every
//! unit's duties text, so a unit nobody has dispatched to yet is still found by what it is for.
//! Character pairs need no word list, and survive the dialect words and wrong characters
//! residents write (俺、咋、反应/反映). Village matters are learned as one class, "the township
//! office of the place", because the same kind of matter goes to whichever township the
//! request comes from. Keyword rules that administrators add are applied on top.
//!
//! Everything is in memory; a model of a few thousand requests trains in milliseconds.

use std::collections::HashMap;

/// The class standing for "the township office where the request comes from".
pub const TOWNSHIP: &str = "@township";
/// How many past requests a unit's duties text is worth.
const DUTIES_WEIGHT: usize = 10;
/// A returned dispatch counts this much against the unit it was sent to.
const RETURNED_WEIGHT: f64 = -0.5;
/// Complement counts' smoothing.
const ALPHA: f64 = 1.0;
/// Added to a class's score when a keyword rule names it (scores differ by tenths).
const RULE_BOOST: f64 = 10.0;
/// Turns score differences into confidences; chosen so that a clear winner shows above 0.8
/// and two close units show as close.
const TEMPERATURE: f64 = 0.05;

/// A unit as the router sees it.
#[derive(Debug, Clone)]
pub struct UnitProfile {
    pub code: String,
    pub name: String,
    pub duties: String,
    /// A township government (village matters go to one of these).
    pub township: bool,
}

/// One past dispatch.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub text: String,
    pub township: Option<String>,
    pub unit: String,
    /// Accepted (signed for) or returned by the unit.
    pub accepted: bool,
}

/// "Requests containing `keyword` go to `unit`" (a unit code or [`TOWNSHIP`]).
#[derive(Debug, Clone)]
pub struct KeywordRule {
    pub keyword: String,
    pub unit: String,
}

/// Why a unit is suggested.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Words of the request that past requests for this unit, or its duties, share.
    Words(Vec<String>),
    /// A keyword rule matched.
    Rule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub unit: String,
    /// 0–1: the model's confidence, summing to 1 over all units.
    pub score: f64,
    /// Whether this is the township office standing in for the village (the class
    /// [`TOWNSHIP`] resolved to the request's township).
    pub as_township: bool,
    pub reason: Reason,
}

/// A trained router.
#[derive(Debug, Clone, Default)]
pub struct Router {
    /// Feature → column.
    vocabulary: HashMap<String, usize>,
    idf: Vec<f64>,
    classes: Vec<String>,
    /// Per class, per column: the weight of the feature for the class.
    weights: Vec<Vec<f64>>,
    /// Per class, per column: how much of the feature the class's own documents hold (for
    /// reasons).
    own: Vec<Vec<f64>>,
    rules: Vec<KeywordRule>,
}

/// The features of a text: its Han characters and the pairs of consecutive ones.
pub fn features(text: &str) -> Vec<String> {
    let han: Vec<char> = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .collect();
    let mut out: Vec<String> = han.iter().map(char::to_string).collect();
    out.extend(han.windows(2).map(|w| format!("{}{}", w[0], w[1])));
    out
}

fn class_of(d: &Dispatch) -> String {
    if d.township.as_deref() == Some(d.unit.as_str()) {
        TOWNSHIP.to_owned()
    } else {
        d.unit.clone()
    }
}

/// A sparse TF-IDF vector: sublinear term frequency, L2-normalised.
fn tfidf(feats: &[String], vocabulary: &HashMap<String, usize>, idf: &[f64]) -> Vec<(usize, f64)> {
    let mut tf: HashMap<usize, f64> = HashMap::new();
    for f in feats {
        if let Some(&i) = vocabulary.get(f) {
            *tf.entry(i).or_insert(0.0) += 1.0;
        }
    }
    let mut v: Vec<(usize, f64)> = tf
        .into_iter()
        .map(|(i, n)| (i, (1.0 + n.ln()) * idf[i]))
        .collect();
    let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v.sort_by_key(|(i, _)| *i);
    v
}

impl Router {
    pub fn train(units: &[UnitProfile], history: &[Dispatch], rules: &[KeywordRule]) -> Self {
        // The training documents: duties (worth several requests each) and past dispatches.
        let mut docs: Vec<(String, Vec<String>, f64)> = Vec::new();
        let township_duties: Vec<&UnitProfile> = units.iter().filter(|u| u.township).collect();
        for u in units.iter().filter(|u| !u.township) {
            let f = features(&format!("{} {}", u.name, u.duties));
            for _ in 0..DUTIES_WEIGHT {
                docs.push((u.code.clone(), f.clone(), 1.0));
            }
        }
        if let Some(t) = township_duties.first() {
            // Township offices share their duties; one stands for all.
            let f = features(&t.duties);
            for _ in 0..DUTIES_WEIGHT {
                docs.push((TOWNSHIP.to_owned(), f.clone(), 1.0));
            }
        }
        for d in history {
            let weight = if d.accepted { 1.0 } else { RETURNED_WEIGHT };
            docs.push((class_of(d), features(&d.text), weight));
        }

        let mut vocabulary: HashMap<String, usize> = HashMap::new();
        let mut df: Vec<f64> = Vec::new();
        for (_, f, _) in &docs {
            let mut seen: Vec<usize> = Vec::new();
            for x in f {
                let next = vocabulary.len();
                let i = *vocabulary.entry(x.clone()).or_insert(next);
                if i == df.len() {
                    df.push(0.0);
                }
                if !seen.contains(&i) {
                    seen.push(i);
                    df[i] += 1.0;
                }
            }
        }
        let n = docs.len() as f64;
        let idf: Vec<f64> = df
            .iter()
            .map(|d| ((1.0 + n) / (1.0 + d)).ln() + 1.0)
            .collect();

        let mut classes: Vec<String> = docs.iter().map(|(c, _, _)| c.clone()).collect();
        classes.sort();
        classes.dedup();
        let index: HashMap<&str, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let v = vocabulary.len();
        let mut own = vec![vec![0.0; v]; classes.len()];
        for (class, f, weight) in &docs {
            let row = &mut own[index[class.as_str()]];
            for (i, x) in tfidf(f, &vocabulary, &idf) {
                row[i] = (row[i] + weight * x).max(0.0);
            }
        }
        let all: Vec<f64> = (0..v).map(|i| own.iter().map(|r| r[i]).sum()).collect();
        // Complement naive Bayes: a class's weight for a feature is minus the log of how much
        // of it every *other* class holds.
        let weights = own
            .iter()
            .map(|row| {
                let complement: Vec<f64> = (0..v).map(|i| all[i] - row[i] + ALPHA).collect();
                let total: f64 = complement.iter().sum();
                complement.iter().map(|c| -(c / total).ln()).collect()
            })
            .collect();
        Router {
            vocabulary,
            idf,
            classes,
            weights,
            own,
            rules: rules.to_vec(),
        }
    }

    /// Units that know a request about `text` (from `township`, if known), best first.
    pub fn suggest(&self, text: &str, township: Option<&str>, n: usize) -> Vec<Suggestion> {
        let feats = features(text);
        let x = tfidf(&feats, &self.vocabulary, &self.idf);
        let mut scored: Vec<(usize, f64)> = self
            .classes
            .iter()
            .enumerate()
            .filter(|(_, name)| name.as_str() != TOWNSHIP || township.is_some())
            .map(|(c, name)| {
                let score: f64 = x.iter().map(|(i, v)| v * self.weights[c][*i]).sum();
                let boost = if self.rule_for(text, name).is_some() {
                    RULE_BOOST
                } else {
                    0.0
                };
                (c, score + boost)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = scored.first().map_or(0.0, |s| s.1);
        let norm: f64 = scored
            .iter()
            .map(|s| ((s.1 - best) / TEMPERATURE).exp())
            .sum();
        scored
            .into_iter()
            .take(n)
            .map(|(c, score)| {
                let class = &self.classes[c];
                let reason = match self.rule_for(text, class) {
                    Some(k) => Reason::Rule(k.to_owned()),
                    None => Reason::Words(self.telling_words(c, &feats)),
                };
                let as_township = class == TOWNSHIP;
                Suggestion {
                    unit: if as_township {
                        township.unwrap_or_default().to_owned()
                    } else {
                        class.clone()
                    },
                    score: ((score - best) / TEMPERATURE).exp() / norm,
                    as_township,
                    reason,
                }
            })
            .collect()
    }

    fn rule_for(&self, text: &str, class: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.unit == class && !r.keyword.is_empty() && text.contains(&r.keyword))
            .map(|r| r.keyword.as_str())
    }

    /// The request's character pairs that speak most for class `c`: a large share of what the
    /// class holds, a small share of what the others hold.
    fn telling_words(&self, c: usize, feats: &[String]) -> Vec<String> {
        let mut lifts: Vec<(f64, &String)> = feats
            .iter()
            .filter(|f| f.chars().count() >= 2)
            .filter_map(|f| {
                let i = *self.vocabulary.get(f)?;
                let here = self.own[c][i];
                let everywhere: f64 = self.own.iter().map(|r| r[i]).sum();
                (here > 0.0).then(|| (here * here / everywhere, f))
            })
            .collect();
        lifts.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut out: Vec<String> = Vec::new();
        for (_, w) in lifts {
            if !out.contains(w) {
                out.push(w.clone());
            }
            if out.len() == 3 {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPARTMENTS: &str = include_str!("../../app/demo/qinghe/departments.csv");
    const DIVISIONS: &str = include_str!("../../app/demo/qinghe/divisions.csv");
    const REQUESTS: &str = include_str!("../../app/demo/qinghe/requests.csv");

    /// Splits a CSV line with quoted fields.
    fn fields(line: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(String::new()),
                _ => out.last_mut().map_or((), |s| s.push(c)),
            }
        }
        out
    }

    fn units() -> Vec<UnitProfile> {
        let mut out: Vec<UnitProfile> = DEPARTMENTS
            .lines()
            .skip(1)
            .map(fields)
            .map(|f| UnitProfile {
                code: f[0].clone(),
                name: f[1].clone(),
                duties: f[4].clone(),
                township: false,
            })
            .collect();
        out.extend(DIVISIONS.lines().skip(1).map(fields).filter(|f| f[2] == "township").map(|f| {
            UnitProfile {
                code: f[0].clone(),
                name: format!("{}人民政府", f[1]),
                duties: "村庄道路、路灯、坑塘、秸秆焚烧、人居环境整治、村务公开、邻里纠纷调解、宅基地、土地承包、农村低保初审等村级和乡镇事务".into(),
                township: true,
            }
        }));
        out
    }

    fn labelled() -> Vec<(Dispatch, Option<String>)> {
        REQUESTS
            .lines()
            .skip(1)
            .map(fields)
            .map(|f| {
                let township = Some(f[3].clone()).filter(|t| !t.is_empty());
                (
                    Dispatch {
                        text: f[2].clone(),
                        township: township.clone(),
                        unit: f[5].clone(),
                        accepted: true,
                    },
                    township,
                )
            })
            .collect()
    }

    /// Top-1 and top-3 accuracy in 5-fold cross-validation: each request is predicted by a
    /// model trained on the other four fifths, never on itself.
    fn held_out_accuracy() -> (f64, f64, usize) {
        let all = labelled();
        let (mut top1, mut top3) = (0, 0);
        for fold in 0..5 {
            let train: Vec<Dispatch> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 != fold)
                .map(|(_, r)| r.0.clone())
                .collect();
            let router = Router::train(&units(), &train, &[]);
            for (d, township) in all
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 == fold)
                .map(|(_, r)| r)
            {
                let s = router.suggest(&d.text, township.as_deref(), 3);
                if s.first().is_some_and(|x| x.unit == d.unit) {
                    top1 += 1;
                }
                if s.iter().any(|x| x.unit == d.unit) {
                    top3 += 1;
                }
            }
        }
        let n = all.len();
        (top1 as f64 / n as f64, top3 as f64 / n as f64, n)
    }

    #[test]
    fn routing_accuracy_on_held_back_requests_does_not_drop() {
        let (top1, top3, n) = held_out_accuracy();
        eprintln!(
            "routing, 5-fold cross-validation over {n} labelled requests: top-1 {top1:.3}, top-3 {top3:.3}"
        );
        assert_eq!(n, 409);
        assert!(top1 >= 0.60, "top-1 {top1:.3}");
        assert!(top3 >= 0.85, "top-3 {top3:.3}");
    }

    #[test]
    fn a_unit_nobody_dispatched_to_is_found_by_its_duties() {
        let router = Router::train(&units(), &[], &[]);
        let s = router.suggest("俺家电表跳闸了，整个村都停电了", Some("130534101000"), 3);
        assert_eq!(s[0].unit, "130534-GDGS", "{s:?}");
        assert!(s.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn village_matters_go_to_the_township_of_the_place_and_rules_win() {
        let history: Vec<Dispatch> = labelled().into_iter().map(|(d, _)| d).collect();
        let router = Router::train(&units(), &history, &[]);
        let s = router.suggest(
            "村里的路灯坏了好几个月，晚上黑咕隆咚的没人管",
            Some("130534102000"),
            3,
        );
        assert_eq!(
            (s[0].unit.as_str(), s[0].as_township),
            ("130534102000", true),
            "{s:?}"
        );
        let nowhere = router.suggest("村里的路灯坏了好几个月，晚上黑咕隆咚的没人管", None, 3);
        assert!(nowhere.iter().all(|x| !x.as_township && !x.unit.is_empty()));
        let rule = KeywordRule {
            keyword: "燃气".into(),
            unit: "130534-ZJJ".into(),
        };
        let ruled = Router::train(&units(), &history, &[rule]);
        let s = ruled.suggest("小区燃气管道有味道", Some("130534100000"), 3);
        assert_eq!(s[0].unit, "130534-ZJJ");
        assert_eq!(s[0].reason, Reason::Rule("燃气".into()));
    }

    #[test]
    fn returned_dispatches_count_against_their_unit() {
        let text = "小区门口的流浪狗越来越多，晚上追着人咬";
        let sent = |unit: &str, accepted: bool| Dispatch {
            text: text.into(),
            township: None,
            unit: unit.into(),
            accepted,
        };
        let history = vec![
            sent("130534-GAJ", true),
            sent("130534-GAJ", false),
            sent("130534-GAJ", false),
            sent("130534-CGJ", true),
        ];
        let router = Router::train(&units(), &history, &[]);
        let s = router.suggest(text, None, 2);
        assert_eq!(s[0].unit, "130534-CGJ", "{s:?}");
    }
}

//! Vectors: tokenize templates with a tantivy analyzer and weight tokens with TF-IDF.
//!
//! Owns: [`VectorizeConfig`], the tantivy text-analyzer pipeline ([`Analyzer`]: simple
//! tokenizer, length filter, lowercaser, optional stop words, optional English stemmer),
//! sublinear-tf TF-IDF ([`TfIdf`]) with L2-normalised sparse rows ([`SparseVec`]), and a
//! deterministic sign random projection ([`Projection`]) to a few dozen dense dimensions, for
//! HDBSCAN's Euclidean path (`patterns.distances: projected`) and for the exemplar cover. The
//! sparse rows stay the source of truth: `cluster` computes exact cosines from them.
//!
//! Invariants: a row with at least one token has unit L2 norm (so a dot product is a cosine
//! similarity); the projection of such a row has unit norm too (so Euclidean distance is a
//! monotone function of the projected cosine); the vocabulary is sorted, so the same templates
//! give the same model whatever their order. Variable slots (`<*>`) carry no alphanumeric
//! character and produce no token.
//!
//! Sits between `parse` (which yields templates) and `cluster` (which groups them). Pure: no
//! I/O.

use crate::validate::Problems;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};

/// Tokenizing and weighting settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VectorizeConfig {
    /// Dense dimensions after the random projection that HDBSCAN clusters (8-256). HDBSCAN's
    /// cost grows linearly with it; below ~32 unrelated templates start to look alike.
    pub dims: usize,
    /// Reduce English words to their stem (`failed`, `failing` → `fail`).
    pub stemmer: bool,
    /// Tokens shorter than this many characters are dropped (1-16).
    pub min_token_len: usize,
    /// Tokens of this many bytes or more are dropped (2-255): long tokens are ids or blobs
    /// the masking missed, not words.
    pub max_token_len: usize,
    /// Extra words to drop before weighting (matched after lowercasing, before stemming).
    pub stop_words: Vec<String>,
    /// Seed of the random projection; changing it changes every vector.
    pub seed: u64,
}

fn default_dims() -> usize {
    64
}
fn default_stemmer() -> bool {
    true
}
fn default_min_token_len() -> usize {
    2
}
fn default_max_token_len() -> usize {
    40
}
fn default_seed() -> u64 {
    0x6c6f_6777_6172_6465
}

impl Default for VectorizeConfig {
    fn default() -> Self {
        VectorizeConfig {
            dims: default_dims(),
            stemmer: default_stemmer(),
            min_token_len: default_min_token_len(),
            max_token_len: default_max_token_len(),
            stop_words: Vec::new(),
            seed: default_seed(),
        }
    }
}

impl VectorizeConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(format!("{path}.dims"), self.dims, 8, 256);
        p.range(format!("{path}.min_token_len"), self.min_token_len, 1, 16);
        p.range(format!("{path}.max_token_len"), self.max_token_len, 2, 255);
        if self.min_token_len >= self.max_token_len {
            p.add(
                format!("{path}.min_token_len"),
                format!(
                    "must be smaller than max_token_len ({}), got {}",
                    self.max_token_len, self.min_token_len
                ),
            );
        }
        for (i, w) in self.stop_words.iter().enumerate() {
            if w.trim().is_empty() {
                p.add(format!("{path}.stop_words[{i}]"), "must not be empty");
            }
        }
    }
}

/// The tantivy text-analyzer pipeline that turns a template into tokens.
#[derive(Clone)]
pub struct Analyzer {
    inner: TextAnalyzer,
    min_len: usize,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("min_len", &self.min_len)
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    /// Build the pipeline described by `cfg`.
    pub fn new(cfg: &VectorizeConfig) -> Analyzer {
        let base = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(cfg.max_token_len.max(2)))
            .filter(LowerCaser)
            .filter_dynamic(StopWordFilter::remove(
                cfg.stop_words.iter().map(|w| w.to_lowercase()),
            ));
        let inner = if cfg.stemmer {
            base.filter_dynamic(Stemmer::new(Language::English)).build()
        } else {
            base.build()
        };
        Analyzer {
            inner,
            min_len: cfg.min_token_len.max(1),
        }
    }

    /// Call `sink` with each token of `text`, in order.
    pub fn for_each_token(&mut self, text: &str, mut sink: impl FnMut(&str)) {
        let min_len = self.min_len;
        let mut stream = self.inner.token_stream(text);
        while stream.advance() {
            let t = &stream.token().text;
            if t.chars().count() >= min_len {
                sink(t);
            }
        }
    }

    /// The tokens of `text`, in order.
    pub fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.to_string()));
        out
    }
}

/// A sparse row: term indices (strictly increasing) and their weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Term indices into the vocabulary, strictly increasing.
    pub idx: Vec<u32>,
    /// Weights, one per index.
    pub val: Vec<f32>,
}

impl SparseVec {
    /// Dot product (a cosine similarity when both rows are normalised).
    pub fn dot(&self, other: &SparseVec) -> f32 {
        let (mut i, mut j, mut s) = (0, 0, 0.0f32);
        while i < self.idx.len() && j < other.idx.len() {
            match self.idx[i].cmp(&other.idx[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += self.val[i] * other.val[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    }

    /// L2 norm.
    pub fn norm(&self) -> f32 {
        self.val.iter().map(|v| v * v).sum::<f32>().sqrt()
    }

    /// Whether the row has no term.
    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }
}

/// Term counts of one document: (term index, count), term indices strictly increasing.
pub type TermCounts = Vec<(u32, u32)>;

/// A fitted TF-IDF vocabulary: sorted terms and their inverse document frequencies.
///
/// Weight of a term in a document: `(1 + ln tf) · idf`, with the smooth
/// `idf = ln((1 + N) / (1 + df)) + 1`; rows are L2-normalised.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TfIdf {
    config: VectorizeConfig,
    terms: Vec<String>,
    idf: Vec<f32>,
    docs: u32,
}

impl TfIdf {
    /// Learn the vocabulary from `texts`; returns it with each text's term counts.
    pub fn fit(texts: &[&str], cfg: &VectorizeConfig) -> (TfIdf, Vec<TermCounts>) {
        let mut analyzer = Analyzer::new(cfg);
        let mut interned: HashMap<String, u32> = HashMap::new();
        let mut raw: Vec<Vec<u32>> = Vec::with_capacity(texts.len());
        for text in texts {
            let mut doc = Vec::new();
            analyzer.for_each_token(text, |t| {
                let next = interned.len() as u32;
                let id = match interned.get(t) {
                    Some(&id) => id,
                    None => {
                        interned.insert(t.to_string(), next);
                        next
                    }
                };
                doc.push(id);
            });
            raw.push(doc);
        }
        // Sorted vocabulary: the model must not depend on the order templates arrive in.
        let mut terms: Vec<(String, u32)> = interned.into_iter().collect();
        terms.sort_unstable();
        let mut remap = vec![0u32; terms.len()];
        for (new, (_, old)) in terms.iter().enumerate() {
            remap[*old as usize] = new as u32;
        }
        let mut df = vec![0u32; terms.len()];
        let counts: Vec<TermCounts> = raw
            .into_iter()
            .map(|doc| {
                let mut ids: Vec<u32> = doc.into_iter().map(|i| remap[i as usize]).collect();
                ids.sort_unstable();
                let mut tc: TermCounts = Vec::new();
                for id in ids {
                    match tc.last_mut() {
                        Some((last, c)) if *last == id => *c += 1,
                        _ => {
                            df[id as usize] += 1;
                            tc.push((id, 1));
                        }
                    }
                }
                tc
            })
            .collect();
        let n = texts.len() as f32;
        let idf = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let tfidf = TfIdf {
            config: cfg.clone(),
            terms: terms.into_iter().map(|(t, _)| t).collect(),
            idf,
            docs: texts.len() as u32,
        };
        (tfidf, counts)
    }

    /// The settings the vocabulary was built with.
    pub fn config(&self) -> &VectorizeConfig {
        &self.config
    }

    /// A fresh analyzer with the settings of the fit.
    pub fn analyzer(&self) -> Analyzer {
        Analyzer::new(&self.config)
    }

    /// The vocabulary, sorted.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Index of a term, if known.
    pub fn term_index(&self, term: &str) -> Option<u32> {
        self.terms
            .binary_search_by(|t| t.as_str().cmp(term))
            .ok()
            .map(|i| i as u32)
    }

    /// The idf of a term never seen in the fit (as if its document frequency were 0).
    pub fn unseen_idf(&self) -> f32 {
        (1.0 + self.docs as f32).ln() + 1.0
    }

    /// The normalised row of known term counts.
    pub fn weigh(&self, counts: &[(u32, u32)]) -> SparseVec {
        let mut v = SparseVec {
            idx: Vec::with_capacity(counts.len()),
            val: Vec::with_capacity(counts.len()),
        };
        for &(i, c) in counts {
            let idf = self.idf.get(i as usize).copied().unwrap_or(0.0);
            v.idx.push(i);
            v.val.push(sublinear(c) * idf);
        }
        normalise(&mut v.val, 0.0);
        v
    }

    /// Vectorize a text that may contain terms unknown to the vocabulary. Unknown terms count
    /// in the norm (weighted with [`TfIdf::unseen_idf`]) but are left out of the row, so the
    /// dot product with a known row is the exact cosine similarity.
    pub fn vectorize(&self, analyzer: &mut Analyzer, text: &str) -> SparseVec {
        let mut known: Vec<u32> = Vec::new();
        let mut unknown: HashMap<String, u32> = HashMap::new();
        analyzer.for_each_token(text, |t| match self.term_index(t) {
            Some(i) => known.push(i),
            None => *unknown.entry(t.to_string()).or_default() += 1,
        });
        known.sort_unstable();
        let mut v = SparseVec::default();
        for i in known {
            if v.idx.last() == Some(&i) {
                if let Some(c) = v.val.last_mut() {
                    *c += 1.0;
                }
            } else {
                v.idx.push(i);
                v.val.push(1.0);
            }
        }
        for (k, c) in v.idx.iter().zip(v.val.iter_mut()) {
            *c = sublinear(*c as u32) * self.idf.get(*k as usize).copied().unwrap_or(0.0);
        }
        let unseen = self.unseen_idf();
        // Summed in a fixed order: in the map's, which changes from one map to the next, the
        // norm (and every similarity and outlier score after it) moved in its last bits.
        let mut counts: Vec<u32> = unknown.into_values().collect();
        counts.sort_unstable();
        let extra: f32 = counts
            .iter()
            .map(|&c| (sublinear(c) * unseen).powi(2))
            .sum();
        normalise(&mut v.val, extra);
        v
    }
}

fn sublinear(tf: u32) -> f32 {
    if tf == 0 {
        0.0
    } else {
        1.0 + (tf as f32).ln()
    }
}

/// Divide by the L2 norm of `val` plus `extra_sq` (the squared weights left out of the row).
fn normalise(val: &mut [f32], extra_sq: f32) {
    let n = (val.iter().map(|v| v * v).sum::<f32>() + extra_sq).sqrt();
    if n > 0.0 && n.is_finite() {
        for v in val {
            *v /= n;
        }
    }
}

/// A sign random projection: each term gets a deterministic ±1 code of `dims` signs from a
/// seeded hash of its text, and a row maps to the weighted sum of its terms' codes,
/// normalised. Expected inner products are preserved (Johnson-Lindenstrauss), rows with no
/// shared term stay near-orthogonal.
#[derive(Debug, Clone)]
pub struct Projection {
    dims: usize,
    words: usize,
    codes: Vec<u64>,
}

impl Projection {
    /// Codes for every term of `tfidf`.
    pub fn new(tfidf: &TfIdf) -> Projection {
        let dims = tfidf.config.dims.clamp(1, 4096);
        let words = dims.div_ceil(64);
        let mut codes = Vec::with_capacity(words * tfidf.terms.len());
        for t in &tfidf.terms {
            for w in 0..words {
                codes.push(xxhash_rust::xxh3::xxh3_64_with_seed(
                    t.as_bytes(),
                    tfidf.config.seed.wrapping_add(w as u64),
                ));
            }
        }
        Projection { dims, words, codes }
    }

    /// Number of dense dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Project a row; an empty row gives the zero vector.
    pub fn project(&self, v: &SparseVec) -> Vec<f32> {
        let mut out = vec![0.0f32; self.dims];
        for (&i, &w) in v.idx.iter().zip(&v.val) {
            let base = i as usize * self.words;
            let Some(code) = self.codes.get(base..base + self.words) else {
                continue;
            };
            for (d, o) in out.iter_mut().enumerate() {
                let bit = (code[d / 64] >> (d % 64)) & 1;
                *o += if bit == 1 { w } else { -w };
            }
        }
        normalise(&mut out, 0.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(texts: &[&str]) -> (TfIdf, Vec<TermCounts>) {
        TfIdf::fit(texts, &VectorizeConfig::default())
    }

    #[test]
    fn a_text_with_unknown_terms_gets_the_same_vector_every_time() {
        // The norm adds one term per unknown word: in hash order it changed in the last bits
        // from one call to the next, and a new template's outlier score with it.
        let (tf, _) = fit(&["disk full on volume", "user logged in"]);
        let mut a = Analyzer::new(&VectorizeConfig::default());
        // Eighty made-up words, each a different number of times (1 to 9).
        let syllables = ["ka", "lo", "mi", "nu", "pe", "ro", "su", "ti", "vo"];
        let mut text = String::from("disk full");
        for (i, w) in syllables
            .iter()
            .flat_map(|a| syllables.iter().map(move |b| format!("{a}{b}x")))
            .take(80)
            .enumerate()
        {
            for _ in 0..=i % 9 {
                text.push(' ');
                text.push_str(&w);
            }
        }
        let first = tf.vectorize(&mut a, &text);
        for _ in 0..200 {
            let v = tf.vectorize(&mut a, &text);
            assert_eq!(v.idx, first.idx);
            let bits = |v: &SparseVec| v.val.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&v), bits(&first));
        }
    }

    #[test]
    fn analyzer_drops_variables_lowercases_and_stems() {
        let mut a = Analyzer::new(&VectorizeConfig::default());
        assert_eq!(
            a.tokens("User <*> FAILED logging in from <*>:<*>"),
            vec!["user", "fail", "log", "in", "from"]
        );
    }

    #[test]
    fn analyzer_without_stemmer_keeps_words_and_drops_short_long_and_stop_words() {
        let cfg = VectorizeConfig {
            stemmer: false,
            max_token_len: 10,
            stop_words: vec!["From".into()],
            ..VectorizeConfig::default()
        };
        let mut a = Analyzer::new(&cfg);
        assert_eq!(
            a.tokens("a user failed from abcdefghijklmnop"),
            vec!["user", "failed"]
        );
    }

    #[test]
    fn vocabulary_is_sorted_and_independent_of_order() {
        let (a, ca) = fit(&["disk full on <*>", "user <*> logged in"]);
        let (b, cb) = fit(&["user <*> logged in", "disk full on <*>"]);
        assert_eq!(a.terms(), b.terms());
        assert_eq!(ca[0], cb[1]);
        assert!(a.terms().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn rows_have_unit_norm_and_rare_terms_weigh_more() {
        let texts = [
            "request served in <*> ms",
            "request failed after <*> ms",
            "request served from cache",
        ];
        let (t, counts) = fit(&texts);
        for c in &counts {
            assert!((t.weigh(c).norm() - 1.0).abs() < 1e-5);
        }
        let v = t.weigh(&counts[1]);
        let w = |term: &str| {
            let i = t.term_index(term).unwrap();
            v.val[v.idx.iter().position(|&k| k == i).unwrap()]
        };
        assert!(w("fail") > w("request"));
    }

    #[test]
    fn sublinear_tf_dampens_repeats() {
        let (t, counts) = fit(&["retry retry retry retry connect", "connect ok"]);
        let v = t.weigh(&counts[0]);
        let retry = t.term_index("retri").unwrap();
        let connect = t.term_index("connect").unwrap();
        let get = |i| v.val[v.idx.iter().position(|&k| k == i).unwrap()];
        // (1 + ln 4) · (ln(3/2) + 1) against 1 · (ln(3/3) + 1): not 4x, as raw tf would give.
        let expected = (1.0 + 4f32.ln()) * (1.5f32.ln() + 1.0);
        assert!((get(retry) / get(connect) - expected).abs() < 1e-4);
    }

    #[test]
    fn unknown_terms_lower_the_cosine() {
        let (t, counts) = fit(&["user <*> logged in", "disk full on <*>"]);
        let mut a = t.analyzer();
        let known = t.weigh(&counts[0]);
        let same = t.vectorize(&mut a, "user <*> logged in");
        let variant = t.vectorize(&mut a, "user <*> logged in via sso");
        let unrelated = t.vectorize(&mut a, "kernel panic");
        assert!((same.dot(&known) - 1.0).abs() < 1e-5);
        let v = variant.dot(&known);
        assert!(v > 0.5 && v < 0.95, "{v}");
        assert_eq!(unrelated.dot(&known), 0.0);
        assert!(unrelated.is_empty());
    }

    #[test]
    fn projection_is_unit_norm_and_keeps_similar_rows_close() {
        let texts = [
            "user <*> logged in from <*>",
            "user <*> logged in from <*> via sso",
            "disk full on volume <*>",
            "<*> <*>",
        ];
        let (t, counts) = fit(&texts);
        let p = Projection::new(&t);
        let rows: Vec<Vec<f32>> = counts.iter().map(|c| p.project(&t.weigh(c))).collect();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        for r in &rows[..3] {
            assert!((dot(r, r) - 1.0).abs() < 1e-4);
        }
        assert!(rows[3].iter().all(|&x| x == 0.0));
        assert!(dot(&rows[0], &rows[1]) > dot(&rows[0], &rows[2]) + 0.3);
    }

    #[test]
    fn config_validation_names_the_keys() {
        let cfg = VectorizeConfig {
            dims: 4,
            min_token_len: 50,
            stop_words: vec![" ".into()],
            ..VectorizeConfig::default()
        };
        let mut p = Problems::default();
        cfg.validate("vectorize", &mut p);
        let all = p.0.join("\n");
        assert!(all.contains("`vectorize.dims`"), "{all}");
        assert!(all.contains("`vectorize.min_token_len`"), "{all}");
        assert!(all.contains("`vectorize.stop_words[0]`"), "{all}");
        let mut ok = Problems::default();
        VectorizeConfig::default().validate("vectorize", &mut ok);
        assert!(ok.0.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn rows_and_projections_have_unit_norm_or_are_empty(
            texts in proptest::collection::vec("[a-zA-Z0-9<>* :=_./-]{0,60}", 1..12),
            query in "[a-zA-Z0-9<>* :=_./-]{0,60}",
        ) {
            let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
            let (t, counts) = fit(&refs);
            let p = Projection::new(&t);
            for c in &counts {
                let row = t.weigh(c);
                let dense = p.project(&row);
                let dn = dense.iter().map(|x| x * x).sum::<f32>().sqrt();
                if row.is_empty() {
                    proptest::prop_assert_eq!(dn, 0.0);
                } else {
                    proptest::prop_assert!((row.norm() - 1.0).abs() < 1e-4);
                    proptest::prop_assert!(row.idx.windows(2).all(|w| w[0] < w[1]));
                    // Sign codes can cancel exactly only in contrived cases; never exceed 1.
                    proptest::prop_assert!(dn <= 1.0 + 1e-4);
                }
            }
            let q = t.vectorize(&mut t.analyzer(), &query);
            proptest::prop_assert!(q.norm() <= 1.0 + 1e-4);
            for c in &counts {
                let cos = q.dot(&t.weigh(c));
                proptest::prop_assert!((-1e-4..=1.0 + 1e-4).contains(&cos));
            }
        }
    }

    #[test]
    fn config_rejects_unknown_keys() {
        let r: Result<VectorizeConfig, _> = serde_json::from_str(r#"{"dimz": 3}"#);
        assert!(r.is_err());
        let c: VectorizeConfig = serde_json::from_str(r#"{"dims": 32}"#).unwrap();
        assert_eq!(c.dims, 32);
        assert!(c.stemmer);
    }
}

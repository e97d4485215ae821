//! Patterns: HDBSCAN over template vectors, outlier scores, and assignment of new templates.
//!
//! Owns: [`PatternsConfig`] and the [`PatternModel`]. Templates HDBSCAN leaves as noise, and
//! new templates that fit no pattern, are novelty candidates ranked by an outlier score. Pure.
//!
//! How a fit goes:
//! 1. templates (merged by id, sorted by id so input order does not matter) are vectorized
//!    with TF-IDF ([`crate::vectorize`]);
//! 2. HDBSCAN's minimum spanning tree is O(N²), so at most `sample_size` templates are
//!    clustered: a deterministic sample weighted by `1 + ln(count)` (keys from a hash of the
//!    template id, so the same templates give the same sample). HDBSCAN sees either the exact
//!    chord distances `sqrt(2 − 2·cos)` of the TF-IDF rows as a precomputed matrix (the
//!    default, [`Distances::Exact`]: computed through an inverted index, no projection noise,
//!    and faster than the crate's Euclidean path at 64 dimensions) or the Euclidean distances
//!    of the rows projected to `vectorize.dims` unit-norm dimensions;
//! 3. each cluster gets a stable id (the smallest member template id) and up to `exemplars`
//!    exemplars chosen by a greedy k-center cover, so that every member lies near one of them;
//! 4. each cluster gets a radius `R`: the median distance (cosine distance, exact TF-IDF) of
//!    its sampled members to their nearest *other* exemplar, at least `(1 - s)/2` where `s`
//!    is `assign_min_similarity`;
//! 5. every template gets a score against the pattern it fits best, `d` being its distance
//!    to that pattern's nearest exemplar: 0 up to the radius, 0.5 at twice the radius, then
//!    linearly up to 1 at distance 1 (no term in common with any exemplar) — like GLOSH, a
//!    point's distance measured against its cluster's typical one, but spread over 0-1 so
//!    that a threshold such as 0.9 means "shares almost nothing with any pattern".
//!
//! Known templates are scored leave-one-out (an exemplar against the other exemplars).
//! Templates outside the sample, and new templates in [`PatternModel::assign`], are scored
//! with the radius capped at `3(1 − s)/4` (a loose pattern must not swallow every template
//! that shares a word with it) and join the best pattern when their score is below 0.5:
//! within twice its radius, so always when their similarity to an exemplar reaches `s`,
//! never below `1 − 1.5·(1 − s)`. Otherwise they get no pattern and a score of at least 0.5.
//! Sampled templates keep HDBSCAN's verdict: its noise scores at least 0.5, and a member
//! HDBSCAN attached loosely may score 0.5 or more while keeping its pattern.
//!
//! [`Assignment::similarity`] is the exact TF-IDF cosine to the nearest known template, not a
//! projected one, so the detector can tell a variant of a known message from a new one.

use crate::model::{PatternId, TemplateId};
use crate::validate::Problems;
use crate::vectorize::{Analyzer, Projection, SparseVec, TermCounts, TfIdf, VectorizeConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// HDBSCAN settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatternsConfig {
    /// Smallest number of (sampled) templates that make a pattern (2-10000).
    pub min_cluster_size: usize,
    /// Neighbours that define a template's core distance in HDBSCAN (1-1000); larger is
    /// more conservative (more noise).
    pub min_samples: usize,
    /// Let HDBSCAN return one pattern holding every template when that is the best answer.
    pub allow_single_cluster: bool,
    /// What HDBSCAN measures: `projected` (Euclidean between the projected unit vectors of
    /// `vectorize.dims` dimensions) or `exact` (the exact TF-IDF cosine, as a precomputed
    /// matrix of 4·sample_size² bytes).
    pub distances: Distances,
    /// At most this many templates are clustered by HDBSCAN (50-20000); the others are
    /// assigned to the patterns found. HDBSCAN's cost grows with its square.
    pub sample_size: usize,
    /// Exemplars kept per pattern to assign and score templates (1-256).
    pub exemplars: usize,
    /// Cosine similarity to a pattern's nearest exemplar at which a template always joins
    /// that pattern (0.05-1); loose patterns accept down to `1 − 1.5 · (1 − value)`.
    pub assign_min_similarity: f64,
}

fn default_min_cluster_size() -> usize {
    4
}
fn default_min_samples() -> usize {
    2
}
fn default_sample_size() -> usize {
    2000
}
fn default_exemplars() -> usize {
    16
}
fn default_assign_min_similarity() -> f64 {
    0.7
}

impl Default for PatternsConfig {
    fn default() -> Self {
        PatternsConfig {
            min_cluster_size: default_min_cluster_size(),
            min_samples: default_min_samples(),
            allow_single_cluster: false,
            distances: Distances::default(),
            sample_size: default_sample_size(),
            exemplars: default_exemplars(),
            assign_min_similarity: default_assign_min_similarity(),
        }
    }
}

impl PatternsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.min_cluster_size"),
            self.min_cluster_size,
            2,
            10_000,
        );
        p.range(format!("{path}.min_samples"), self.min_samples, 1, 1000);
        p.range(format!("{path}.sample_size"), self.sample_size, 50, 20_000);
        p.range(format!("{path}.exemplars"), self.exemplars, 1, 256);
        p.range(
            format!("{path}.assign_min_similarity"),
            self.assign_min_similarity,
            0.05,
            1.0,
        );
        if self.distances == Distances::Exact && self.sample_size > 5_000 {
            p.add(
                format!("{path}.sample_size"),
                format!(
                    "must be at most 5000 with `distances: exact` (a matrix of 4·n² bytes), \
                     got {}",
                    self.sample_size
                ),
            );
        }
        if self.min_cluster_size > self.sample_size {
            p.add(
                format!("{path}.min_cluster_size"),
                format!(
                    "must not exceed sample_size ({}), got {}",
                    self.sample_size, self.min_cluster_size
                ),
            );
        }
    }
}

/// How HDBSCAN measures the distance between two templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distances {
    /// Euclidean distance between the projected unit vectors: O(N²·dims).
    Projected,
    /// Chord distance `sqrt(2 − 2·cos)` of the exact TF-IDF rows, precomputed: O(N²) time
    /// and memory, no projection noise. The default: faster than projected at the default
    /// sample size, and more exact.
    #[default]
    Exact,
}

/// Where a template falls among the learned patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The pattern it joins, or `None` when it fits none (a novelty candidate).
    pub pattern: Option<PatternId>,
    /// 0 (typical member) to 1 (far from everything).
    pub outlier_score: f64,
    /// The most similar known template, if any.
    pub nearest: Option<TemplateId>,
    /// Cosine similarity to the nearest known template, 0-1.
    pub similarity: f64,
}

/// A pattern as seen from outside: its id, a representative template and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternSummary {
    /// The pattern id (the smallest template id among the members HDBSCAN clustered).
    pub id: PatternId,
    /// The member nearest the pattern's centre.
    pub representative: TemplateId,
    /// All member templates, sorted by id.
    pub members: Vec<TemplateId>,
}

/// What a fit did, and how long each stage took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitStats {
    /// Distinct templates fitted.
    pub templates: usize,
    /// Terms in the vocabulary.
    pub vocabulary: usize,
    /// Templates clustered by HDBSCAN.
    pub sampled: usize,
    /// Patterns found.
    pub patterns: usize,
    /// Templates left without a pattern.
    pub noise: usize,
    /// Tokenizing, TF-IDF and projection.
    pub vectorize: Duration,
    /// Sampling and HDBSCAN.
    pub hdbscan: Duration,
    /// Exemplars, radii, scores and assignment of the templates outside the sample.
    pub assign: Duration,
    /// The whole fit.
    pub total: Duration,
}

/// One pattern as stored in the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PatternEntry {
    id: PatternId,
    /// Template index of the representative (also the first exemplar).
    representative: u32,
    /// Template indices of the exemplars.
    exemplars: Vec<u32>,
    /// Typical cosine distance of a member to its nearest exemplar (already clamped).
    radius: f32,
}

/// Patterns learned from templates.
///
/// Stored compactly: the TF-IDF vocabulary, each template's id and term counts (its vector is
/// rebuilt from them), its pattern and score, and per pattern its exemplars and radius.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PatternModel {
    tfidf: TfIdf,
    /// Template ids, sorted.
    ids: Vec<TemplateId>,
    /// Term indices per template, sorted, a term repeated as often as it occurs.
    terms: Vec<Vec<u32>>,
    /// Pattern index per template.
    pattern: Vec<Option<u32>>,
    /// Outlier score per template.
    score: Vec<f32>,
    /// Patterns, sorted by id.
    patterns: Vec<PatternEntry>,
    /// Largest cosine distance to an exemplar at which a template may join a pattern.
    max_join_distance: f32,
    /// Rows and inverted indexes, rebuilt on first use after loading.
    #[serde(skip)]
    index: OnceLock<Index>,
    /// The analyzer of the fit, built on first use; cloned per call (cheaper than building).
    #[serde(skip)]
    analyzer: OnceLock<Analyzer>,
}

/// Reusable buffers for [`Index::pattern_sims`], so a fit allocates them once.
#[derive(Debug, Default)]
struct Scratch {
    acc: Vec<f32>,
    seen: Vec<bool>,
    touched: Vec<u32>,
    /// Best similarity per pattern, NaN when unset.
    best: Vec<f32>,
}

/// Search structures derived from the stored model.
#[derive(Debug, Clone, Default)]
struct Index {
    /// Normalised TF-IDF row per template.
    rows: Vec<SparseVec>,
    /// Term → (template index, weight).
    postings: Vec<Vec<(u32, f32)>>,
    /// Term → (exemplar slot, weight).
    exemplar_postings: Vec<Vec<(u32, f32)>>,
    /// Exemplar slot → (pattern index, template index).
    exemplar_owner: Vec<(u32, u32)>,
}

impl Index {
    fn build(tfidf: &TfIdf, terms: &[Vec<u32>], patterns: &[PatternEntry]) -> Index {
        let rows: Vec<SparseVec> = terms.iter().map(|t| tfidf.weigh(&counts(t))).collect();
        let mut postings = vec![Vec::new(); tfidf.len()];
        for (t, row) in rows.iter().enumerate() {
            for (&i, &w) in row.idx.iter().zip(&row.val) {
                if let Some(p) = postings.get_mut(i as usize) {
                    p.push((t as u32, w));
                }
            }
        }
        let mut index = Index {
            rows,
            postings,
            exemplar_postings: vec![Vec::new(); tfidf.len()],
            exemplar_owner: Vec::new(),
        };
        index.set_exemplars(patterns);
        index
    }

    fn set_exemplars(&mut self, patterns: &[PatternEntry]) {
        for p in &mut self.exemplar_postings {
            p.clear();
        }
        self.exemplar_owner.clear();
        for (pi, p) in patterns.iter().enumerate() {
            for &t in &p.exemplars {
                let slot = self.exemplar_owner.len() as u32;
                self.exemplar_owner.push((pi as u32, t));
                let Some(row) = self.rows.get(t as usize) else {
                    continue;
                };
                for (&i, &w) in row.idx.iter().zip(&row.val) {
                    if let Some(p) = self.exemplar_postings.get_mut(i as usize) {
                        p.push((slot, w));
                    }
                }
            }
        }
    }

    /// Best cosine similarity of `row` to each pattern's exemplars, skipping the exemplar
    /// that is template `skip`. Only patterns sharing a term with `row` appear, in order.
    fn pattern_sims(
        &self,
        row: &SparseVec,
        skip: Option<u32>,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let slots = self.exemplar_owner.len();
        if scratch.acc.len() < slots {
            scratch.acc.resize(slots, 0.0);
            scratch.seen.resize(slots, false);
        }
        scratch.touched.clear();
        for (&i, &w) in row.idx.iter().zip(&row.val) {
            for &(slot, ew) in self.exemplar_postings.get(i as usize).into_iter().flatten() {
                let k = slot as usize;
                if k >= slots {
                    continue;
                }
                if !scratch.seen[k] {
                    scratch.seen[k] = true;
                    scratch.touched.push(slot);
                }
                scratch.acc[k] += w * ew;
            }
        }
        let mut out: Vec<(u32, f32)> = Vec::new();
        for &slot in &scratch.touched {
            let k = slot as usize;
            let s = scratch.acc[k];
            scratch.acc[k] = 0.0;
            scratch.seen[k] = false;
            let (p, t) = self.exemplar_owner[k];
            if Some(t) == skip {
                continue;
            }
            let p = p as usize;
            if scratch.best.len() <= p {
                scratch.best.resize(p + 1, f32::NAN);
            }
            if scratch.best[p].is_nan() {
                out.push((p as u32, s));
                scratch.best[p] = s;
            } else if s > scratch.best[p] {
                scratch.best[p] = s;
            }
        }
        for e in &mut out {
            e.1 = scratch.best[e.0 as usize];
            scratch.best[e.0 as usize] = f32::NAN;
        }
        out.sort_unstable_by_key(|e| e.0);
        out
    }

    /// The known template most similar to `row`, with its cosine similarity.
    fn nearest(&self, row: &SparseVec) -> Option<(u32, f32)> {
        let mut acc = vec![0.0f32; self.rows.len()];
        for (&i, &w) in row.idx.iter().zip(&row.val) {
            for &(t, tw) in self.postings.get(i as usize).into_iter().flatten() {
                if let Some(a) = acc.get_mut(t as usize) {
                    *a += w * tw;
                }
            }
        }
        // A linear scan beats tracking touched rows: common terms touch most of them. Ties go
        // to the smaller template id (rows are sorted by id).
        acc.into_iter()
            .enumerate()
            .fold(None, |best: Option<(u32, f32)>, (t, s)| match best {
                Some((_, bs)) if bs >= s => best,
                _ if s > 0.0 => Some((t as u32, s)),
                _ => best,
            })
    }
}

/// Flat term list (sorted, with repeats) → term counts.
fn counts(terms: &[u32]) -> TermCounts {
    let mut out: TermCounts = Vec::new();
    for &t in terms {
        match out.last_mut() {
            Some((last, c)) if *last == t => *c += 1,
            _ => out.push((t, 1)),
        }
    }
    out
}

/// Term counts → flat term list (sorted, with repeats), the compact stored form.
fn flatten(counts: &[(u32, u32)]) -> Vec<u32> {
    counts
        .iter()
        .flat_map(|&(t, c)| std::iter::repeat_n(t, c.min(1000) as usize))
        .collect()
}

/// The score of a template at cosine distance `d` from a pattern of radius `radius`:
/// piecewise linear through 0 at the radius, 0.5 at twice the radius and 1 at distance 1
/// (nothing in common), so the whole 0-1 range is used whatever the radius.
fn ratio_score(d: f32, radius: f32) -> f32 {
    let r = radius.max(1e-6);
    let sc = if d <= r {
        0.0
    } else if d <= 2.0 * r || 2.0 * r >= 1.0 {
        0.5 * (d - r) / r
    } else {
        0.5 + 0.5 * (d - 2.0 * r) / (1.0 - 2.0 * r)
    };
    sc.clamp(0.0, 1.0)
}

/// Where a template outside HDBSCAN's sample lands, from its exemplar similarities: the
/// best-scoring pattern, joined when the score is below 0.5, else no pattern and the score
/// raised to at least 0.5; `(None, 1.0)` when it shares no term with any exemplar. For an
/// outsider a pattern is no wider than `max_join / 2`, whatever HDBSCAN let its members span,
/// so a loose pattern does not swallow every template that shares a word with it.
fn place(sims: &[(u32, f32)], patterns: &[PatternEntry], max_join: f32) -> (Option<u32>, f32) {
    let mut best: Option<(u32, f32)> = None;
    for &(p, s) in sims {
        let Some(e) = patterns.get(p as usize) else {
            continue;
        };
        let sc = ratio_score(1.0 - s, e.radius.min(max_join / 2.0));
        if best.is_none_or(|(_, b)| sc < b) {
            best = Some((p, sc));
        }
    }
    match best {
        Some((p, sc)) if sc < 0.5 => (Some(p), sc),
        Some((_, sc)) => (None, sc.max(0.5)),
        None => (None, 1.0),
    }
}

/// A uniform number in (0, 1] from a template id, for the sample keys.
fn unit_hash(id: TemplateId, seed: u64) -> f64 {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(&id.0.to_le_bytes(), seed);
    ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// Indices (increasing) of at most `size` candidates, sampled without replacement with
/// weights `1 + ln(count)` (Efraimidis-Spirakis keys `ln(u) / w`).
fn weighted_sample(
    candidates: &[usize],
    ids: &[TemplateId],
    counts: &[u64],
    size: usize,
    seed: u64,
) -> Vec<usize> {
    if candidates.len() <= size {
        return candidates.to_vec();
    }
    let mut keyed: Vec<(f64, usize)> = candidates
        .iter()
        .map(|&i| {
            let w = 1.0 + (counts[i].max(1) as f64).ln();
            (unit_hash(ids[i], seed).ln() / w, i)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<usize> = keyed.into_iter().take(size).map(|(_, i)| i).collect();
    out.sort_unstable();
    out
}

/// HDBSCAN labels for `data` (-1 for noise); all noise when there are too few points or the
/// crate fails.
fn hdbscan_labels(data: &[Vec<f32>], cfg: &PatternsConfig, precomputed: bool) -> Vec<i32> {
    let min_cluster_size = cfg.min_cluster_size.clamp(2, 10_000);
    let min_samples = cfg.min_samples.clamp(1, 1000);
    if data.len() < min_cluster_size.max(min_samples + 1) {
        return vec![-1; data.len()];
    }
    let hp = hdbscan::HdbscanHyperParams::builder()
        .min_cluster_size(min_cluster_size)
        .min_samples(min_samples)
        .allow_single_cluster(cfg.allow_single_cluster)
        .dist_metric(if precomputed {
            hdbscan::DistanceMetric::Precalculated
        } else {
            hdbscan::DistanceMetric::Euclidean
        })
        .build();
    // The crate asserts on some degenerate inputs; a failed clustering means "no patterns",
    // never a crashed fit.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hdbscan::Hdbscan::new(data, hp).cluster()
    }));
    match run {
        Ok(Ok(labels)) if labels.len() == data.len() => labels,
        Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {
            tracing::warn!(points = data.len(), "hdbscan failed; no patterns this fit");
            vec![-1; data.len()]
        }
    }
}

/// The symmetric matrix of exact chord distances `sqrt(2 − 2·cos)` between unit rows,
/// computed through an inverted index so only pairs sharing a term cost anything.
fn exact_distances(rows: &[&SparseVec], terms: usize) -> Vec<Vec<f32>> {
    let n = rows.len();
    let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); terms];
    for (j, r) in rows.iter().enumerate() {
        for (&i, &w) in r.idx.iter().zip(&r.val) {
            if let Some(p) = postings.get_mut(i as usize) {
                p.push((j as u32, w));
            }
        }
    }
    let mut m = vec![vec![std::f32::consts::SQRT_2; n]; n];
    let mut acc = vec![0.0f32; n];
    let mut touched: Vec<usize> = Vec::new();
    for a in 0..n {
        m[a][a] = 0.0;
        for (&i, &w) in rows[a].idx.iter().zip(&rows[a].val) {
            for &(b, wb) in postings.get(i as usize).into_iter().flatten() {
                let b = b as usize;
                if b > a {
                    if acc[b] == 0.0 {
                        touched.push(b);
                    }
                    acc[b] += w * wb;
                }
            }
        }
        for &b in &touched {
            let d = (2.0 - 2.0 * acc[b]).max(0.0).sqrt();
            m[a][b] = d;
            m[b][a] = d;
            acc[b] = 0.0;
        }
        touched.clear();
    }
    m
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Exemplars of one cluster (indices into `members`): the member nearest the centroid, then
/// greedily the member farthest from all chosen ones, until `k` or every member is covered.
fn k_center(members: &[usize], dense: &[Vec<f32>], k: usize) -> Vec<usize> {
    let Some(&first) = members.first() else {
        return Vec::new();
    };
    let dims = dense[first].len();
    let mut centroid = vec![0.0f32; dims];
    for &m in members {
        for (c, x) in centroid.iter_mut().zip(&dense[m]) {
            *c += x;
        }
    }
    let start = members
        .iter()
        .copied()
        .enumerate()
        .fold((0, f32::MIN), |best, (j, m)| {
            let s = dot(&dense[m], &centroid);
            if s > best.1 {
                (j, s)
            } else {
                best
            }
        })
        .0;
    let mut chosen = vec![start];
    // Squared Euclidean distance between unit vectors: 2 - 2·cos.
    let mut gap: Vec<f32> = members
        .iter()
        .map(|&m| 2.0 - 2.0 * dot(&dense[m], &dense[members[start]]))
        .collect();
    while chosen.len() < k {
        let (far, d) = gap
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |b, (j, g)| if g > b.1 { (j, g) } else { b });
        if d <= 1e-6 {
            break;
        }
        chosen.push(far);
        for (j, &m) in members.iter().enumerate() {
            let g = 2.0 - 2.0 * dot(&dense[m], &dense[members[far]]);
            if g < gap[j] {
                gap[j] = g;
            }
        }
    }
    chosen
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

impl PatternModel {
    /// Fit patterns over templates given as (id, text, count).
    ///
    /// A template id given twice counts once (its counts summed, its first text kept).
    pub fn fit(
        templates: &[(TemplateId, &str, u64)],
        vectorize: &VectorizeConfig,
        patterns: &PatternsConfig,
    ) -> PatternModel {
        Self::fit_with_stats(templates, vectorize, patterns).0
    }

    /// As [`PatternModel::fit`], also returning what the fit did and how long each stage took.
    pub fn fit_with_stats(
        templates: &[(TemplateId, &str, u64)],
        vectorize: &VectorizeConfig,
        patterns: &PatternsConfig,
    ) -> (PatternModel, FitStats) {
        let started = Instant::now();
        let mut stats = FitStats::default();
        let mut merged: BTreeMap<TemplateId, (&str, u64)> = BTreeMap::new();
        for &(id, text, count) in templates {
            let e = merged.entry(id).or_insert((text, 0));
            e.1 = e.1.saturating_add(count);
        }
        let ids: Vec<TemplateId> = merged.keys().copied().collect();
        let texts: Vec<&str> = merged.values().map(|v| v.0).collect();
        let counts: Vec<u64> = merged.values().map(|v| v.1).collect();
        let n = ids.len();

        let (tfidf, term_counts) = TfIdf::fit(&texts, vectorize);
        let terms: Vec<Vec<u32>> = term_counts.iter().map(|c| flatten(c)).collect();
        let mut index = Index::build(&tfidf, &terms, &[]);
        let projection = Projection::new(&tfidf);

        stats.vectorize = started.elapsed();
        let stage = Instant::now();
        let candidates: Vec<usize> = (0..n).filter(|&i| !index.rows[i].is_empty()).collect();
        let sample = weighted_sample(
            &candidates,
            &ids,
            &counts,
            patterns.sample_size.max(2),
            vectorize.seed,
        );
        // Projected vectors serve HDBSCAN (when asked) and the exemplar cover: the sample only.
        let mut dense: Vec<Vec<f32>> = vec![Vec::new(); n];
        for &i in &sample {
            dense[i] = projection.project(&index.rows[i]);
        }
        let labels = match patterns.distances {
            Distances::Projected => {
                let data: Vec<Vec<f32>> = sample.iter().map(|&i| dense[i].clone()).collect();
                hdbscan_labels(&data, patterns, false)
            }
            Distances::Exact => {
                let rows: Vec<&SparseVec> = sample.iter().map(|&i| &index.rows[i]).collect();
                hdbscan_labels(&exact_distances(&rows, tfidf.len()), patterns, true)
            }
        };
        stats.hdbscan = stage.elapsed();
        let stage = Instant::now();

        // Clusters by label; the sample is sorted by id, so each member list is too.
        let mut clusters: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for (&i, &l) in sample.iter().zip(&labels) {
            if l >= 0 {
                clusters.entry(l).or_default().push(i);
            }
        }
        let mut members: Vec<Vec<usize>> = clusters.into_values().collect();
        members.sort_by_key(|m| ids[m[0]]);
        let k = patterns.exemplars.clamp(1, 256);
        let mut entries: Vec<PatternEntry> = members
            .iter()
            .map(|m| {
                let ex: Vec<u32> = k_center(m, &dense, k)
                    .into_iter()
                    .map(|j| m[j] as u32)
                    .collect();
                PatternEntry {
                    id: PatternId(ids[m[0]].0),
                    representative: ex[0],
                    exemplars: ex,
                    radius: 0.0,
                }
            })
            .collect();
        index.set_exemplars(&entries);

        let s = patterns.assign_min_similarity.clamp(0.05, 1.0) as f32;
        // Radii below `lo` would make a pattern of near-identical rows reject every variant;
        // joining needs a similarity of at least 1 - 1.5·(1 - s) whatever the radius, so a
        // loose pattern does not swallow every template that shares a word with it.
        let lo = (1.0 - s) / 2.0;
        let max_join = 1.5 * (1.0 - s);
        let mut scratch = Scratch::default();
        for (pi, m) in members.iter().enumerate() {
            let loo: Vec<f32> = m
                .iter()
                .filter_map(|&t| {
                    index
                        .pattern_sims(&index.rows[t], Some(t as u32), &mut scratch)
                        .into_iter()
                        .find(|&(p, _)| p == pi as u32)
                        .map(|(_, s)| 1.0 - s)
                })
                .collect();
            entries[pi].radius = median(loo).unwrap_or(0.0).max(lo);
        }

        let mut pattern: Vec<Option<u32>> = vec![None; n];
        let mut score: Vec<f32> = vec![1.0; n];
        let mut in_sample = vec![None; n];
        for (&i, &l) in sample.iter().zip(&labels) {
            in_sample[i] = Some(l);
        }
        for (pi, m) in members.iter().enumerate() {
            for &t in m {
                pattern[t] = Some(pi as u32);
            }
        }
        for t in 0..n {
            if index.rows[t].is_empty() {
                continue;
            }
            // Leave-one-out, as for the radii: an exemplar is not its own evidence.
            let sims = index.pattern_sims(&index.rows[t], Some(t as u32), &mut scratch);
            match (in_sample[t], pattern[t]) {
                (Some(_), Some(pi)) => {
                    let e = &entries[pi as usize];
                    let sc = match sims.iter().find(|&&(p, _)| p == pi) {
                        Some(&(_, sim)) => ratio_score(1.0 - sim, e.radius),
                        // The only exemplar of a pattern of identical rows is its centre.
                        None if e.exemplars == [t as u32] => 0.0,
                        None => 1.0,
                    };
                    // HDBSCAN's verdict stands; a loosely attached member shows in its score.
                    score[t] = sc;
                }
                (Some(_), None) => {
                    score[t] = place(&sims, &entries, max_join).1.max(0.5);
                }
                (None, _) => (pattern[t], score[t]) = place(&sims, &entries, max_join),
            }
        }
        // Four decimals are plenty for a rank, and keep the model file small.
        for sc in &mut score {
            *sc = (*sc * 1e4).round() / 1e4;
        }
        stats.assign = stage.elapsed();
        stats.templates = n;
        stats.sampled = sample.len();
        stats.patterns = entries.len();
        stats.noise = pattern.iter().filter(|p| p.is_none()).count();
        stats.vocabulary = tfidf.len();
        let model = PatternModel {
            tfidf,
            ids,
            terms,
            pattern,
            score,
            patterns: entries,
            max_join_distance: max_join,
            index: OnceLock::new(),
            analyzer: OnceLock::new(),
        };
        let _ = model.index.set(index);
        stats.total = started.elapsed();
        (model, stats)
    }

    fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Index::build(&self.tfidf, &self.terms, &self.patterns))
    }

    fn position(&self, id: TemplateId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// The pattern of a template seen at fit time (`None` for noise or unknown).
    pub fn pattern_of(&self, id: TemplateId) -> Option<PatternId> {
        let t = self.position(id)?;
        let p = (*self.pattern.get(t)?)?;
        self.patterns.get(p as usize).map(|e| e.id)
    }

    /// The outlier score of a template seen at fit time (0 typical, 1 far from everything);
    /// 1 for a template the model does not know.
    pub fn outlier_score(&self, id: TemplateId) -> f64 {
        self.position(id)
            .and_then(|t| self.score.get(t))
            .map_or(1.0, |&s| s as f64)
    }

    /// Place a new template text among the learned patterns.
    pub fn assign(&self, template: &str) -> Assignment {
        let none = Assignment {
            pattern: None,
            outlier_score: 1.0,
            nearest: None,
            similarity: 0.0,
        };
        if self.ids.is_empty() {
            return none;
        }
        let mut analyzer = self.analyzer.get_or_init(|| self.tfidf.analyzer()).clone();
        let row = self.tfidf.vectorize(&mut analyzer, template);
        if row.is_empty() {
            return none;
        }
        let index = self.index();
        let (nearest, similarity) = match index.nearest(&row) {
            Some((t, s)) => (self.ids.get(t as usize).copied(), s.clamp(0.0, 1.0) as f64),
            None => (None, 0.0),
        };
        let sims = index.pattern_sims(&row, None, &mut Scratch::default());
        let (p, sc) = place(&sims, &self.patterns, self.max_join_distance);
        let pattern = p.and_then(|p| self.patterns.get(p as usize)).map(|e| e.id);
        let outlier_score = sc as f64;
        Assignment {
            pattern,
            outlier_score,
            nearest,
            similarity,
        }
    }

    /// Number of patterns found.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether no patterns were found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of templates the model was fitted on.
    pub fn templates_len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the model saw this template at fit time.
    pub fn contains(&self, id: TemplateId) -> bool {
        self.position(id).is_some()
    }

    /// The templates the model was fitted on, sorted by id.
    pub fn template_ids(&self) -> &[TemplateId] {
        &self.ids
    }

    /// One pattern, with its members.
    pub fn pattern(&self, id: PatternId) -> Option<PatternSummary> {
        let p = self.patterns.binary_search_by_key(&id, |e| e.id).ok()?;
        Some(self.summary(p))
    }

    /// All patterns, sorted by id, with their members.
    pub fn patterns(&self) -> Vec<PatternSummary> {
        (0..self.patterns.len()).map(|p| self.summary(p)).collect()
    }

    fn summary(&self, p: usize) -> PatternSummary {
        let e = &self.patterns[p];
        PatternSummary {
            id: e.id,
            representative: self
                .ids
                .get(e.representative as usize)
                .copied()
                .unwrap_or(TemplateId(e.id.0)),
            members: self
                .pattern
                .iter()
                .zip(&self.ids)
                .filter(|(q, _)| **q == Some(p as u32))
                .map(|(_, &id)| id)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> (TemplateId, &str, u64) {
        (TemplateId::of(text), text, 10)
    }

    #[test]
    fn ratio_score_is_zero_within_the_radius_half_at_twice_it_and_one_at_distance_one() {
        assert_eq!(ratio_score(0.1, 0.2), 0.0);
        assert!((ratio_score(0.3, 0.2) - 0.25).abs() < 1e-6);
        assert!((ratio_score(0.4, 0.2) - 0.5).abs() < 1e-6);
        assert!((ratio_score(0.7, 0.2) - 0.75).abs() < 1e-6);
        assert!((ratio_score(1.0, 0.2) - 1.0).abs() < 1e-6);
        assert_eq!(ratio_score(0.0, 0.0), 0.0);
        // A loose pattern (twice its radius beyond distance 1) keeps everything below 0.5.
        assert!((ratio_score(0.9, 0.6) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn weighted_sample_is_deterministic_sized_and_prefers_frequent_templates() {
        let ids: Vec<TemplateId> = (0..1000u64).map(TemplateId).collect();
        let counts: Vec<u64> = (0..1000u64)
            .map(|i| if i < 500 { 1 } else { 1_000_000 })
            .collect();
        let cand: Vec<usize> = (0..1000).collect();
        let a = weighted_sample(&cand, &ids, &counts, 200, 7);
        let b = weighted_sample(&cand, &ids, &counts, 200, 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 200);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        let frequent = a.iter().filter(|&&i| i >= 500).count();
        assert!(frequent > 120, "{frequent}");
        assert_eq!(
            weighted_sample(&cand[..10], &ids, &counts, 200, 7).len(),
            10
        );
    }

    #[test]
    fn k_center_covers_both_groups() {
        let dense = vec![
            vec![1.0, 0.0],
            vec![0.99, 0.141],
            vec![0.0, 1.0],
            vec![0.141, 0.99],
        ];
        let ex = k_center(&[0, 1, 2, 3], &dense, 2);
        assert_eq!(ex.len(), 2);
        assert!(ex.iter().any(|&j| j < 2) && ex.iter().any(|&j| j >= 2));
        // Identical points: one exemplar is enough.
        let same = vec![vec![1.0, 0.0]; 3];
        assert_eq!(k_center(&[0, 1, 2], &same, 5).len(), 1);
    }

    #[test]
    fn hdbscan_with_too_few_points_is_all_noise() {
        let cfg = PatternsConfig::default();
        assert_eq!(hdbscan_labels(&[vec![1.0, 0.0]], &cfg, false), vec![-1]);
        assert!(hdbscan_labels(&[], &cfg, false).is_empty());
    }

    #[test]
    fn patterns_list_members_and_a_representative() {
        let texts = [
            "user <*> logged in from <*>",
            "user <*> logged in from <*> via sso",
            "user <*> logged in from <*> via password",
            "user <*> logged in from <*> with token <*>",
            "user <*> logged in from <*> after <*> attempts",
            "disk full on volume <*>",
            "disk nearly full on volume <*> used <*>",
            "disk full on volume <*> of node <*>",
            "disk full on volume <*> during compaction",
            "disk full on volume <*> while writing segment <*>",
        ];
        let input: Vec<_> = texts.iter().map(|s| t(s)).collect();
        let m = PatternModel::fit(
            &input,
            &VectorizeConfig::default(),
            &PatternsConfig::default(),
        );
        let ps = m.patterns();
        assert_eq!(ps.len(), 2, "{ps:?}");
        for p in &ps {
            assert!(p.members.contains(&p.representative));
            assert_eq!(m.pattern(p.id).as_ref(), Some(p));
            assert_eq!(p.id.0, p.members.iter().min().unwrap().0);
        }
        assert_eq!(m.templates_len(), 10);
        assert!(m.contains(TemplateId::of(texts[0])));
    }

    #[test]
    fn config_validation_names_the_keys() {
        let cfg = PatternsConfig {
            min_cluster_size: 1,
            min_samples: 0,
            sample_size: 10,
            exemplars: 0,
            assign_min_similarity: 1.5,
            ..PatternsConfig::default()
        };
        let mut p = Problems::default();
        cfg.validate("patterns", &mut p);
        let all = p.0.join("\n");
        for key in [
            "min_cluster_size",
            "min_samples",
            "sample_size",
            "exemplars",
            "assign_min_similarity",
        ] {
            assert!(all.contains(&format!("`patterns.{key}`")), "{key}: {all}");
        }
        let mut ok = Problems::default();
        PatternsConfig::default().validate("patterns", &mut ok);
        assert!(ok.0.is_empty(), "{:?}", ok.0);
        let big = PatternsConfig {
            sample_size: 8000,
            ..PatternsConfig::default()
        };
        let mut p = Problems::default();
        big.validate("patterns", &mut p);
        assert_eq!(p.0.len(), 1);
        assert!(p.0[0].contains("`patterns.sample_size`") && p.0[0].contains("exact"));
        let projected = PatternsConfig {
            distances: Distances::Projected,
            ..big
        };
        let mut p = Problems::default();
        projected.validate("patterns", &mut p);
        assert!(p.0.is_empty());
        let c: PatternsConfig = serde_json::from_str(r#"{"distances": "projected"}"#).unwrap();
        assert_eq!(c.distances, Distances::Projected);
        let r: Result<PatternsConfig, _> = serde_json::from_str(r#"{"min_size": 3}"#);
        assert!(r.is_err());
    }
}

//! The online miner: a Drain-style fixed-depth tree over masked tokens.
//!
//! Messages are split on ASCII whitespace and masked ([`super::mask`]); a quoted value is one
//! token however many words it holds, month and weekday names next to a variable join it, and a
//! run of variables becomes one `<*>` and a bracketed list one `[<*>]` (so lists of ids and
//! dates of any length give one template). The tree routes a message by its token count, then
//! by its first `depth` tokens (variables, and tokens unseen at a full node, take the wildcard
//! branch). In the leaf, the most similar template takes the message when the similarity
//! reaches `similarity`: the share of positions with the same constant among the positions that
//! are not a variable in both. A position where they differ becomes `<*>` at once when a value
//! is seen there (a masked value on either side, two host names); where they differ in plain
//! words it becomes `<*>` at the fourth distinct word, and until then each word keeps a variant
//! template of its own, which merges back when the position turns (`TemplateMiner::absorb`);
//! fields with different keys (`fd_limits=<*>`, `vm_limits=<*>`) are different facts and never
//! count. A template made with a value where earlier ones have a word takes those one position
//! apart in (`TemplateMiner::take_covered`). Sizes with their units, bounded durations and a
//! bracketed value after a word are joined into one token first (`join_units`), so that values
//! of a changing number of words keep one template.
//!
//! Routing on a word that is really a value (`alice logged in`, `bob logged in`) would keep
//! one template per value forever, since messages with different routing words never meet in
//! a leaf. So when a new template would be the fourth distinct plain word at a routing
//! position among templates that are otherwise alike, they merge into one with `<*>` there
//! (`TemplateMiner::merge_routing`), which lives in the wildcard branch; a message whose own
//! branch has no template for it also tries the wildcard branches of its routing positions,
//! where a learnt `<*>` counts as a shared variable.
//!
//! Ids come from the template text, so they are the same on every instance. When a template
//! generalises, its old id forwards to the new one; when the new text is that of another
//! template (or of an id that already forwards), the two merge; templates merged at a routing
//! position forward to the merged one. Forwarding only ever points from a retired id to a
//! newer, more general one, so chains end and `resolve` always reaches a live template.
//! Template tokens are interned as `u32`; only a message's routing tokens are looked up, the
//! rest compare by text, and tokens of a message that joins a template are never interned
//! (the words a family has seen at a position are, at most [`VARIABLE_WORDS`] of them), so
//! memory grows with the templates, not with the lines.

use super::mask::{class_of, mask_classified, push_quoted, quoted_span, QUOTE, SPACE, VAR};
use super::{Param, ParseConfig, Parsed};
use crate::model::TemplateId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// Token id of `<*>`.
const WILD: u32 = 0;
/// Token id of a message token that is in no template.
const TRANSIENT: u32 = u32::MAX;
/// Distinct words at a routing position, among templates otherwise alike, that make it a
/// variable (see `TemplateMiner::merge_routing`). Four: Loghub has event families of two and
/// three constant words there (`Acquiring`/`Releasing suspend blocker`, HPC's `boot`, `wait`,
/// `halt (command <*>)`), and merging them would cost Android and HPC 3 and 7 points of GA.
const ROUTING_VALUES: usize = 4;
/// Distinct plain words in one place that make it a variable in a message with one constant
/// word besides, the same in all (`notice abbrev`, `notice chalk`, ... for each package
/// `npm pack` bundles; see `TemplateMiner::merge_routing` and `merge_slot`). Twice
/// [`ROUTING_VALUES`]: with no more context than one word, the place is more often the event
/// itself (BGL's four `program interrupt: illegal`, `privileged`, ...).
const PLAIN_WORD_VALUES: usize = 8;
/// Equal constant words, besides the slot, that short templates must share to merge at a
/// qualified name (see `TemplateMiner::merge_slot`): the action word of a package line.
const SLOT_MIN_EQUAL: u32 = 1;
/// Equal constant words, besides the routing position, that templates must share to merge
/// there when the word is in code style: a long message that is the same but for its first
/// word names one event for many jobs or modules.
const ROUTING_LONG_CONTEXT: u32 = 8;
/// Distinct constant words at a position, among templates otherwise alike, that make it a
/// variable (see `TemplateMiner::absorb`): until then each word keeps a template of its own,
/// since a word with two or three values (`Active`/`Inactive`, `user=root`/`user=guest`) is
/// usually part of what happened, not a value.
const VARIABLE_WORDS: usize = 4;
/// Equal constant words, besides the routing position, that templates must share to merge
/// there: two words of context are the least that says "the same event".
const ROUTING_MIN_EQUAL: u32 = 2;

/// A small multiplicative hasher: the keys are short strings and `u32`s of our own making,
/// so resistance to chosen collisions is not needed and speed is.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Fx {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A tree node: children by token, a wildcard child, and (in leaves) templates.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Node {
    children: FxMap<u32, u32>,
    wild: Option<u32>,
    clusters: Vec<u32>,
}

/// A template being learnt.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cluster {
    tokens: Vec<u32>,
    count: u64,
    id: u64,
    node: u32,
    live: bool,
    /// The template this one is a variant of: equal to it but for constant words at positions
    /// that have not yet shown enough distinct words to be a variable (see `absorb`).
    #[serde(default)]
    family: Option<u32>,
    /// In a family's first template: the distinct words seen at each position where a
    /// variant differs from it (its own word first), at most [`VARIABLE_WORDS`] each.
    #[serde(default)]
    seen: Vec<(u32, Vec<u32>)>,
}

/// What is known about a template id, current or retired.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdInfo {
    text: String,
    /// The id this one generalised into (retired ids only).
    next: Option<u64>,
    /// The template (live ids only).
    cluster: Option<u32>,
}

/// Everything that is saved in the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    config: ParseConfig,
    vocab: Vec<String>,
    nodes: Vec<Node>,
    roots: FxMap<u32, u32>,
    clusters: Vec<Cluster>,
    ids: FxMap<u64, IdInfo>,
}

/// One masked token of the message at hand.
#[derive(Debug, Clone)]
struct Tok {
    /// Where the text is: in the message, or (masked) in the scratch buffer.
    text: Range<usize>,
    masked: bool,
    id: u32,
    vals: Range<usize>,
    /// A month or weekday name (or a run holding one).
    date: bool,
}

/// Per-message buffers, reused so the hot path does not allocate.
#[derive(Debug, Clone, Default)]
struct Scratch {
    buf: String,
    toks: Vec<Tok>,
    vals: Vec<Option<f64>>,
}

impl Scratch {
    fn text<'a>(&'a self, msg: &'a str, t: &Tok) -> &'a str {
        if t.masked {
            &self.buf[t.text.clone()]
        } else {
            &msg[t.text.clone()]
        }
    }
}

/// Online template miner.
///
/// Feed messages with [`TemplateMiner::add`]; ids returned earlier may have generalised since,
/// so [`TemplateMiner::resolve`] them before comparing. Saved inside the model file.
#[derive(Debug, Clone)]
pub struct TemplateMiner {
    st: State,
    lookup: FxMap<Box<str>, u32>,
    nvars: Vec<u32>,
    /// Per vocabulary token: [`is_value_word`].
    value_word: Vec<bool>,
    /// Live templates.
    live: usize,
    /// Messages that went to a catch-all template because `max_templates` was reached.
    overflowed: u64,
    scratch: Scratch,
}

impl Default for TemplateMiner {
    fn default() -> Self {
        TemplateMiner::new(ParseConfig::default())
    }
}

impl Serialize for TemplateMiner {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.st.serialize(s)
    }
}

impl<'de> Deserialize<'de> for TemplateMiner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let st = State::deserialize(d)?;
        check(&st).map_err(|e| {
            serde::de::Error::custom(format!("template miner state is inconsistent: {e}"))
        })?;
        Ok(TemplateMiner::from_state(st))
    }
}

/// Checks that every index in a loaded state points somewhere, so no later lookup panics.
fn check(st: &State) -> Result<(), String> {
    if st.vocab.first().map(String::as_str) != Some(VAR) {
        return Err("token 0 must be `<*>`".into());
    }
    let (nv, nn, nc) = (st.vocab.len(), st.nodes.len(), st.clusters.len());
    for (i, n) in st.nodes.iter().enumerate() {
        let bad_child = n
            .children
            .iter()
            .any(|(&k, &v)| k as usize >= nv || v as usize >= nn);
        if bad_child
            || n.wild.is_some_and(|w| w as usize >= nn)
            || n.clusters.iter().any(|&c| c as usize >= nc)
        {
            return Err(format!("node {i} points outside the tree"));
        }
    }
    if st.roots.values().any(|&r| r as usize >= nn) {
        return Err("a root points outside the tree".into());
    }
    for (i, c) in st.clusters.iter().enumerate() {
        if c.tokens.iter().any(|&t| t as usize >= nv) || c.node as usize >= nn {
            return Err(format!(
                "template {i} points outside the vocabulary or tree"
            ));
        }
        if c.live && st.ids.get(&c.id).and_then(|x| x.cluster) != Some(i as u32) {
            return Err(format!("template {i} has no id"));
        }
    }
    for (id, info) in &st.ids {
        if info.cluster.is_some_and(|c| c as usize >= nc) {
            return Err(format!("id {id:016x} points outside the templates"));
        }
        let mut cur = *id;
        let mut steps = 0;
        while let Some(next) = st.ids.get(&cur).and_then(|x| x.next) {
            cur = next;
            steps += 1;
            if steps > st.ids.len() {
                return Err(format!("id {id:016x} forwards in a cycle"));
            }
        }
        if st.ids.get(&cur).and_then(|x| x.cluster).is_none() {
            return Err(format!("id {id:016x} forwards to no template"));
        }
    }
    Ok(())
}

/// Month and weekday names, full or abbreviated, in any case, within brackets or before a
/// comma or full stop.
fn is_date_word(w: &str) -> bool {
    let w = w.trim_matches(|c: char| matches!(c, ',' | '.' | '[' | ']' | '(' | ')'));
    let b = w.as_bytes();
    if !(3..=9).contains(&b.len()) {
        return false;
    }
    let mut low = [0u8; 9];
    for (d, &c) in low.iter_mut().zip(b) {
        if !c.is_ascii_alphabetic() {
            return false;
        }
        *d = c.to_ascii_lowercase();
    }
    matches!(
        &low[..b.len()],
        b"jan"
            | b"feb"
            | b"mar"
            | b"apr"
            | b"may"
            | b"jun"
            | b"jul"
            | b"aug"
            | b"sep"
            | b"sept"
            | b"oct"
            | b"nov"
            | b"dec"
            | b"mon"
            | b"tue"
            | b"wed"
            | b"thu"
            | b"fri"
            | b"sat"
            | b"sun"
            | b"january"
            | b"february"
            | b"march"
            | b"april"
            | b"june"
            | b"july"
            | b"august"
            | b"september"
            | b"october"
            | b"november"
            | b"december"
            | b"monday"
            | b"tuesday"
            | b"wednesday"
            | b"thursday"
            | b"friday"
            | b"saturday"
            | b"sunday"
    )
}

/// A word that may be a value (a user, customer or file name) rather than part of the
/// message's shape: letters, with `.`, `-` or `'` inside (`john.smith`, `o'brien`,
/// `report.pdf`) and `,` or `:` after, not in code style (no camel-case hump, not all in
/// capitals, no `_`, no dotted name of three parts or more). Digits were masked already.
fn is_value_word(w: &str) -> bool {
    let w = w.strip_suffix([',', ':']).unwrap_or(w);
    let mut chars = w.chars();
    if !chars.next().is_some_and(char::is_alphabetic) || w.ends_with(['.', '-', '\'']) {
        return false;
    }
    let (mut letters, mut capitals, mut dots) = (0, 0, 0);
    let mut after_lower = false;
    for c in w.chars() {
        if c.is_alphabetic() {
            letters += 1;
            if c.is_uppercase() {
                if after_lower {
                    return false;
                }
                capitals += 1;
            }
            after_lower = c.is_lowercase();
        } else if matches!(c, '.' | '-' | '\'') {
            dots += usize::from(c == '.');
            after_lower = false;
        } else {
            return false;
        }
    }
    dots < 2 && !(letters >= 2 && capitals == letters)
}

/// A name with a value after a colon (`vim:<*>`, `media-types:all`: a package and its
/// architecture, an image and its tag), the name a plain word ([`is_value_word`]), or a name
/// in a namespace ([`is_namespaced_name`]), for `TemplateMiner::merge_slot`.
fn is_qualified_name(w: &str) -> bool {
    is_namespaced_name(w)
        || w.split_once(':').is_some_and(|(name, after)| {
            is_value_word(name) && (after == VAR || (!after.contains(':') && is_value_word(after)))
        })
}

/// A word that [`TemplateMiner::merge_slot`] and a short message's routing position may make a
/// variable: a qualified name ([`is_qualified_name`]), or a plain word ([`is_value_word`])
/// that is neither a label (`workdirectory:`, whose value follows) nor a participle
/// (`starting`, what happened: [`is_verb_form`]).
fn is_name(w: &str) -> bool {
    is_qualified_name(w) || (is_value_word(w) && !w.ends_with(':') && !is_verb_form(w))
}

/// A name in a namespace: names of letters, digits, `.`, `_` and `-` (and an `@` first)
/// joined by slashes (`node_modules/mime`, `@sigstore/tuf`, `kube-system/coredns`), not all
/// in capitals (`I/O`, `TCP/IP` are words).
fn is_namespaced_name(w: &str) -> bool {
    w.contains('/')
        && w.bytes().any(|c| c.is_ascii_lowercase())
        && w.split('/').all(|name| {
            let name = name.strip_prefix('@').unwrap_or(name);
            name.bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
                && name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        })
}

/// Whether template token `x`, which holds `<*>`s, covers token `y`: `y` has the same text
/// before the first `<*>` and after the last (`rhost=<*>` covers `rhost=` and
/// `rhost=example.org`; `(<*>)` covers `()`), or `x` is `y` with a value in brackets after it
/// (`bytes (<*>)` covers `bytes`).
fn covers(x: &str, y: &str) -> bool {
    if x.strip_suffix(ANNOTATION) == Some(y) {
        return true;
    }
    // A byte search: `str::find` with a `&str` sets up a substring searcher on every call,
    // and this runs for every comparison with a template token that holds a value.
    let found = |w: &[u8]| w == VAR.as_bytes();
    let first = x.as_bytes().windows(VAR.len()).position(found);
    let last = x.as_bytes().windows(VAR.len()).rposition(found);
    first.zip(last).is_some_and(|(first, last)| {
        let (pre, post) = (&x[..first], &x[last + VAR.len()..]);
        y.len() >= pre.len() + post.len() && y.starts_with(pre) && y.ends_with(post)
    })
}

/// Whether two different tokens are the same word with different values: one is `<*>`, one
/// covers the other (see [`covers`]), both are host names, or both are one field, empty in
/// one ([`empty_field`]).
fn holds_value(a: &str, b: &str) -> bool {
    a == VAR
        || b == VAR
        || covers(a, b)
        || covers(b, a)
        || (is_host_name(a) && is_host_name(b))
        || empty_field(a, b).is_some()
}

/// Words that say that a field has no value.
const EMPTY_VALUES: [&str; 5] = ["null", "NULL", "nil", "none", "None"];

/// When `a` and `b` are one field (`ws=null,` and `ws=WorkSource{<*>},`), empty in one of them
/// and a value in the other, its key and the punctuation after the value (`ws` and `,`): the
/// token that takes both is `ws=<*>,`. An empty field is a field without its value, not
/// another event (Android logs a wake lock with `ws=null` or with its work source, one event).
fn empty_field<'a>(a: &'a str, b: &str) -> Option<(&'a str, &'a str)> {
    let key = field_key(a)?;
    if field_key(b) != Some(key) {
        return None;
    }
    fn value<'w>(w: &'w str, key: &str) -> (&'w str, &'w str) {
        let v = &w[key.len() + 1..];
        let trimmed = v.trim_end_matches([',', ';']);
        (trimmed, &v[trimmed.len()..])
    }
    let ((va, ta), (vb, tb)) = (value(a, key), value(b, key));
    let empty_and_value = |e: &str, v: &str| EMPTY_VALUES.contains(&e) && v.contains(VAR);
    (ta == tb && (empty_and_value(va, vb) || empty_and_value(vb, va))).then_some((key, ta))
}

/// The key of a `key=value` word (`fd_limits` of `fd_limits=<*>`): letters, `_`, `.` and
/// `-` before the first `=`, starting with a letter or `_`. A key with a digit (`cpu3=`,
/// `disk0=`) is often an index, so it is not one.
fn field_key(w: &str) -> Option<&str> {
    let (key, _) = w.split_once('=')?;
    let first = key.bytes().next()?;
    let ok = (first.is_ascii_alphabetic() || first == b'_')
        && key
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'.' | b'-'));
    ok.then_some(key)
}

/// Whether two different words in one place name different events however many such words
/// the place shows, so that they never make it a variable (see `TemplateMiner::absorb`):
/// fields with different keys (`fd_limits=<*>`, `vm_limits=<*>`: two facts, not two values of
/// one) and two participles ([`is_verb_form`]).
fn tell_events_apart(a: &str, b: &str) -> bool {
    matches!((field_key(a), field_key(b)), (Some(x), Some(y)) if x != y)
        || (is_verb_form(a) && is_verb_form(b))
}

/// A word that reads as a verb's past or present participle (`started`, `stopped`,
/// `closing`, OpenStack's `VM Paused`, `VM Resumed`): lower-case letters, the first may be a
/// capital, ending in `ed` or `ing`, with punctuation allowed after. Two such words in one
/// place say what happened to the same thing (a node `initialized`, `started`, `stopped`,
/// `closed`), so they are events, however many there are, not values.
fn is_verb_form(w: &str) -> bool {
    let w = w.trim_end_matches(['.', ',', ':', ';', '!']);
    let rest = w
        .strip_prefix(|c: char| c.is_ascii_uppercase())
        .unwrap_or(w);
    w.len() >= 5
        && rest.bytes().all(|c| c.is_ascii_lowercase())
        && (w.ends_with("ed") || w.ends_with("ing"))
}

/// A host name (`edge.logistics.example.net`, `csnsu.nsuok.edu`): three or more dot-separated
/// labels of lower-case letters, digits and `-`, the last of letters, with closing punctuation
/// allowed after it. Two hosts in the same place are two values, however few.
fn is_host_name(w: &str) -> bool {
    let w = w.trim_end_matches([',', ':', ';', ')', ']', '.']);
    let mut labels = 0;
    let mut last = "";
    for label in w.split('.') {
        if label.is_empty()
            || !label
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 3 && last.bytes().all(|c| c.is_ascii_lowercase())
}

/// A value in brackets after a word, which the word keeps as part of its token
/// (`0 bytes (0.5 KB) sent` reads `bytes (<*>)`; see `TemplateMiner::join_units`).
const ANNOTATION: &str = " (<*>)";

/// Units of size: a number with one of these after it is one value (`5.2 KB`, `800 B`), since
/// the unit changes with the size.
fn is_size_unit(w: &str) -> bool {
    w.len() <= 3
        && [
            "b", "kb", "mb", "gb", "tb", "pb", "kib", "mib", "gib", "tib", "pib",
        ]
        .iter()
        .any(|u| w.eq_ignore_ascii_case(u))
}

/// Units of time, which join a bounded number (`<1 sec`, `>100 ms`): such a bound stands for
/// a duration that other lines of the event give as a plain value.
fn is_time_unit(w: &str) -> bool {
    [
        "ns", "us", "ms", "s", "sec", "secs", "seconds", "min", "mins", "minutes",
    ]
    .iter()
    .any(|u| w.eq_ignore_ascii_case(u))
}

/// Bit `i` of a set of routing positions (none past 31: the depth is at most 16).
#[inline]
fn bit(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .and_then(|i| 1u32.checked_shl(i))
        .unwrap_or(0)
}

/// How a template compares with a message, position by position.
#[derive(Debug, Clone, Copy)]
struct Score {
    /// Positions where the template has the message's constant token.
    eq: u32,
    /// Positions where both have a variable.
    vars: u32,
    /// Positions where the template has `<*>` and the message a constant.
    open: u32,
    /// The template equals the message wherever it is not `<*>`.
    fits: bool,
}

impl Score {
    /// Similarity in `0..=1` for a message of `n` tokens: the share of positions with the
    /// same constant among the positions that are not a variable in both. Shared variables
    /// say nothing either way: counting them as equal merges distinct events that carry many
    /// values (Android), counting them as different keeps apart short messages that differ in
    /// one word of three.
    fn sim(&self, n: usize) -> f64 {
        let d = (n as u32).saturating_sub(self.vars).max(1);
        f64::from(self.eq) / f64::from(d)
    }
}

/// Joins a size unit to the number before it (`5.2 KB` is one value, `(<*>` and `KB)` give
/// `(<*>)`), a time unit to a bounded number before it (`<1 sec` gives `<*>`), and a value in
/// brackets to the plain word before it (`bytes (<*>)`, see [`ANNOTATION`]). `units` and
/// `annotations` say whether the message may hold a pair of each kind (see [`Pairs`]); a
/// pass that cannot join anything is skipped. Returns whether a token became `<*>`.
fn join_units(msg: &str, sc: &mut Scratch, pairs: Pairs) -> bool {
    // Units first, so that `(0.5` `KB)` is `(<*>)` when its word is looked at.
    let joined = pairs.units && join_pass(msg, sc, false);
    let annotated = (pairs.annotations || joined) && join_pass(msg, sc, true);
    (joined || annotated) && sc.toks.iter().any(|t| t.id == WILD)
}

/// Punctuation that may follow a unit within its token (`KB)`, `ms,`).
const UNIT_CLOSE: [char; 5] = [')', ']', ',', ';', '.'];

/// What [`split`] saw of the pairs of neighbouring tokens that [`join_units`] may join: a
/// superset, so that a pass it skips would have joined nothing.
#[derive(Debug, Clone, Copy, Default)]
struct Pairs {
    /// A unit after a masked token that ends in `<*>` and holds one value (`5.2` `KB`).
    units: bool,
    /// A token that is a bracketed value (`(<*>)`).
    annotations: bool,
    /// A token that opens a list (`[<*>,`, `[data_hot,`, see [`join_lists`]).
    lists: bool,
}

impl Pairs {
    /// Take in the pair of `prev` (the last token split, if any) and the next one, `cur`,
    /// whose text is `text`.
    fn see(&mut self, buf: &str, prev: Option<&Tok>, cur: &Tok, text: &str) {
        self.units |= !cur.masked
            && prev.is_some_and(|p| {
                p.masked && p.vals.len() == 1 && buf[p.text.clone()].ends_with(VAR)
            })
            && {
                let unit = text.trim_end_matches(UNIT_CLOSE);
                unit.len() <= 7 && (is_size_unit(unit) || is_time_unit(unit))
            };
        self.annotations |= cur.masked && text == &ANNOTATION[1..];
        self.lists |= list_close(text).is_some();
    }
}

/// Fewest items of a list of words that [`join_lists`] joins: `(a, b)` is more often a pair of
/// fixed meaning than a list, and a list of values joins from two.
const LIST_MIN_WORDS: usize = 3;

/// Whether `item` (without its comma or brackets) is a list item: a variable, or one word with
/// no bracket, quote or comma in it, and no `=`: `[default=<*>, read=<*>, write=<*>]` is a
/// record whose keys name its values, not a list.
fn is_list_item(item: &str) -> bool {
    !item.is_empty()
        && !item.bytes().any(|c| {
            matches!(
                c,
                b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'"' | b'\'' | b',' | b'='
            )
        })
}

/// The bracket that closes the list `text` opens, when it is the first item of one (`[<*>,`,
/// `(data_hot,`, `{a,`).
fn list_close(text: &str) -> Option<char> {
    let item = text.get(1..)?.strip_suffix(',')?;
    let close = match text.as_bytes()[0] {
        b'[' => ']',
        b'(' => ')',
        b'{' => '}',
        _ => return None,
    };
    is_list_item(item).then_some(close)
}

/// Where the list that token `r` opens ends, if it opens one, and the text it joins into
/// (`[<*>]` with the punctuation after the closing bracket). Every item must be one token: a
/// variable (`<*>,`, the last `<*>]`) or a word (`ingest,`, the last `ml]`); a list of values
/// joins from two items, one with a word from [`LIST_MIN_WORDS`]. `(estimated size <*> KB,
/// free <*> KB)` is a phrase, not a list, and `(<*>, powerd)` a pair.
fn list_end(sc: &Scratch, msg: &str, r: usize) -> Option<(usize, String)> {
    let first = sc.text(msg, &sc.toks[r]);
    let close = list_close(first)?;
    let mut words = first[1..first.len() - 1] != *VAR;
    for (k, t) in sc.toks.iter().enumerate().skip(r + 1) {
        let text = sc.text(msg, t);
        let is_var = |item: &str| t.masked && item == VAR;
        if let Some(item) = text.strip_suffix(',') {
            if !is_list_item(item) {
                return None;
            }
            words |= !is_var(item);
            continue;
        }
        let (item, tail) = text.split_once(close)?;
        let closes = tail.bytes().all(|c| matches!(c, b',' | b';' | b'.' | b':'));
        if !closes || !is_list_item(item) {
            return None;
        }
        words |= !is_var(item);
        let items = k - r + 1;
        if words && items < LIST_MIN_WORDS {
            return None;
        }
        return Some((k, format!("{}{VAR}{close}{tail}", &first[..1])));
    }
    None
}

/// Joins each list (`[orders-0, orders-1, orders-2]`, masked `[<*>,` `<*>,` `<*>]`; `roles
/// [data_hot, ingest, ml]`) into one token, `[<*>]`, the text of a list of one value: how many
/// items a list holds, and in which order a set is printed, are values, so lists of any length
/// give one template. The token keeps the values of its items (its parameter is the first).
fn join_lists(msg: &str, sc: &mut Scratch) {
    let mut w = 0;
    let mut r = 0;
    while r < sc.toks.len() {
        let next = match list_end(sc, msg, r) {
            Some((last, joined)) => {
                let b0 = sc.buf.len();
                sc.buf.push_str(&joined);
                let date = sc.toks[r..=last].iter().any(|t| t.date);
                let end = sc.toks[last].vals.end;
                let tok = &mut sc.toks[r];
                tok.text = b0..sc.buf.len();
                tok.masked = true;
                tok.vals.end = end;
                tok.date = date;
                last + 1
            }
            None => r + 1,
        };
        if w != r {
            sc.toks[w] = sc.toks[r].clone();
        }
        w += 1;
        r = next;
    }
    sc.toks.truncate(w);
}

fn join_pass(msg: &str, sc: &mut Scratch, annotations: bool) -> bool {
    let mut joins = false;
    let mut w = 0;
    for r in 0..sc.toks.len() {
        if w > 0 {
            let (prev, cur) = (&sc.toks[w - 1], &sc.toks[r]);
            // The cheap tests first: most pairs are neither a value and a unit nor a word and
            // a bracketed value.
            let candidate = if annotations {
                cur.masked && !prev.masked && prev.id != WILD && cur.vals.len() == 1
            } else {
                !cur.masked && prev.masked && prev.vals.len() == 1
            };
            let joined = if candidate {
                let ptext = sc.text(msg, prev);
                let ctext = sc.text(msg, cur);
                if annotations {
                    (ctext == &ANNOTATION[1..] && ptext.chars().all(char::is_alphabetic))
                        .then(|| format!("{ptext}{ANNOTATION}"))
                } else if let Some(bound) = ptext.strip_suffix(VAR) {
                    let unit = ctext.trim_end_matches(UNIT_CLOSE);
                    let tail = &ctext[unit.len()..];
                    let bounded = matches!(bound, "<" | ">" | "<=" | ">=" | "~");
                    if is_size_unit(unit) {
                        Some(format!("{ptext}{tail}"))
                    } else if bounded && is_time_unit(unit) {
                        Some(format!("{VAR}{tail}"))
                    } else {
                        None
                    }
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(text) = joined {
                let vals = if prev.masked {
                    prev.vals.clone()
                } else {
                    cur.vals.clone()
                };
                let b0 = sc.buf.len();
                sc.buf.push_str(&text);
                let id = if text == VAR { WILD } else { TRANSIENT };
                let prev = &mut sc.toks[w - 1];
                prev.text = b0..sc.buf.len();
                prev.masked = true;
                prev.id = id;
                prev.vals = vals;
                joins = true;
                continue;
            }
        }
        if w != r {
            sc.toks[w] = sc.toks[r].clone();
        }
        w += 1;
    }
    sc.toks.truncate(w);
    joins
}

/// Splits and masks `message` into `sc` with the settings `cfg`; returns the part of the
/// message that was used. The routing tokens get their vocabulary id later
/// ([`TemplateMiner::route_ids`]): splitting needs nothing the miner learns, so it may run
/// on another thread ahead of the miner.
fn split<'m>(cfg: &ParseConfig, message: &'m str, sc: &mut Scratch) -> &'m str {
    sc.buf.clear();
    sc.toks.clear();
    sc.vals.clear();
    // Room for a usual message, not for the longest these buffers ever held: many are kept
    // at a time ahead of a miner (see `Tokenizer::split`).
    sc.toks.shrink_to(KEEP_TOKENS);
    sc.vals.shrink_to(KEEP_TOKENS);
    sc.buf.shrink_to(KEEP_TOKENS * 16);
    let mut end = message.len().min(cfg.max_message_bytes);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let msg = &message[..end];
    let bytes = msg.as_bytes();
    let mut i = 0;
    let mut raw_tokens = 0;
    // The pairs the unit passes may join, and whether a token is a bare variable: without
    // them the unit, date and run passes do nothing.
    let mut pairs = Pairs::default();
    let mut any_wild = false;
    // Quote characters with no partner left (see `quoted_span`).
    let mut unclosed = 0u8;
    while i < bytes.len() && raw_tokens < cfg.max_tokens {
        // The next token: past the whitespace, up to the next (the union of the classes
        // takes the whitespace byte's, which is `SPACE` alone, and drops it after).
        let Some(skip) = bytes[i..].iter().position(|&c| class_of(c) & SPACE == 0) else {
            break;
        };
        let start = i + skip;
        let mut any = 0u8;
        let len = bytes[start..]
            .iter()
            .position(|&c| {
                let k = class_of(c);
                any |= k;
                k & SPACE != 0
            })
            .unwrap_or(bytes.len() - start);
        any &= !SPACE;
        i = start + len;
        raw_tokens += 1;
        let v0 = sc.vals.len();
        let b0 = sc.buf.len();
        // A quoted value is one token, however many words it holds.
        let quoted = if any & QUOTE != 0 {
            quoted_span(bytes, start, &mut unclosed)
        } else {
            None
        };
        let (text, masked) = if let Some(q) = quoted {
            push_quoted(msg, start, q, &mut sc.buf, &mut sc.vals);
            i = q.end;
            (b0..sc.buf.len(), true)
        } else if mask_classified(&msg[start..i], any, &mut sc.buf, &mut sc.vals) {
            // Whitespace is ASCII, so these are char boundaries.
            (b0..sc.buf.len(), true)
        } else {
            (start..i, false)
        };
        let s = if masked {
            &sc.buf[text.clone()]
        } else {
            &msg[text.clone()]
        };
        let id = if s == VAR { WILD } else { TRANSIENT };
        any_wild |= id == WILD;
        let tok = Tok {
            text,
            masked,
            id,
            vals: v0..sc.vals.len(),
            date: false,
        };
        pairs.see(&sc.buf, sc.toks.last(), &tok, s);
        sc.toks.push(tok);
    }
    any_wild |= join_units(msg, sc, pairs);
    if pairs.lists {
        join_lists(msg, sc);
    }
    if any_wild {
        join_variables(msg, sc);
    }
    msg
}

/// Marks month and weekday names next to a variable as variables, and joins runs of
/// variables into one (only needed when a token is a bare variable).
fn join_variables(msg: &str, sc: &mut Scratch) {
    // Month and weekday names next to a variable are part of a date (`Fri Jun 17 07:07:00`).
    // A second pass reaches a name two before a variable (`Fri` in `Fri Jun 17`); it changes
    // nothing when the first did not.
    for _ in 0..2 {
        let mut changed = false;
        let mut prev_wild = false;
        for i in 0..sc.toks.len() {
            let next_wild = sc.toks.get(i + 1).is_some_and(|n| n.id == WILD);
            let t = &mut sc.toks[i];
            if !t.masked
                && t.id != WILD
                && (prev_wild || next_wild)
                && is_date_word(&msg[t.text.clone()])
            {
                // A masked token's text is in the buffer (see `Scratch::text`).
                let b0 = sc.buf.len();
                sc.buf.push_str(VAR);
                t.text = b0..sc.buf.len();
                t.id = WILD;
                t.masked = true;
                t.date = true;
                changed = true;
            }
            prev_wild = t.id == WILD;
        }
        if !changed {
            break;
        }
    }
    // A run of variables without numeric values (`blk_1 blk_2 blk_3`), or one that holds a
    // date (`Jun 17 07:07:00`), is one variable. Numbers stay apart (`/a/1 200 33ms`):
    // they are the parameters.
    let valueless = |t: &Tok| sc.vals[t.vals.clone()].iter().all(Option::is_none);
    let mut w = 0;
    for r in 0..sc.toks.len() {
        let cur = &sc.toks[r];
        // Only a token after a variable may join it, so the text is looked at only then.
        let after_var = w > 0 && sc.toks[w - 1].id == WILD;
        let closes = after_var
            && cur.masked
            && cur.id != WILD
            && sc.buf[cur.text.clone()]
                .strip_prefix(VAR)
                .is_some_and(|rest| {
                    rest.bytes()
                        .all(|c| matches!(c, b']' | b')' | b'}' | b',' | b';' | b'.' | b':'))
                });
        let joins = after_var && (cur.id == WILD || closes) && {
            let prev = &sc.toks[w - 1];
            prev.date || cur.date || (valueless(prev) && valueless(cur))
        };
        if joins {
            // `Dec 04 2005]`: the run keeps the closing punctuation of its last token.
            let cur = sc.toks[r].clone();
            let prev = &mut sc.toks[w - 1];
            prev.vals.end = cur.vals.end;
            prev.date |= cur.date;
            if closes {
                prev.text = cur.text;
                prev.id = cur.id;
                prev.masked = true;
            }
        } else {
            if w != r {
                sc.toks[w] = sc.toks[r].clone();
            }
            w += 1;
        }
    }
    sc.toks.truncate(w);
}

/// Splits and masks messages the way a [`TemplateMiner`] with the same settings does, without
/// the miner: splitting learns nothing, so it can run on another thread ahead of learning.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    config: ParseConfig,
}

impl Tokenizer {
    /// Split `message` into `tokens` (its buffers are reused, up to a size: many `Tokens`
    /// are kept at a time ahead of a miner, and each would otherwise keep the size of the
    /// longest message it ever held).
    pub fn split(&self, message: &str, tokens: &mut Tokens) {
        tokens.used = split(&self.config, message, &mut tokens.sc).len();
        tokens.known = 0;
    }

    /// [`Tokenizer::split`], and look the routing tokens up in `vocabulary`, a copy of the
    /// words of the miner that will learn the tokens: that miner then looks up only what its
    /// words learnt since the copy may hold, which takes work off the thread that learns.
    pub fn split_known(&self, message: &str, tokens: &mut Tokens, vocabulary: &Vocabulary) {
        self.split(message, tokens);
        let msg = &message[..tokens.used];
        look_up(&mut tokens.sc, msg, self.config.depth, &vocabulary.ids);
        tokens.known = vocabulary.len;
    }
}

/// Gives each of the first `depth` tokens of `msg` (split into `sc`) that has no id yet its
/// id in `ids`, when `ids` holds its text.
fn look_up(sc: &mut Scratch, msg: &str, depth: usize, ids: &FxMap<Box<str>, u32>) {
    for t in sc.toks.iter_mut().take(depth) {
        if t.id == TRANSIENT {
            let s = if t.masked {
                &sc.buf[t.text.clone()]
            } else {
                &msg[t.text.clone()]
            };
            t.id = ids.get(s).copied().unwrap_or(TRANSIENT);
        }
    }
}

/// Tokens a [`Tokens`] keeps room for between messages (and 16 bytes of masked text each):
/// most lines have fewer, and a longer one allocates its own.
const KEEP_TOKENS: usize = 32;

/// A copy of a miner's vocabulary for [`Tokenizer::split_known`], kept up to date with
/// [`Vocabulary::extend`] and [`TemplateMiner::words_since`]. A miner only ever adds words,
/// and a word keeps its id, so an id found in a copy is the one the miner would find.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    ids: FxMap<Box<str>, u32>,
    /// The miner's words seen: the next word's id.
    len: usize,
}

impl Vocabulary {
    /// The number of the miner's words the copy holds: give it to
    /// [`TemplateMiner::words_since`] for the words to add.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the copy holds no word yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add the miner's words that follow the ones held, in the miner's order.
    pub fn extend<S: AsRef<str>>(&mut self, words: &[S]) {
        for w in words {
            self.ids.insert(Box::from(w.as_ref()), self.len as u32);
            self.len += 1;
        }
    }
}

/// A message split by a [`Tokenizer`], to learn with [`TemplateMiner::learn_tokens`]; reuse it
/// for the next message to save allocations.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    sc: Scratch,
    /// The bytes of the message that were split (it is cut at `max_message_bytes`).
    used: usize,
    /// The miner's words the routing tokens were looked up in ([`Tokenizer::split_known`]).
    known: usize,
}

impl TemplateMiner {
    /// A new, empty miner.
    pub fn new(cfg: ParseConfig) -> Self {
        let st = State {
            config: cfg,
            vocab: vec![VAR.to_string()],
            nodes: Vec::new(),
            roots: FxMap::default(),
            clusters: Vec::new(),
            ids: FxMap::default(),
        };
        TemplateMiner::from_state(st)
    }

    fn from_state(st: State) -> Self {
        let lookup = st
            .vocab
            .iter()
            .enumerate()
            .map(|(i, s)| (Box::from(s.as_str()), i as u32))
            .collect();
        let nvars = st
            .vocab
            .iter()
            .map(|s| s.matches(VAR).count() as u32)
            .collect();
        let value_word = st.vocab.iter().map(|s| is_value_word(s)).collect();
        let live = st.clusters.iter().filter(|c| c.live).count();
        TemplateMiner {
            st,
            lookup,
            nvars,
            value_word,
            live,
            overflowed: 0,
            scratch: Scratch::default(),
        }
    }

    /// Whether template token `a` (not `<*>`) is the message's token `t`. Only the routing
    /// tokens are looked up in the vocabulary; the others are compared by text, which is
    /// cheaper than hashing every token when a leaf holds a few templates.
    #[inline]
    fn same(&self, a: u32, t: &Tok, msg: &str, sc: &Scratch) -> bool {
        if a == t.id {
            return true;
        }
        if t.id != TRANSIENT {
            return false;
        }
        let x = &self.st.vocab[a as usize];
        let y = sc.text(msg, t);
        x == y || (self.nvars[a as usize] > 0 && covers(x, y))
    }

    /// Compares a template with the message. `routed_wild` has bit `i` set when the message's
    /// constant at routing position `i` took the wildcard branch: there the template's `<*>` is
    /// a variable the tree has learnt, and counts as shared, not as a difference.
    #[inline]
    fn score(&self, tpl: &[u32], msg: &str, sc: &Scratch, routed_wild: u32) -> Score {
        let mut s = Score {
            eq: 0,
            vars: 0,
            open: 0,
            fits: true,
        };
        for (i, (&a, t)) in tpl.iter().zip(&sc.toks).enumerate() {
            if a == WILD {
                if t.masked || t.id == WILD || routed_wild & bit(i) != 0 {
                    s.vars += 1;
                } else {
                    s.open += 1;
                }
            } else if self.same(a, t, msg, sc) {
                s.eq += 1;
            } else {
                s.fits = false;
            }
        }
        s
    }

    /// The settings this miner runs with.
    pub fn config(&self) -> &ParseConfig {
        &self.st.config
    }

    /// Learn from one message and return its template and parameters.
    pub fn add(&mut self, message: &str) -> Parsed {
        let mut sc = std::mem::take(&mut self.scratch);
        let ci = self.learn_into(message, &mut sc);
        let parsed = self.parsed(ci, &sc);
        self.scratch = sc;
        parsed
    }

    /// Learn from one message and return only its template id: [`TemplateMiner::add`]
    /// without collecting the parameters.
    pub fn learn(&mut self, message: &str) -> TemplateId {
        let mut sc = std::mem::take(&mut self.scratch);
        let ci = self.learn_into(message, &mut sc);
        self.scratch = sc;
        TemplateId(self.st.clusters[ci as usize].id)
    }

    /// [`TemplateMiner::learn`] for a message split ahead by [`Tokenizer::split`] (with this
    /// miner's settings): the same template, with the splitting done elsewhere.
    pub fn learn_tokens(&mut self, message: &str, tokens: &mut Tokens) -> TemplateId {
        // `used` is a char boundary of the message the tokens were split from.
        let msg = message.get(..tokens.used).unwrap_or(message);
        // The routing tokens not found among the `known` first words may be among the later.
        if tokens.known < self.st.vocab.len() {
            self.route_ids(msg, &mut tokens.sc);
        }
        let ci = self.fold(msg, &tokens.sc);
        TemplateId(self.st.clusters[ci as usize].id)
    }

    /// The number of words in the vocabulary.
    pub fn words(&self) -> usize {
        self.st.vocab.len()
    }

    /// The words learnt after the first `from`, to [`Vocabulary::extend`] a copy with.
    pub fn words_since(&self, from: usize) -> &[String] {
        self.st.vocab.get(from..).unwrap_or_default()
    }

    /// [`TemplateMiner::match_message`] for a message split ahead by [`Tokenizer::split`]
    /// (with this miner's settings). The tokens can then go to [`TemplateMiner::add_tokens`]
    /// when nothing fits.
    pub fn match_tokens(&self, message: &str, tokens: &mut Tokens) -> Option<Parsed> {
        let msg = message.get(..tokens.used).unwrap_or(message);
        self.route_ids(msg, &mut tokens.sc);
        let sc = &tokens.sc;
        self.find(msg, sc, true).map(|ci| self.parsed(ci, sc))
    }

    /// [`TemplateMiner::add`] for a message split ahead by [`Tokenizer::split`] (with this
    /// miner's settings): the same template and parameters.
    pub fn add_tokens(&mut self, message: &str, tokens: &mut Tokens) -> Parsed {
        let msg = message.get(..tokens.used).unwrap_or(message);
        self.route_ids(msg, &mut tokens.sc);
        let ci = self.fold(msg, &tokens.sc);
        self.parsed(ci, &tokens.sc)
    }

    /// The template id and parameters of a message learnt or matched into cluster `ci`.
    fn parsed(&self, ci: u32, sc: &Scratch) -> Parsed {
        let c = &self.st.clusters[ci as usize];
        Parsed {
            template_id: TemplateId(c.id),
            params: self.params(&c.tokens, sc),
        }
    }

    /// A splitter with this miner's settings, for [`TemplateMiner::learn_tokens`].
    pub fn tokenizer(&self) -> Tokenizer {
        Tokenizer {
            config: self.st.config.clone(),
        }
    }

    /// Tokenize `message` into `sc`, fold it into the templates and count it; returns the
    /// index of its cluster.
    fn learn_into(&mut self, message: &str, sc: &mut Scratch) -> u32 {
        let msg = self.tokenize(message, sc);
        self.fold(msg, sc)
    }

    /// Fold the tokenized `msg` into the templates and count it; returns the index of its
    /// cluster.
    fn fold(&mut self, msg: &str, sc: &Scratch) -> u32 {
        let ci = match self.find_scored(msg, sc, false) {
            // A template that fits takes the message as it is (what `absorb` finds first).
            Some((ci, true)) => ci,
            Some((ci, false)) => self.absorb(ci, msg, sc),
            None => match self
                .merge_routing(msg, sc)
                .or_else(|| self.merge_slot(msg, sc))
            {
                Some(ci) => ci,
                None if self.live >= self.st.config.max_templates => {
                    self.overflowed += 1;
                    self.catch_all(sc.toks.len())
                }
                None => self.create(msg, sc),
            },
        };
        self.st.clusters[ci as usize].count += 1;
        ci
    }

    /// Match a message without learning; `None` when no template fits.
    pub fn match_message(&self, message: &str) -> Option<Parsed> {
        thread_local! {
            // Per-thread buffers: matching takes `&self`, so threads share the miner, and a
            // fresh set of buffers per line would cost an allocation or three.
            static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
        }
        SCRATCH.with(|cell| {
            let mut sc = cell.take();
            let msg = self.tokenize(message, &mut sc);
            let parsed = self.find(msg, &sc, true).map(|ci| self.parsed(ci, &sc));
            cell.replace(sc);
            parsed
        })
    }

    /// The current id of a template id that may have been generalised since (unknown ids are
    /// returned as they are).
    pub fn resolve(&self, id: TemplateId) -> TemplateId {
        let mut cur = id.0;
        // Chains end (see the module doc); the bound only guards a corrupted state.
        for _ in 0..=self.st.ids.len() {
            match self.st.ids.get(&cur).and_then(|x| x.next) {
                Some(next) => cur = next,
                None => break,
            }
        }
        TemplateId(cur)
    }

    /// The text of a template (`<*>` for variables), by current or old id.
    pub fn template(&self, id: TemplateId) -> Option<&str> {
        self.st.ids.get(&id.0).map(|x| x.text.as_str())
    }

    /// A readable name for a variable slot, from the words around it: `latency=<*>` gives
    /// `latency`, `took <*> ms` gives `took_ms`; `slot3` when there is nothing to go by.
    pub fn slot_name(&self, id: TemplateId, slot: usize) -> String {
        let fallback = || format!("slot{slot}");
        let Some(text) = self.template(self.resolve(id)) else {
            return fallback();
        };
        let names = super::slots::slot_names(text);
        names.get(slot).cloned().unwrap_or_else(fallback)
    }

    /// All current templates with the number of messages each matched.
    pub fn templates(&self) -> Vec<(TemplateId, &str, u64)> {
        let mut v: Vec<_> = self
            .st
            .clusters
            .iter()
            .filter(|c| c.live)
            .map(|c| {
                let text = self.st.ids.get(&c.id).map_or("", |x| x.text.as_str());
                (TemplateId(c.id), text, c.count)
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Splits and masks `message` into `sc` and looks up the routing tokens; returns the part
    /// of the message that was used.
    fn tokenize<'m>(&self, message: &'m str, sc: &mut Scratch) -> &'m str {
        let msg = split(&self.st.config, message, sc);
        self.route_ids(msg, sc);
        msg
    }

    /// Gives the routing tokens their vocabulary id (the only ones that need it, see `same`).
    fn route_ids(&self, msg: &str, sc: &mut Scratch) {
        look_up(sc, msg, self.st.config.depth, &self.lookup);
    }

    /// The leaf for these tokens, if the tree has one, and the routing positions where a
    /// constant took the wildcard branch. Bit `i` of `force_wild` sends the constant at
    /// routing position `i` to the wildcard branch even when it has a child of its own.
    fn leaf(&self, toks: &[Tok], force_wild: u32) -> Option<(u32, u32)> {
        let mut node = *self.st.roots.get(&(toks.len() as u32))?;
        let mut routed_wild = 0;
        for (i, t) in toks.iter().take(self.st.config.depth).enumerate() {
            let nd = &self.st.nodes[node as usize];
            node = if t.masked || t.id == WILD {
                nd.wild?
            } else {
                let child = if force_wild & bit(i) != 0 {
                    None
                } else {
                    nd.children.get(&t.id).copied()
                };
                match child {
                    Some(c) => c,
                    None => {
                        routed_wild |= bit(i);
                        nd.wild?
                    }
                }
            };
        }
        Some((node, routed_wild))
    }

    /// The template for these tokens: one that fits (the most specific), else with
    /// `fit_only` false the most similar above the threshold.
    ///
    /// The message's own branch is searched first. When nothing there takes it, the branches
    /// where one or more of its routing constants are replaced by the wildcard are searched
    /// too: a routing position that became `<*>` (see [`Self::merge_routing`]) leaves the
    /// old children in place, and a word seen there before must still reach the template.
    fn find(&self, msg: &str, sc: &Scratch, fit_only: bool) -> Option<u32> {
        self.find_scored(msg, sc, fit_only).map(|(ci, _)| ci)
    }

    /// [`Self::find`], and whether the template found fits the message.
    fn find_scored(&self, msg: &str, sc: &Scratch, fit_only: bool) -> Option<(u32, bool)> {
        let toks = &sc.toks;
        let threshold = self.st.config.similarity;
        let accept = |b: &Option<(f64, bool, u32, u32)>| {
            b.is_some_and(|(sim, fits, _, _)| if fit_only { fits } else { sim >= threshold })
        };
        let mut best: Option<(f64, bool, u32, u32)> = None;
        let first = self.leaf(toks, 0);
        if let Some((leaf, routed)) = first {
            self.best_in(leaf, routed, msg, sc, fit_only, &mut best);
        }
        if !accept(&best) {
            // Positions whose constant went to a child: each may take the wildcard instead.
            // Only the first four, so at most fifteen more leaves (the default depth is two).
            let depth = self.st.config.depth.min(toks.len()).min(4);
            let via_child = toks[..depth]
                .iter()
                .enumerate()
                .filter(|(i, t)| {
                    !(t.masked || t.id == WILD)
                        && first.is_none_or(|(_, routed)| routed & bit(*i) == 0)
                })
                .fold(0u32, |m, (i, _)| m | bit(i));
            let mut seen = [u32::MAX; 16];
            let mut nseen = 0;
            let mut force = via_child;
            while force != 0 {
                if let Some((leaf, routed)) = self.leaf(toks, force) {
                    if first.is_none_or(|(l, _)| l != leaf) && !seen[..nseen].contains(&leaf) {
                        seen[nseen] = leaf;
                        nseen += 1;
                        self.best_in(leaf, routed, msg, sc, fit_only, &mut best);
                    }
                }
                // The next smaller subset of `via_child`.
                force = (force - 1) & via_child;
            }
        }
        accept(&best).then(|| best.map(|b| (b.3, b.1))).flatten()
    }

    /// Updates `best` with the templates of one leaf.
    fn best_in(
        &self,
        leaf: u32,
        routed_wild: u32,
        msg: &str,
        sc: &Scratch,
        fit_only: bool,
        best: &mut Option<(f64, bool, u32, u32)>,
    ) {
        for &ci in &self.st.nodes[leaf as usize].clusters {
            let s = self.score(&self.st.clusters[ci as usize].tokens, msg, sc, routed_wild);
            if fit_only && !s.fits {
                continue;
            }
            let key = (s.sim(sc.toks.len()), s.fits, s.vars + s.open);
            if best.is_none_or(|(a, b, c, _)| key > (a, b, c)) {
                *best = Some((key.0, key.1, key.2, ci));
            }
        }
    }

    /// The first template of `ci`'s family (itself when it is one, or its family is gone).
    fn family_root(&self, ci: u32) -> u32 {
        match self.st.clusters[ci as usize].family {
            Some(r) if self.st.clusters[r as usize].live => r,
            _ => ci,
        }
    }

    /// Takes in a message that template `ci` is the most similar to; returns the template that
    /// now holds it.
    ///
    /// A position where the message or the family's first template has a masked value (a
    /// number, an address, a quoted value) and they differ becomes `<*>` at once. A position where both
    /// have different constant words becomes `<*>` only once [`VARIABLE_WORDS`] distinct words
    /// were seen there; until then the message goes to a variant of the template with its own
    /// word (found again by the tree like any template), and when the position becomes a
    /// variable the variants it told apart merge back, their ids forwarding.
    fn absorb(&mut self, ci: u32, msg: &str, sc: &Scratch) -> u32 {
        if self
            .score(&self.st.clusters[ci as usize].tokens, msg, sc, 0)
            .fits
        {
            return ci;
        }
        let root = self.family_root(ci);
        // Same length by construction (the tree splits by length); `min` guards a loaded state.
        let n = sc
            .toks
            .len()
            .min(self.st.clusters[root as usize].tokens.len());
        let mut now = Vec::new();
        for (i, t) in sc.toks.iter().enumerate().take(n) {
            let a = self.st.clusters[root as usize].tokens[i];
            if a == WILD || self.same(a, t, msg, sc) {
                continue;
            }
            // A masked value on either side around which the other side has the same text
            // (`rhost=<*>` against `rhost=` or `rhost=example.org`) says the position holds
            // values; `(uid=<*>)` against `LOGIN(uid=<*>)` is a different word.
            let text = sc.text(msg, t);
            if t.id == WILD || holds_value(&self.st.vocab[a as usize], text) {
                // The message's token covers the template's (`bytes (<*>)` against `bytes`):
                // keep the more telling token; otherwise the position is `<*>`.
                let old = &self.st.vocab[a as usize];
                // An empty field keeps its key (`ws=<*>,`) past the routing positions, where
                // the tree routes on whole words.
                let field = (i >= self.st.config.depth)
                    .then(|| empty_field(old, text))
                    .flatten()
                    .map(|(key, tail)| format!("{key}={VAR}{tail}"));
                let token = if t.masked && covers(text, old) {
                    self.intern(text)
                } else if let Some(field) = field {
                    self.intern(&field)
                } else {
                    WILD
                };
                now.push((i, token));
                continue;
            }
            if tell_events_apart(&self.st.vocab[a as usize], text) {
                continue;
            }
            let word = self.intern(text);
            let c = &mut self.st.clusters[root as usize];
            let k = match c.seen.iter().position(|(p, _)| *p as usize == i) {
                Some(k) => k,
                None => {
                    c.seen.push((i as u32, vec![a]));
                    c.seen.len() - 1
                }
            };
            let words = &mut c.seen[k].1;
            if !words.contains(&word) {
                words.push(word);
            }
            if words.len() >= VARIABLE_WORDS {
                let field = self.field_variable(root, k, i);
                now.push((i, field));
            }
        }
        let root = if now.is_empty() {
            root
        } else {
            self.generalise_family(root, &now)
        };
        let tokens: Vec<u32> = {
            let r = &self.st.clusters[root as usize].tokens;
            if self.score(r, msg, sc, 0).fits {
                return root;
            }
            let r = r.clone();
            let own = self.interned(msg, sc, None);
            r.iter()
                .zip(own)
                .map(|(&a, m)| if a == WILD { WILD } else { m })
                .collect()
        };
        let wild: Vec<bool> = tokens
            .iter()
            .zip(&sc.toks)
            .take(self.st.config.depth)
            .map(|(&a, t)| a == WILD || t.masked)
            .collect();
        let v = self.insert(tokens, &wild);
        if v != root && self.st.clusters[v as usize].family.is_none() {
            self.st.clusters[v as usize].family = Some(root);
        }
        v
    }

    /// The token a position of `root`'s family that turned into a variable takes: `key=<*>`
    /// when its words (`seen[k]`) are all fields with one key (`user=alice`, `user=bob`), so
    /// the template keeps the name of its value; `<*>` otherwise, and at a routing position,
    /// where the tree routes on the whole word.
    fn field_variable(&mut self, root: u32, k: usize, i: usize) -> u32 {
        if i < self.st.config.depth {
            return WILD;
        }
        let words = &self.st.clusters[root as usize].seen[k].1;
        let mut keys = words.iter().map(|&w| field_key(&self.st.vocab[w as usize]));
        let Some(Some(key)) = keys.next() else {
            return WILD;
        };
        if !keys.all(|other| other == Some(key)) {
            return WILD;
        }
        let token = format!("{key}={VAR}");
        self.intern(&token)
    }

    /// Puts the general tokens `at` into template `root` and its variants, which merge
    /// into it when nothing else told them apart. Returns the template that holds the family.
    fn generalise_family(&mut self, root: u32, at: &[(usize, u32)]) -> u32 {
        let variants: Vec<u32> = (0..self.st.clusters.len() as u32)
            .filter(|&v| {
                let c = &self.st.clusters[v as usize];
                c.live && v != root && c.family == Some(root)
            })
            .collect();
        let seen = std::mem::take(&mut self.st.clusters[root as usize].seen);
        let target = self.set_wild(root, at);
        self.st.clusters[target as usize].seen = seen
            .into_iter()
            .filter(|(p, _)| !at.iter().any(|(i, _)| *i == *p as usize))
            .collect();
        for v in variants {
            let into = self.set_wild(v, at);
            if into != target && self.st.clusters[into as usize].family.is_none() {
                self.st.clusters[into as usize].family = Some(target);
            }
        }
        // Templates of the leaf that the generalised one now covers join it.
        let node = self.st.clusters[target as usize].node as usize;
        let covered: Vec<u32> = self.st.nodes[node]
            .clusters
            .iter()
            .copied()
            .filter(|&c| c != target && self.covers_template(target, c))
            .collect();
        for c in covered {
            self.retire_cluster(c, target);
        }
        target
    }

    /// Whether templates `a` and `b` differ at one position, with an equal word elsewhere.
    fn one_slot_apart(&self, a: u32, b: u32) -> bool {
        let (ta, tb) = (
            &self.st.clusters[a as usize].tokens,
            &self.st.clusters[b as usize].tokens,
        );
        let differ = ta.iter().zip(tb).filter(|(x, y)| x != y).count();
        let equal = ta.iter().zip(tb).any(|(&x, &y)| x == y && x != WILD);
        differ == 1 && equal
    }

    /// Whether template `a` takes every message template `b` takes.
    fn covers_template(&self, a: u32, b: u32) -> bool {
        let (ta, tb) = (
            &self.st.clusters[a as usize].tokens,
            &self.st.clusters[b as usize].tokens,
        );
        ta.len() == tb.len()
            && ta.iter().zip(tb).all(|(&x, &y)| {
                x == WILD
                    || x == y
                    || (y != WILD
                        && self.nvars[x as usize] > 0
                        && covers(&self.st.vocab[x as usize], &self.st.vocab[y as usize]))
            })
    }

    /// Puts the more general tokens `at` (`<*>`, or a token with `<*>` in it) into template
    /// `ci`: a new text, whose id the old one forwards to, or the live template that already
    /// has that text, which `ci` joins. A position that is `<*>` already stays so.
    fn set_wild(&mut self, ci: u32, at: &[(usize, u32)]) -> u32 {
        let tokens = &mut self.st.clusters[ci as usize].tokens;
        let mut changed = false;
        for &(i, tok) in at {
            if let Some(a) = tokens.get_mut(i) {
                if *a != WILD && *a != tok {
                    *a = tok;
                    changed = true;
                }
            }
        }
        if !changed {
            return ci;
        }
        let text = self.text_of(&self.st.clusters[ci as usize].tokens);
        let old = self.st.clusters[ci as usize].id;
        let new = TemplateId::of(&text).0;
        if let Some(target) = self.live_cluster(new) {
            if target != ci {
                // The generalised text is another template's: merge into it.
                self.retire_cluster(ci, target);
                return target;
            }
        }
        self.st.ids.insert(
            new,
            IdInfo {
                text,
                next: None,
                cluster: Some(ci),
            },
        );
        self.retire(old, new);
        self.st.clusters[ci as usize].id = new;
        ci
    }

    /// Template `ci` joins the live template `into`: its count moves, its id forwards.
    fn retire_cluster(&mut self, ci: u32, into: u32) {
        let c = &mut self.st.clusters[ci as usize];
        let count = std::mem::take(&mut c.count);
        c.live = false;
        self.live -= 1;
        let (node, old) = (c.node as usize, c.id);
        self.st.nodes[node].clusters.retain(|&x| x != ci);
        self.st.clusters[into as usize].count += count;
        self.retire(old, self.st.clusters[into as usize].id);
    }

    fn retire(&mut self, old: u64, new: u64) {
        if let Some(info) = self.st.ids.get_mut(&old) {
            info.next = Some(new);
            info.cluster = None;
        }
    }

    /// The live template an id is or forwards to.
    fn live_cluster(&self, id: u64) -> Option<u32> {
        let cur = self.resolve(TemplateId(id)).0;
        self.st.ids.get(&cur).and_then(|x| x.cluster)
    }

    fn text_of(&self, tokens: &[u32]) -> String {
        let mut s = String::new();
        for (i, &t) in tokens.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&self.st.vocab[t as usize]);
        }
        s
    }

    fn intern(&mut self, s: &str) -> u32 {
        if s == VAR {
            return WILD;
        }
        if let Some(&id) = self.lookup.get(s) {
            return id;
        }
        let id = self.st.vocab.len() as u32;
        self.st.vocab.push(s.to_string());
        self.lookup.insert(Box::from(s), id);
        self.nvars.push(s.matches(VAR).count() as u32);
        self.value_word.push(is_value_word(s));
        id
    }

    /// The message's tokens, interned, with `<*>` at position `wild` (if any): a word that
    /// becomes a variable is not kept in the vocabulary.
    fn interned(&mut self, msg: &str, sc: &Scratch, wild: Option<usize>) -> Vec<u32> {
        sc.toks
            .iter()
            .enumerate()
            .map(|(i, t)| match t.id {
                _ if Some(i) == wild => WILD,
                TRANSIENT => self.intern(sc.text(msg, t)),
                id => id,
            })
            .collect()
    }

    /// A new template from the message (or the existing one with the same text).
    /// The catch-all template of `n` tokens (`<*>` at every position), made if need be: where
    /// messages go once `max_templates` is reached. At most one per token count, so the
    /// templates stay within `max_templates` plus `max_tokens`.
    fn catch_all(&mut self, n: usize) -> u32 {
        let depth = self.st.config.depth.min(n);
        self.insert(vec![WILD; n], &vec![true; depth])
    }

    /// The number of live templates (what [`TemplateMiner::templates`] lists).
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no template was learnt.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Messages that went to a catch-all template because `parse.max_templates` was reached
    /// (since this miner was made or loaded).
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    fn create(&mut self, msg: &str, sc: &Scratch) -> u32 {
        let tokens = self.interned(msg, sc, None);
        let wild: Vec<bool> = sc
            .toks
            .iter()
            .zip(&tokens)
            .take(self.st.config.depth)
            .map(|(t, &tid)| t.masked || tid == WILD)
            .collect();
        let ci = self.insert(tokens, &wild);
        self.take_covered(ci, &wild);
        ci
    }

    /// Templates made before template `ci`, which has a value where they have a word
    /// (`Package: dpkg`, then `Package: libc6` gives `Package: <*>`), join it: a later line
    /// with such a word would join `ci` at once (see [`Self::absorb`]), so the earlier ones
    /// would otherwise keep a template only for having come first. They may sit in any leaf
    /// that `ci`'s routing tokens cover (`wild` says which positions it routes as variables).
    fn take_covered(&mut self, ci: u32, wild: &[bool]) {
        let tokens = &self.st.clusters[ci as usize].tokens;
        if !tokens
            .iter()
            .any(|&a| a == WILD || self.nvars[a as usize] > 0)
        {
            return;
        }
        let leaves = self.leaves_along(tokens.len(), |i, nd, next| {
            if wild.get(i).copied().unwrap_or(false) {
                next.extend(nd.children.values().copied());
            } else {
                next.extend(nd.children.get(&tokens[i]).copied());
            }
            next.extend(nd.wild);
        });
        let covered: Vec<u32> = leaves
            .iter()
            .flat_map(|&node| self.st.nodes[node as usize].clusters.iter().copied())
            .filter(|&c| c != ci && self.covers_template(ci, c) && self.one_slot_apart(ci, c))
            .collect();
        for c in covered {
            self.retire_cluster(c, ci);
        }
    }

    /// Adds a template (or returns the live one with the same text), routed by its tokens;
    /// routing position `i` takes the wildcard branch when `wild[i]`.
    fn insert(&mut self, tokens: Vec<u32>, wild: &[bool]) -> u32 {
        let text = self.text_of(&tokens);
        let id = TemplateId::of(&text).0;
        if let Some(ci) = self.live_cluster(id) {
            return ci;
        }
        let max_children = self.st.config.max_children;
        let n = tokens.len() as u32;
        let nodes = &mut self.st.nodes;
        let mut node = *self.st.roots.entry(n).or_insert_with(|| {
            nodes.push(Node::default());
            nodes.len() as u32 - 1
        });
        for (&w, &tid) in wild.iter().zip(&tokens) {
            let next_free = nodes.len() as u32;
            let nd = &mut nodes[node as usize];
            let next = if w {
                None
            } else if let Some(&c) = nd.children.get(&tid) {
                Some(c)
            } else if nd.children.len() < max_children {
                nd.children.insert(tid, next_free);
                nodes.push(Node::default());
                Some(next_free)
            } else {
                None
            };
            node = match next {
                Some(c) => c,
                None => match nodes[node as usize].wild {
                    Some(w) => w,
                    None => {
                        nodes[node as usize].wild = Some(next_free);
                        nodes.push(Node::default());
                        next_free
                    }
                },
            };
        }
        let ci = self.st.clusters.len() as u32;
        self.live += 1;
        self.st.nodes[node as usize].clusters.push(ci);
        self.st.clusters.push(Cluster {
            tokens,
            count: 0,
            id,
            node,
            live: true,
            family: None,
            seen: Vec::new(),
        });
        self.st.ids.insert(
            id,
            IdInfo {
                text,
                next: None,
                cluster: Some(ci),
            },
        );
        ci
    }

    /// Makes a routing position a variable when the message would be the
    /// [`ROUTING_VALUES`]th distinct word there among templates that are otherwise alike
    /// (`alice logged in from <*>`, `bob logged in from <*>`, ...): they and the message
    /// become one template with `<*>` at that position, and their ids forward to it. Returns
    /// that template, or `None` when no position qualifies (the message then gets a template
    /// of its own).
    ///
    /// Words in code style never count (`tickTime set to <*>`, `onNotificationClick called`),
    /// nor do templates with fewer than [`ROUTING_MIN_EQUAL`] equal words besides, and the
    /// count is of distinct words: a program that logs `Acquiring suspend blocker` and
    /// `Releasing suspend blocker`, or `boot`, `wait` and `halt` `(command <*>)`, has two or
    /// three constants there, while names and terms keep coming.
    fn merge_routing(&mut self, msg: &str, sc: &Scratch) -> Option<u32> {
        let n = sc.toks.len();
        let threshold = self.st.config.similarity;
        let constants = sc.toks.iter().filter(|t| !t.masked && t.id != WILD).count();
        for k in 0..self.st.config.depth.min(n) {
            let t = &sc.toks[k];
            if t.masked || t.id == WILD {
                continue;
            }
            // A word in code style is a name of the program's, unless the rest of a long
            // message is the same (`com.apple.CacheDelete.daily: scheduler_evaluate_activity
            // told me to run this job; ...` for each job). A message with one constant word
            // besides (`notice abbrev`) can have neither, and takes more names there instead.
            let text = sc.text(msg, t);
            // The constant words besides this one.
            let context = constants - 1;
            let short = context < ROUTING_MIN_EQUAL as usize;
            let (min_equal, values) = if short {
                if context == 0 || !is_name(text) {
                    continue;
                }
                (1, PLAIN_WORD_VALUES)
            } else if is_value_word(text) {
                (ROUTING_MIN_EQUAL, ROUTING_VALUES)
            } else {
                (ROUTING_LONG_CONTEXT, ROUTING_VALUES)
            };
            let mut group = Vec::new();
            let mut words: Vec<u32> = Vec::new();
            for leaf in self.routing_siblings(&sc.toks, k) {
                for &ci in &self.st.nodes[leaf as usize].clusters {
                    let tpl = &self.st.clusters[ci as usize].tokens;
                    let a = tpl[k];
                    if a == WILD || self.same(a, t, msg, sc) {
                        continue;
                    }
                    let counts = if short {
                        is_name(&self.st.vocab[a as usize])
                    } else {
                        min_equal == ROUTING_LONG_CONTEXT || self.value_word[a as usize]
                    };
                    if !counts {
                        continue;
                    }
                    // Position `k` differs, so it counts in neither `eq` nor `vars`: the
                    // similarity of the other positions is over `n - 1`.
                    let s = self.score(tpl, msg, sc, 0);
                    if s.eq >= min_equal && s.sim(n - 1) >= threshold {
                        group.push(ci);
                        if !words.contains(&a) {
                            words.push(a);
                        }
                    }
                }
            }
            if words.len() + 1 >= values {
                return Some(self.merge_at(k, &group, msg, sc));
            }
        }
        None
    }

    /// Makes a position after the routing ones a variable when the message would be the
    /// [`VARIABLE_WORDS`]th distinct word there among the templates of its leaf that are the
    /// same as the message everywhere else: they and the message become one template with
    /// `<*>` there, and their ids forward to it. [`Self::absorb`] does this for a message
    /// similar enough to a template, but a short message that differs in one word of three
    /// (`<*> configure vim:<*> <*> <none>`, then `dbus:<*>`, `wget:<*>`, ... in a package
    /// manager's log) is not, and each would keep a template of its own. Only a name with a
    /// value after a colon counts ([`is_qualified_name`]), with [`SLOT_MIN_EQUAL`] equal
    /// words besides: a plain word alone is too often
    /// the event itself (BGL's `program interrupt: illegal`, `privileged`, `imprecise`,
    /// `trap instruction`, four events, lost 1 point of GA when plain words counted too).
    /// A later name then fits that template but is still not similar enough to it (a
    /// constant where the template has `<*>` counts as a difference), so a template of the
    /// leaf that is the message but for such names where it has `<*>` takes it here. Returns
    /// that template, or `None` when no position qualifies (the message then gets a template
    /// of its own). Measured: the sixteen Loghub datasets keep every template; this
    /// machine's dpkg log (5,583 lines) went from 938 templates to 40.
    fn merge_slot(&mut self, msg: &str, sc: &Scratch) -> Option<u32> {
        let depth = self.st.config.depth;
        let (leaf, _) = self.leaf(&sc.toks, 0)?;
        // Per position: the templates that differ from the message there alone, and their
        // distinct words there.
        let mut at: Vec<(usize, Vec<u32>, Vec<u32>)> = Vec::new();
        for &ci in &self.st.nodes[leaf as usize].clusters {
            let tpl = &self.st.clusters[ci as usize].tokens;
            let (mut differs, mut eq, mut alike, mut open) = (None, 0, true, false);
            for (i, (&a, t)) in tpl.iter().zip(&sc.toks).enumerate() {
                let var = t.masked || t.id == WILD;
                if a == WILD {
                    // A slot this rule made a variable takes further names.
                    alike &= var || (i >= depth && is_name(sc.text(msg, t)));
                    open |= !var;
                } else if self.same(a, t, msg, sc) {
                    eq += u32::from(!var);
                } else {
                    alike &= differs.is_none() && i >= depth;
                    differs = Some(i);
                }
                if !alike {
                    break;
                }
            }
            let alike = alike && eq >= SLOT_MIN_EQUAL;
            if alike && open && differs.is_none() {
                return Some(ci);
            }
            let Some(k) = differs.filter(|_| alike && !open) else {
                continue;
            };
            let word = tpl[k];
            if !is_name(&self.st.vocab[word as usize]) {
                continue;
            }
            match at.iter_mut().find(|(p, _, _)| *p == k) {
                Some((_, group, words)) => {
                    group.push(ci);
                    if !words.contains(&word) {
                        words.push(word);
                    }
                }
                None => at.push((k, vec![ci], vec![word])),
            }
        }
        let (k, group, _) = at.into_iter().find(|(k, _, words)| {
            let text = sc.text(msg, &sc.toks[*k]);
            let qualified = is_qualified_name(text)
                && words
                    .iter()
                    .all(|&w| is_qualified_name(&self.st.vocab[w as usize]));
            let need = if qualified {
                VARIABLE_WORDS
            } else {
                PLAIN_WORD_VALUES
            };
            words.len() + 1 >= need && is_name(text)
        })?;
        Some(self.merge_at(k, &group, msg, sc))
    }

    /// Leaves of templates with the message's length whose routing path is the message's
    /// except at routing position `k`, where it may be any child or the wildcard.
    fn routing_siblings(&self, toks: &[Tok], k: usize) -> Vec<u32> {
        self.leaves_along(toks.len(), |i, nd, next| {
            let t = &toks[i];
            if i == k {
                next.extend(nd.children.values().copied());
                next.extend(nd.wild);
            } else if t.masked || t.id == WILD {
                next.extend(nd.wild);
            } else {
                next.extend(nd.children.get(&t.id).copied().or(nd.wild));
            }
        })
    }

    /// The leaves of templates of `n` tokens reached from the root by the branches that
    /// `branch` picks at each routing position (it is given the position and a node on the
    /// way, and adds the children to follow).
    fn leaves_along(
        &self,
        n: usize,
        mut branch: impl FnMut(usize, &Node, &mut Vec<u32>),
    ) -> Vec<u32> {
        let Some(&root) = self.st.roots.get(&(n as u32)) else {
            return Vec::new();
        };
        let mut level = vec![root];
        for i in 0..n.min(self.st.config.depth) {
            let mut next = Vec::new();
            for &node in &level {
                branch(i, &self.st.nodes[node as usize], &mut next);
            }
            level = next;
        }
        level
    }

    /// One template for the message and `group` with `<*>` at routing position `k` (and
    /// wherever they differ); the group's templates forward to it.
    fn merge_at(&mut self, k: usize, group: &[u32], msg: &str, sc: &Scratch) -> u32 {
        let mut tokens = self.interned(msg, sc, Some(k));
        for &ci in group {
            for (m, &a) in tokens.iter_mut().zip(&self.st.clusters[ci as usize].tokens) {
                if *m != a {
                    *m = WILD;
                }
            }
        }
        let wild: Vec<bool> = sc
            .toks
            .iter()
            .zip(&tokens)
            .take(self.st.config.depth)
            .map(|(t, &tid)| t.masked || tid == WILD)
            .collect();
        let target = self.insert(tokens, &wild);
        for &ci in group {
            if ci != target && self.st.clusters[ci as usize].live {
                self.retire_cluster(ci, target);
            }
        }
        target
    }

    /// Numeric values of the message in the template's slots (the template fits the message).
    fn params(&self, tpl: &[u32], sc: &Scratch) -> Vec<Param> {
        // Sized once: at most one parameter per value found (no allocation when none).
        let cap = sc.vals.iter().filter(|v| v.is_some()).count();
        let mut out = Vec::with_capacity(cap);
        let mut slot = 0;
        for (&a, t) in tpl.iter().zip(&sc.toks) {
            let vals = &sc.vals[t.vals.clone()];
            if a == WILD {
                if let [Some(v)] = vals {
                    out.push(Param { slot, value: *v });
                }
                slot += 1;
            } else {
                // A constant of the template equals the message's token here (a fresh
                // template's token may still read as unknown in `t.id`).
                let n = self.nvars[a as usize] as usize;
                for (k, v) in vals.iter().take(n).enumerate() {
                    if let Some(v) = v {
                        out.push(Param {
                            slot: slot + k,
                            value: *v,
                        });
                    }
                }
                slot += n;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_with_values_covers_the_text_around_its_first_and_last_value() {
        assert!(covers("rhost=<*>", "rhost="));
        assert!(covers("rhost=<*>", "rhost=example.org"));
        assert!(covers("(<*>)", "()"));
        assert!(covers("<*>:<*>", "10.0.0.1:22"));
        assert!(covers("a<*>b<*>c", "aXbYc"));
        // Only the text before the first value and after the last is compared.
        assert!(covers("a<*>b<*>c", "ac"));
        assert!(covers("bytes (<*>)", "bytes"));
        assert!(!covers("rhost=<*>", "user=root"));
        assert!(!covers("(<*>)", ")("));
        assert!(!covers("<*>]", "x)"));
        assert!(!covers("plain", "plain2"));
        assert!(!covers("<*", "<x"));
    }

    #[test]
    fn tokens_reused_after_a_long_message_keep_only_a_bounded_room() {
        let tokenizer = TemplateMiner::default().tokenizer();
        let mut tokens = Tokens::default();
        // Plain words (not values), so that no run of them is joined into one variable.
        let long: Vec<String> = (0..2_000u32)
            .map(|i| format!("w{}{}", char::from(b'a' + (i % 26) as u8), i / 26 % 2))
            .collect();
        tokenizer.split(&long.join(" "), &mut tokens);
        assert!(
            tokens.sc.toks.len() > KEEP_TOKENS,
            "{}",
            tokens.sc.toks.len()
        );
        tokenizer.split("disk full on /var", &mut tokens);
        assert_eq!(tokens.sc.toks.len(), 4);
        assert!(tokens.sc.toks.capacity() <= KEEP_TOKENS);
        assert!(tokens.sc.vals.capacity() <= KEEP_TOKENS);
        assert!(tokens.sc.buf.capacity() <= KEEP_TOKENS * 16);
    }
}

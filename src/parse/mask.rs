//! Masking: the variable parts of one whitespace-separated token become `<*>`.
//!
//! A token is cut into pieces at delimiters (`=`, `,`, `;`, brackets, quotes, `|`), so
//! `latency=250ms` keeps its key and masks its value, and `(blk_1,` keeps its punctuation.
//! A piece is a variable when it holds a digit (numbers with or without units, hex, hashes,
//! uuids, IPv4/IPv6, host:port, times and dates, ids such as `job_1445144423722_0020` or
//! `user123`), or when it is a url, an email address or a file path. Words without digits
//! are constants here: whether such a word varies is for the miner to learn, since words
//! like `RUNNING` or `DataNode` are usually part of the message's shape.
//!
//! A quoted value (`'red shoes'`, `"laptop"`, `term='gift card balance'`) is one variable
//! whatever it holds and however many words: quoting is how a program marks a value it did not
//! write (a search term, a file or customer name), and a value with spaces would otherwise
//! change the message's token count and split its template ([`quoted_span`]). Four kinds of
//! quoted text stay as they are, since they are part of the message's shape: a single
//! identifier in code style (`'sparkExecutorActorSystem'`, `"PowerManagerService.WakeLocks"`,
//! `'dfs.datanode.data.dir'`, `'RUNNING'`), an HTTP request line (`"GET /a HTTP/1.1"`, whose
//! method is the event), a JSON key (`"user":`, whose value after it is masked on its own)
//! and the text of a structured line's message or error (`msg="Starting TSDB ..."`,
//! `"err":"connection refused"`, see `is_text_key`), whose words are masked one by one.
//! Brackets are not values: `[error]`, `[main]`, `<init>` are levels, threads and components
//! far more often than user input.
//!
//! A relative path is a variable too when it cannot be wording: two slashes or more with a
//! name of four characters or more (`node_modules/@npmcli/fs`), or a file name with an
//! extension (`lib/commands/cache.js`); `I/O`, `read/write` and `seq/ack/win` stay.
//!
//! Hand-written byte scanning, no regex: this runs for every token of every line.
//! Invariant: a token without a digit, `/`, `\`, `@`, `:` and a quote is never changed, and
//! the masked text holds exactly one `<*>` per value pushed.

/// The text of a variable.
pub const VAR: &str = "<*>";

/// Masks one token. Returns `false` (and writes nothing) when the token has no variable part;
/// otherwise appends the masked token to `out` and, for each `<*>` written, its numeric value
/// (if it is a number) to `vals`.
pub fn mask_token(tok: &str, out: &mut String, vals: &mut Vec<Option<f64>>) -> bool {
    let mut any = 0u8;
    for &c in tok.as_bytes() {
        any |= CLASS[c as usize];
    }
    if any & QUOTE != 0 {
        let mut unclosed = 0;
        if let Some(q) = quoted_span(tok.as_bytes(), 0, &mut unclosed) {
            if q.end == tok.len() {
                push_quoted(tok, 0, q, out, vals);
                return true;
            }
        }
    }
    mask_classified(tok, any, out, vals)
}

/// A quoted value that opens a token: the token (or run of tokens) `start..end` of the text
/// masks to `text[start..open]`, `<*>`, `text[close + 1..end]` (`tag="View Lock",` gives
/// `tag=<*>,`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quoted {
    /// The opening quote.
    pub open: usize,
    /// The closing quote.
    pub close: usize,
    /// The end of the token that holds the closing quote.
    pub end: usize,
}

/// HTTP methods: a quoted request line (`"GET /a HTTP/1.1"`) is not one value.
const HTTP_METHODS: &[&[u8]] = &[
    b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"PATCH", b"OPTIONS", b"CONNECT", b"TRACE",
];

/// The quoted value that opens the token at `start` of `text`, if any: after optional opening
/// brackets and an optional `key=`, `key:` or `"key":`, a `'` or `"` whose partner closes a
/// token. The partner is the next quote of the same kind that is not inside a word (`can't`,
/// `don't` and `McDonald's` neither open nor close); when only closing punctuation follows it
/// up to the whitespace the value is found, and when more text follows (`"a","b":1}`, compact
/// JSON) there is none. `unclosed` remembers per quote character that no partner is left from
/// here on, so a message full of stray quotes is scanned once, not once per quote.
pub(crate) fn quoted_span(text: &[u8], start: usize, unclosed: &mut u8) -> Option<Quoted> {
    let word_end = |from: usize| {
        text[from..]
            .iter()
            .position(|&c| CLASS[c as usize] & SPACE != 0)
            .map_or(text.len(), |p| from + p)
    };
    let mut j = start;
    while j < text.len() && matches!(text[j], b'(' | b'[' | b'{' | b'<') {
        j += 1;
    }
    let key_end = text[j..]
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')))
        .map_or(text.len(), |p| j + p);
    let mut key: &[u8] = &[];
    if key_end > j && key_end + 1 < text.len() && matches!(text[key_end], b'=' | b':') {
        key = &text[j..key_end];
        j = key_end + 1;
    } else if text.get(j) == Some(&b'"') {
        // `"key":"value"`: the value opens after the key.
        let end = word_end(j);
        if let Some(p) = text[j + 1..end].iter().position(|&c| c == b'"') {
            let colon = j + 1 + p + 1;
            if text.get(colon) == Some(&b':') && colon + 1 < end {
                key = &text[j + 1..colon - 1];
                j = colon + 1;
            }
        }
    }
    if key.is_empty() && j == start {
        // `"msg": "listening"`: the key is the token before.
        let before = text[..start].trim_ascii_end();
        if let Some(k) = before.strip_suffix(b"\":") {
            key = k
                .iter()
                .rposition(|&c| c == b'"')
                .map_or(&[], |q| &k[q + 1..]);
        }
    }
    if is_text_key(key) {
        return None;
    }
    let q = *text.get(j)?;
    let bit = match q {
        b'\'' => 1,
        b'"' => 2,
        _ => return None,
    };
    if *unclosed & bit != 0 {
        return None;
    }
    let inner = &text[j + 1..];
    if q == b'"' {
        let method = HTTP_METHODS
            .iter()
            .any(|m| inner.starts_with(m) && inner.get(m.len()) == Some(&b' '));
        // A JSON key: its partner is the next quote, and a colon follows.
        let key = inner
            .iter()
            .position(|&c| c == b'"')
            .is_some_and(|p| inner.get(p + 1) == Some(&b':'));
        if method || key {
            return None;
        }
    }
    let mut p = j + 1;
    let (close, end) = loop {
        let Some(off) = text[p..].iter().position(|&c| c == q) else {
            *unclosed |= bit;
            return None;
        };
        p += off;
        let mut e = p + 1;
        while e < text.len() && is_after_quote(text[e]) {
            e += 1;
        }
        if e == text.len() || CLASS[text[e] as usize] & SPACE != 0 {
            break (p, e);
        }
        if e > p + 1 {
            // Closed inside the token (`"a","b"`): not a value of its own.
            return None;
        }
        p += 1;
    };
    let inner = &text[j + 1..close];
    if !inner.iter().any(|&c| CLASS[c as usize] & SPACE != 0) && is_code_name(inner) {
        return None;
    }
    Some(Quoted {
        open: j,
        close,
        end,
    })
}

/// Keys whose quoted value is the text of the event, not a value in it: the message of a
/// structured line (`level=info msg="Starting TSDB ..."` as Go's logfmt loggers write it,
/// `"msg":"listening"` in JSON) and its error (`err="connection refused"`). Masked whole,
/// every event of such a source would share one template; their words are split and masked
/// like the rest of the line instead.
fn is_text_key(key: &[u8]) -> bool {
    ["msg", "message", "err", "error"]
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k.as_bytes()))
}

/// Punctuation that may follow a closing quote within its token.
fn is_after_quote(c: u8) -> bool {
    matches!(
        c,
        b')' | b']' | b'}' | b'>' | b',' | b';' | b'.' | b':' | b'!' | b'?'
    )
}

/// Writes the mask of the quoted value `q` that opens at `start` of `text`; its value is the
/// number it holds, if it is one (`'42'`).
pub(crate) fn push_quoted(
    text: &str,
    start: usize,
    q: Quoted,
    out: &mut String,
    vals: &mut Vec<Option<f64>>,
) {
    out.push_str(&text[start..q.open]);
    out.push_str(VAR);
    out.push_str(&text[q.close + 1..q.end]);
    vals.push(number_value(&text[q.open + 1..q.close]));
}

/// An identifier in code style: a dotted name ([`is_dotted_name`]), or letters (and `_`, `.`,
/// `$`, `-`) with a camel-case hump (`sparkExecutorActorSystem`) or all in capitals
/// (`RUNNING`, `ON_HOLD`). Plain words (`laptop`, `Alice`) are values.
fn is_code_name(b: &[u8]) -> bool {
    if is_dotted_name(b) {
        return true;
    }
    if !b.first().is_some_and(u8::is_ascii_alphabetic)
        || !b
            .iter()
            .all(|&c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'.' | b'$' | b'-'))
    {
        return false;
    }
    let hump = b
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    let capitals = b.len() >= 2 && !b.iter().any(u8::is_ascii_lowercase);
    hump || capitals
}

/// The union of the classes of a token's bytes, for [`mask_classified`].
#[inline]
pub(crate) fn class_of(c: u8) -> u8 {
    CLASS[c as usize]
}

/// As [`mask_token`], with `any` the union of [`class_of`] over the token's bytes (computed
/// by the caller while it splits the message).
#[inline]
pub(crate) fn mask_classified(
    tok: &str,
    any: u8,
    out: &mut String,
    vals: &mut Vec<Option<f64>>,
) -> bool {
    if any & (DIGIT | SPECIAL) == 0 {
        return false;
    }
    let b = tok.as_bytes();
    if tok == VAR {
        out.push_str(VAR);
        vals.push(None);
        return true;
    }
    // A url, or a path that opens the token, swallows everything up to the trailing
    // punctuation: it may hold `=`, `;`, `,` (query strings).
    let lead = b
        .iter()
        .position(|&c| !matches!(c, b'"' | b'\'' | b'(' | b'[' | b'{' | b'<'))
        .unwrap_or(b.len());
    let url = find_scheme_sep(b, any).and_then(|pos| {
        let start = b[..pos]
            .iter()
            .rposition(|&c| is_delim(c))
            .map_or(0, |p| p + 1);
        (start < pos && b[start..pos].iter().all(|c| c.is_ascii_alphanumeric())).then_some(start)
    });
    let path = any & SLASH != 0 && is_path(&b[lead..]);
    if let Some(lead) = url.or_else(|| path.then_some(lead)) {
        let mut end = b.len();
        while end > lead + 1 && is_closing(b[end - 1]) {
            end -= 1;
        }
        out.push_str(&tok[..lead]);
        out.push_str(VAR);
        vals.push(None);
        out.push_str(&tok[end..]);
        return true;
    }
    let mark = out.len();
    let nvals = vals.len();
    let mut any = false;
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if is_delim(c) {
            any |= mask_piece(&tok[start..i], out, vals);
            out.push(c as char);
            start = i + 1;
        }
    }
    any |= mask_piece(&tok[start..], out, vals);
    if !any {
        out.truncate(mark);
        vals.truncate(nvals);
    } else if vals.len() - nvals > 1 && !out[mark..].bytes().any(|c| c.is_ascii_alphanumeric()) {
        // Only variables and punctuation (`1.2.3.4,5.6.7.8`, `R1:J2`): one variable. (`<*>`
        // holds no alphanumeric byte, so the test needs no copy without the variables.)
        out.truncate(mark);
        vals.truncate(nvals);
        out.push_str(VAR);
        vals.push(None);
    }
    any
}

/// Punctuation that may close a token after a url or path.
fn is_closing(c: u8) -> bool {
    matches!(
        c,
        b')' | b']' | b'}' | b'>' | b'"' | b'\'' | b',' | b';' | b'.' | b':'
    )
}

/// Byte classes, looked up once per byte.
const DIGIT: u8 = 1;
/// Hex digits and the punctuation of numbers, addresses, times and dates.
const BLOB: u8 = 2;
/// `/` and `\`: the bytes of paths (and urls).
const SLASH: u8 = 4;
const COLON: u8 = 8;
const AT: u8 = 16;
/// `/`, `\`, `@`, `:`: bytes of paths, urls, emails, addresses.
const SPECIAL: u8 = SLASH | COLON | AT;
/// ASCII whitespace: separates tokens.
pub(crate) const SPACE: u8 = 32;
/// Bytes that separate the pieces of a token: `=`, `,`, `;`, brackets, quotes, `|`.
const DELIM: u8 = 64;
/// `'` and `"`: a token with one may open a quoted value ([`quoted_span`]).
pub(crate) const QUOTE: u8 = 128;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_digit() {
            k |= DIGIT;
        }
        if b.is_ascii_hexdigit()
            || matches!(
                b,
                b'.' | b':' | b'-' | b'_' | b'+' | b'/' | b'x' | b'X' | b'T' | b'Z'
            )
        {
            k |= BLOB;
        }
        if matches!(b, b'/' | b'\\') {
            k |= SLASH;
        }
        if b == b':' {
            k |= COLON;
        }
        if b == b'@' {
            k |= AT;
        }
        if b.is_ascii_whitespace() {
            k |= SPACE;
        }
        if matches!(
            b,
            b'=' | b','
                | b';'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'"'
                | b'\''
                | b'<'
                | b'>'
                | b'|'
        ) {
            k |= DELIM;
        }
        if matches!(b, b'\'' | b'"') {
            k |= QUOTE;
        }
        t[c] = k;
        c += 1;
    }
    t
};

/// Where `://` is in the token, if it has a colon at all.
fn find_scheme_sep(b: &[u8], any: u8) -> Option<usize> {
    if any & COLON == 0 {
        return None;
    }
    b.windows(3).position(|w| w == b"://")
}

/// Bytes that separate the pieces of a token.
#[inline]
fn is_delim(c: u8) -> bool {
    CLASS[c as usize] & DELIM != 0
}

/// Masks one piece (no delimiters in it); always writes the piece or its mask.
fn mask_piece(p: &str, out: &mut String, vals: &mut Vec<Option<f64>>) -> bool {
    if p.is_empty() {
        return false;
    }
    let b = p.as_bytes();
    let (mut any, mut all) = (0u8, 0xffu8);
    for &c in b {
        let k = CLASS[c as usize];
        any |= k;
        all &= k;
    }
    let digit = any & DIGIT != 0;
    let colon = any & COLON != 0;
    let blob = all & BLOB != 0;
    if !digit && any & SPECIAL == 0 {
        out.push_str(p);
        return false;
    }
    if digit && is_device_tag(b) {
        out.push_str(p);
        return false;
    }
    if (digit && blob) || (any & SLASH != 0 && is_path(b)) || (any & AT != 0 && is_email(b)) {
        out.push_str(VAR);
        vals.push(if digit { number_value(p) } else { None });
        return true;
    }
    if colon {
        // `key:value`, `host:port`, `R23-M1:J18`: each side on its own.
        let mut any = false;
        for (i, part) in p.split(':').enumerate() {
            if i > 0 {
                out.push(':');
            }
            if part.bytes().any(|c| c.is_ascii_digit()) && !is_dotted_name(part.as_bytes()) {
                out.push_str(VAR);
                vals.push(number_value(part));
                any = true;
            } else {
                out.push_str(part);
            }
        }
        return any;
    }
    if digit && !is_dotted_name(b) {
        out.push_str(VAR);
        vals.push(number_value(p));
        return true;
    }
    out.push_str(p);
    false
}

/// A dotted name such as `org.apache.hadoop.mapreduce.v2.app.MRAppMaster` or
/// `software.amazon.s3.Client`: three or more segments that start with a letter, where a
/// segment with digits is short (a version or product tag, not a host or an id).
fn is_dotted_name(b: &[u8]) -> bool {
    let mut segments = 0;
    for seg in b.split(|&c| c == b'.') {
        let ok = seg.first().is_some_and(u8::is_ascii_alphabetic)
            && seg
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
            && (seg.len() <= 3 || !seg.iter().any(u8::is_ascii_digit));
        if !ok {
            return false;
        }
        segments += 1;
    }
    segments >= 3
}

/// A device or protocol tag: two to five letters and one digit (`eth0`, `en0`, `wl0`, `awdl0`,
/// `IPv4`, `sda1`). Interfaces, disks and protocol versions are few on a machine and name
/// what happened; when one varies like a value, the miner learns so from its words.
fn is_device_tag(b: &[u8]) -> bool {
    matches!(b, [letters @ .., d] if d.is_ascii_digit()
        && (2..=5).contains(&letters.len())
        && letters.iter().all(u8::is_ascii_alphabetic))
}

/// `/a/b`, `./a`, `../a`, `~/a`, `C:\a`: a file path (a lone `/` is not).
fn is_path(b: &[u8]) -> bool {
    match b {
        [b'/', rest @ ..] => rest.iter().any(|c| c.is_ascii_alphanumeric()),
        [b'~' | b'.', b'/', ..] | [b'.', b'.', b'/', ..] => true,
        [d, b':', b'\\', ..] => d.is_ascii_alphabetic(),
        _ => is_relative_path(b),
    }
}

/// A relative path: names of letters, digits, `.`, `_`, `-` and `@` joined by single slashes,
/// with at least two slashes (`node_modules/@npmcli/fs`) or a file name with an
/// extension after the last one (`lib/commands/cache.js`, `gdb.base/auxv.exp`,
/// `Modules/getpath.o`). Words with one slash and no extension (`I/O`, `TCP/IP`,
/// `read/write`), or short ones with more (`seq/ack/win`), are not one: those are part of a
/// message's wording far more often than a file is.
fn is_relative_path(b: &[u8]) -> bool {
    // A token with a leading `/` is an absolute path and never gets here (see [`is_path`]),
    // and the closing punctuation trimmed below holds no `/`.
    let slashes = b.iter().filter(|&&c| c == b'/').count();
    if slashes == 0 {
        return false;
    }
    let end = b.iter().rposition(|&c| !is_closing(c)).map_or(0, |p| p + 1);
    let b = &b[..end];
    if b.windows(2).any(|w| w == b"//")
        || !b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@' | b'/'))
    {
        return false;
    }
    let file = b.rsplit(|&c| c == b'/').next().unwrap_or_default();
    let extension = file.iter().rposition(|&c| c == b'.').is_some_and(|dot| {
        let ext = &file[dot + 1..];
        dot > 0
            && (1..=8).contains(&ext.len())
            && ext[0].is_ascii_alphabetic()
            && ext.iter().all(u8::is_ascii_alphanumeric)
    });
    // Short words joined by slashes are wording (`seq/ack/win`).
    let long_name = b.split(|&c| c == b'/').any(|name| name.len() > 3);
    (slashes >= 2 && long_name) || extension
}

/// `name@domain.tld`.
fn is_email(b: &[u8]) -> bool {
    let Some(at) = b.iter().position(|&c| c == b'@') else {
        return false;
    };
    at > 0
        && b[at + 1..].contains(&b'.')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'@' | b'.' | b'_' | b'-' | b'+'))
}

/// A UTC offset (`-0500`, `+0530`, `+1000`): a sign, two hour digits up to 14 and minutes of
/// 00, 30 or 45. Not a quantity: its value changes by a hundred at every daylight-saving
/// switch, which a value slot would report as a drift. (A signed amount of exactly that
/// shape, `-1000`, is not tracked as a value either; that is the price.)
fn is_utc_offset(b: &[u8]) -> bool {
    b.len() == 5
        && matches!(b[0], b'-' | b'+')
        && b[1..].iter().all(u8::is_ascii_digit)
        && (b[1] - b'0') * 10 + (b[2] - b'0') <= 14
        && matches!(&b[3..], b"00" | b"30" | b"45")
}

/// Units that may follow a number (`250ms`, `1.5s`, `10KB`, `3GiB`, `80%`).
const UNITS: &[&str] = &[
    "ns", "us", "µs", "ms", "s", "sec", "secs", "m", "min", "mins", "h", "hr", "hrs", "d", "b",
    "k", "kb", "mb", "gb", "tb", "pb", "kib", "mib", "gib", "tib", "g", "t", "%", "x", "bytes",
];

/// The value of a number with an optional sign, fraction, exponent and unit; `None` for
/// anything else (`0x1f`, `user123`, `1.2.3.4`).
pub fn number_value(p: &str) -> Option<f64> {
    let p = p.strip_suffix('.').unwrap_or(p);
    let b = p.as_bytes();
    if is_utc_offset(b) {
        return None;
    }
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits_start = i;
    let mut int: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        int = int.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
        i += 1;
    }
    let mut seen = i > digits_start;
    if seen && i == b.len() && i - digits_start <= 15 {
        // A plain integer (the common case): exact in f64, no float parsing needed.
        let v = int as f64;
        return Some(if b[0] == b'-' { -v } else { v });
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        seen |= i > f;
    }
    if !seen {
        return None;
    }
    if i + 1 < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if b[j] == b'-' || b[j] == b'+' {
            j += 1;
        }
        let e = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > e {
            i = j;
        }
    }
    let unit = &p[i..];
    if !unit.is_empty() && !UNITS.iter().any(|u| unit.eq_ignore_ascii_case(u)) {
        return None;
    }
    p[..i].parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masked form of `tok` and its values.
    fn m(tok: &str) -> (String, Vec<Option<f64>>) {
        let (mut out, mut vals) = (String::new(), Vec::new());
        if mask_token(tok, &mut out, &mut vals) {
            (out, vals)
        } else {
            (tok.to_string(), vals)
        }
    }

    fn masked(tok: &str) -> String {
        m(tok).0
    }

    #[test]
    fn numbers_with_signs_fractions_and_units() {
        assert_eq!(m("42"), ("<*>".into(), vec![Some(42.0)]));
        assert_eq!(m("-17"), ("<*>".into(), vec![Some(-17.0)]));
        assert_eq!(m("+3.25"), ("<*>".into(), vec![Some(3.25)]));
        assert_eq!(m("1e-3"), ("<*>".into(), vec![Some(0.001)]));
        assert_eq!(m("250ms"), ("<*>".into(), vec![Some(250.0)]));
        assert_eq!(m("1.5s"), ("<*>".into(), vec![Some(1.5)]));
        assert_eq!(m("10KB"), ("<*>".into(), vec![Some(10.0)]));
        assert_eq!(m("3GiB"), ("<*>".into(), vec![Some(3.0)]));
        assert_eq!(m("97%"), ("<*>".into(), vec![Some(97.0)]));
        assert_eq!(m("12,"), ("<*>,".into(), vec![Some(12.0)]));
        assert_eq!(m("(5)"), ("(<*>)".into(), vec![Some(5.0)]));
    }

    #[test]
    fn hex_hashes_and_uuids() {
        assert_eq!(m("0x7fff5fbff8c8"), ("<*>".into(), vec![None]));
        assert_eq!(masked("d41d8cd98f00b204e9800998ecf8427e"), "<*>");
        assert_eq!(masked("550e8400-e29b-41d4-a716-446655440000"), "<*>");
        assert_eq!(masked("sha:3f2a9c"), "sha:<*>");
        // Words made of hex letters only are words.
        assert_eq!(masked("added"), "added");
        assert_eq!(masked("deadbeef"), "deadbeef");
    }

    #[test]
    fn addresses_hosts_and_ports() {
        assert_eq!(m("10.251.42.84"), ("<*>".into(), vec![None]));
        assert_eq!(masked("10.251.42.84:50010"), "<*>");
        assert_eq!(masked("/10.250.19.102:54106"), "<*>");
        assert_eq!(masked("fe80::1ff:fe23:4567:890a"), "<*>");
        assert_eq!(masked("db-7.prod.example.com:5432"), "<*>");
        assert_eq!(masked("10.0.0.1,10.0.0.2"), "<*>");
        assert_eq!(masked("\"GET"), "\"GET");
        assert_eq!(masked("user@example.com"), "<*>");
        assert_eq!(masked("<alice@example.org>"), "<<*>>");
        assert_eq!(masked("mailto"), "mailto");
    }

    #[test]
    fn urls_and_paths() {
        assert_eq!(masked("https://example.com/a?b=1&c=2"), "<*>");
        assert_eq!(masked("url=http://x.org/y,"), "url=<*>,");
        assert_eq!(masked("/var/log/syslog"), "<*>");
        assert_eq!(masked("(/tmp/x.sock)"), "(<*>)");
        assert_eq!(masked("./run.sh"), "<*>");
        assert_eq!(masked("C:\\Windows\\system32"), "<*>");
        assert_eq!(masked("/"), "/");
        assert_eq!(masked("(\"/v2/x?a=True&b=2017-05-16T00%3A00\")"), "(<*>)");
        assert_eq!(masked("read/write"), "read/write");
        // Relative paths: two slashes or more, or a file name with an extension.
        assert_eq!(masked("lib/commands/cache.js"), "<*>");
        assert_eq!(masked("gdb.base/auxv.exp:"), "<*>:");
        assert_eq!(masked("node_modules/@npmcli/fs"), "<*>");
        assert_eq!(masked("(Modules/getpath.o)"), "(<*>)");
        assert_eq!(masked("file=conf/app.yml,"), "file=<*>,");
        assert_eq!(masked("I/O"), "I/O");
        assert_eq!(masked("TCP/IP,"), "TCP/IP,");
        assert_eq!(masked("and/or."), "and/or.");
        assert_eq!(masked("text/html;"), "text/html;");
        assert_eq!(masked("a//b/c"), "a//b/c");
        assert_eq!(masked("seq/ack/win"), "seq/ack/win");
        assert_eq!(masked("src/main/java"), "<*>");
    }

    #[test]
    fn key_values_keep_the_key() {
        assert_eq!(
            m("latency=250ms"),
            ("latency=<*>".into(), vec![Some(250.0)])
        );
        assert_eq!(m("size:93.0"), ("size:<*>".into(), vec![Some(93.0)]));
        assert_eq!(masked("state=RUNNING"), "state=RUNNING");
        assert_eq!(masked("[pid=42,uid=0]"), "[pid=<*>,uid=<*>]");
        assert_eq!(masked("id=\"abc123\","), "id=<*>,");
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(masked("2015-10-18T18:01:47.978+0800"), "<*>");
        assert_eq!(masked("18:01:47"), "<*>");
        assert_eq!(masked("2026-11-30"), "<*>");
        assert_eq!(masked("[10:22:01.5]"), "[<*>]");
    }

    #[test]
    fn identifiers_mixing_letters_and_digits() {
        assert_eq!(masked("blk_-1608999687919862906"), "<*>");
        assert_eq!(masked("job_1445144423722_0020"), "<*>");
        assert_eq!(masked("container_1445144423722_0020_01_000001"), "<*>");
        assert_eq!(m("user123"), ("<*>".into(), vec![None]));
        assert_eq!(masked("R23-M1-N8-I:J18-U11"), "<*>");
        assert_eq!(masked("J18-U11:ok"), "<*>:ok");
    }

    #[test]
    fn constants_stay() {
        for w in [
            "ERROR",
            "Connection",
            "closed.",
            "org.apache.hadoop.mapreduce.v2.app.MRAppMaster:",
            "-",
            "--",
            "::",
            "é",
            "<*>x",
        ] {
            assert_eq!(masked(w), w, "{w}");
        }
    }

    #[test]
    fn one_value_per_variable() {
        for tok in [
            "a=1,b=2,c",
            "x:1:2:y",
            "[1][2](3)",
            "0x1/0x2",
            "é1é",
            "\u{1}9",
        ] {
            let (out, vals) = m(tok);
            assert_eq!(out.matches(VAR).count(), vals.len(), "{tok} -> {out}");
        }
    }

    #[test]
    fn a_quoted_value_is_one_variable() {
        assert_eq!(m("'laptop'"), ("<*>".into(), vec![None]));
        assert_eq!(m("\"42\""), ("<*>".into(), vec![Some(42.0)]));
        assert_eq!(masked("''"), "<*>");
        assert_eq!(masked("('Kaffeemühle'),"), "(<*>),");
        assert_eq!(masked("tag=\"*launch*\","), "tag=<*>,");
        assert_eq!(masked("[user:'bob']"), "[user:<*>]");
        assert_eq!(masked("\"user\":\"bob\"}"), "\"user\":<*>}");
        assert_eq!(masked("'it's'"), "<*>");
    }

    #[test]
    fn quotes_that_are_not_a_value_stay() {
        for w in [
            "can't",
            "users'",
            "'open",
            "'sparkExecutorActorSystem'",
            "\"PowerManagerService.WakeLocks\".",
            "'org.apache.spark.network.netty.NettyBlockTransferService'",
            "'RUNNING'",
            "\"user\":",
            "{\"a\":\"b\",\"c\":\"d\"}",
            "'a'b",
        ] {
            assert_eq!(masked(w), w, "{w}");
        }
    }

    #[test]
    fn a_quoted_span_ends_at_its_partner_and_remembers_when_there_is_none() {
        fn span(s: &str) -> Option<&str> {
            let mut unclosed = 0;
            quoted_span(s.as_bytes(), 0, &mut unclosed).map(|q| &s[q.open..q.end])
        }
        assert_eq!(span("'red shoes' failed"), Some("'red shoes'"));
        assert_eq!(span("'a b c': x"), Some("'a b c':"));
        // A double-quoted text before a colon reads as a JSON key.
        assert_eq!(span("\"a b c\": x"), None);
        assert_eq!(span("'don't stop' now"), Some("'don't stop'"));
        assert_eq!(span("\"GET /a HTTP/1.1\" 200"), None);
        assert_eq!(span("'a b"), None);
        let text = b"'a 'b 'c \"d";
        let mut unclosed = 0;
        assert_eq!(quoted_span(text, 0, &mut unclosed), None);
        assert_eq!(unclosed, 1);
        // No `'` is left to close the later ones: they fail without a scan.
        assert_eq!(quoted_span(text, 3, &mut unclosed), None);
        assert_eq!(quoted_span(text, 9, &mut unclosed), None);
        assert_eq!(unclosed, 3);
    }

    #[test]
    fn number_value_rejects_non_numbers() {
        for s in ["", "-", ".", "1.2.3.4", "0x1f", "12abc", "v2", "1e", "--1"] {
            assert_eq!(number_value(s), None, "{s}");
        }
        assert_eq!(number_value("5."), Some(5.0));
        assert_eq!(number_value("1E3"), Some(1000.0));
    }

    #[test]
    fn utc_offsets_are_not_values() {
        // A daylight-saving switch moves `-0500` to `-0600`: not a drift of a quantity.
        for s in ["-0500", "-0600", "+0530", "+1000", "+0545", "-1200"] {
            assert_eq!(number_value(s), None, "{s}");
        }
        for (s, v) in [
            ("-0520", -520.0),
            ("-1500", -1500.0),
            ("0500", 500.0),
            ("-05000", -5000.0),
        ] {
            assert_eq!(number_value(s), Some(v), "{s}");
        }
        // Still a variable of the template, only without a value.
        assert_eq!(m("-0600"), ("<*>".to_string(), vec![None]));
    }
}

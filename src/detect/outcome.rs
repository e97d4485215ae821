//! Failed outcomes written inside lines that are not logged at an error level.
//!
//! Many services log every request at INFO and put the outcome in the line: an access log's
//! status code (`"GET /cart HTTP/1.1" 503 512`), a process exit code (`worker exited with
//! code 137`), a result field (`result=declined`). A rising share of such lines is an error
//! ratio as much as a rising share of ERROR lines, so the baseline and the detectors count a
//! line as failing when its level is an error level *or* [`failed`] says its outcome is a
//! failure.
//!
//! The rules are deliberately narrow — a number is a status only where a status stands — so
//! that a 5xx-looking byte count or a `retries=3` never counts:
//! - a 5xx code right after an HTTP request (`"GET /x HTTP/1.1" 503`, `GET /x 503`,
//!   `POST /x -> 502`) or as the value of a status key (`status=503`, `"status":503`,
//!   `status_code: 500`, `http.status=504`);
//! - a non-zero exit code (`exit code 1`, `exit status 2`, `exited with code 137`,
//!   `exit_code=1`);
//! - a failure word as the value of an outcome key (`result=declined`, `outcome=failure`,
//!   `status=failed`, `state: error`).

/// Keys whose numeric value is an HTTP status.
const STATUS_KEYS: &[&str] = &[
    "status",
    "status_code",
    "statuscode",
    "http_status",
    "http.status",
    "http.response.status_code",
    "response_code",
    "code",
];

/// Keys whose word value is an outcome.
const OUTCOME_KEYS: &[&str] = &["result", "outcome", "status", "state", "event.outcome"];

/// Outcome words that mean the operation failed.
const FAILURE_WORDS: &[&str] = &[
    "fail",
    "failed",
    "failure",
    "error",
    "errored",
    "declined",
    "denied",
    "rejected",
    "timeout",
    "timedout",
    "timed_out",
    "aborted",
    "crashed",
];

const HTTP_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Whether the line reports a failed outcome (see the module documentation).
pub fn failed(message: &str) -> bool {
    // Cheap rejections first: this runs on every line.
    let b = message.as_bytes();
    let has_5xx = b
        .windows(3)
        .any(|w| w[0] == b'5' && w[1].is_ascii_digit() && w[2].is_ascii_digit());
    let has_exit = contains_ci(b, b"exit");
    let has_key = b.contains(&b'=') || b.contains(&b':');
    if !has_5xx && !has_exit && !has_key {
        return false;
    }
    let tokens: Vec<&str> = message.split_ascii_whitespace().collect();
    for (i, raw) in tokens.iter().enumerate() {
        // `key=value`, `key:value`, `"key":value`, and `key: value` / `key= value`.
        if let Some((key, value)) = split_pair(raw) {
            let value = if value.is_empty() {
                tokens.get(i + 1).map_or("", |v| trim(v))
            } else {
                value
            };
            if key_failed(key, value) {
                return true;
            }
            continue;
        }
        let t = trim(raw);
        if has_5xx && is_5xx(t) && i > 0 && after_request(&tokens[..i]) {
            return true;
        }
        if has_exit && is_nonzero_exit(&tokens, i) {
            return true;
        }
    }
    false
}

/// Whether `key` = `value` reports a failure.
fn key_failed(key: &str, value: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let key = key.as_str();
    if STATUS_KEYS.contains(&key) && is_5xx(value) {
        return true;
    }
    if (key == "exit_code" || key == "exitcode" || key == "exit_status")
        && value.parse::<i64>().is_ok_and(|c| c != 0)
    {
        return true;
    }
    OUTCOME_KEYS.contains(&key) && FAILURE_WORDS.contains(&value.to_ascii_lowercase().as_str())
}

/// Whether the tokens before a number end in an HTTP request (`GET /x`, `"GET /x
/// HTTP/1.1"`, optionally followed by an arrow).
fn after_request(before: &[&str]) -> bool {
    let mut j = before.len();
    if j > 0 && matches!(before[j - 1], "->" | "=>" | "-" | "|") {
        j -= 1;
    }
    if j == 0 {
        return false;
    }
    let last = before[j - 1].trim_end_matches(['"', ',', ';']);
    if last.starts_with("HTTP/") {
        return true;
    }
    j >= 2 && last.starts_with('/') && {
        let m = before[j - 2].trim_start_matches(['"', '[']);
        HTTP_METHODS.contains(&m)
    }
}

/// `exit code N`, `exit status N`, `exited with code N`, `exit N` with N non-zero, where
/// `tokens[i]` is the number.
fn is_nonzero_exit(tokens: &[&str], i: usize) -> bool {
    let Ok(code) = trim(tokens[i]).parse::<i64>() else {
        return false;
    };
    if code == 0 || i == 0 {
        return false;
    }
    let prev = trim(tokens[i - 1]).to_ascii_lowercase();
    let prev2 = if i >= 2 {
        trim(tokens[i - 2]).to_ascii_lowercase()
    } else {
        String::new()
    };
    let exit_word = |w: &str| matches!(w, "exit" | "exited" | "exiting");
    match prev.as_str() {
        "code" | "status" => {
            exit_word(&prev2)
                || (prev2 == "with"
                    && i >= 3
                    && exit_word(&trim(tokens[i - 3]).to_ascii_lowercase()))
        }
        w => exit_word(w),
    }
}

/// Split `key=value` / `key:value` (quotes around the key allowed); `None` for other tokens
/// and for things like URLs and times.
fn split_pair(token: &str) -> Option<(&str, &str)> {
    let pos = token.find(['=', ':'])?;
    let key = token[..pos].trim_matches(|c| c == '"' || c == '\'' || c == '{' || c == ',');
    // In `{"status":500,"path":"/x"}` the value ends at the comma.
    let rest = &token[pos + 1..];
    let value = trim(rest.split([',', '}', '&', ';']).next().unwrap_or(rest));
    if key.is_empty()
        || !key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
        || value.starts_with("//")
    {
        return None;
    }
    Some((key, value))
}

/// A token without surrounding quotes and punctuation.
fn trim(t: &str) -> &str {
    t.trim_matches(|c: char| {
        matches!(
            c,
            '"' | '\'' | ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '.'
        )
    })
}

fn is_5xx(t: &str) -> bool {
    t.len() == 3 && t.starts_with('5') && t.bytes().all(|c| c.is_ascii_digit())
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::failed;

    #[test]
    fn server_errors_in_access_logs_fail() {
        for line in [
            r#"10.0.0.1 - - [05/Dec/2026:10:00:00 +0000] "GET /cart HTTP/1.1" 503 512"#,
            "GET /api/orders/42 502 13ms",
            "POST /v1/pay -> 500 (231 ms)",
            "request done status=504 took=3012ms",
            r#"{"status":500,"path":"/x"}"#,
            "http.status=503 route=/search",
            "status_code: 502 upstream=cart",
        ] {
            assert!(failed(line), "{line}");
        }
    }

    #[test]
    fn exit_codes_and_outcome_words_fail() {
        for line in [
            "worker 7 exited with code 137",
            "process exit code 1",
            "job finished exit status 2",
            "exit_code=3 job=nightly",
            "authorization result=declined amount=12.50",
            "outcome=failure user=bob",
            "payment status=FAILED id=9",
        ] {
            assert!(failed(line), "{line}");
        }
    }

    #[test]
    fn successes_and_lookalike_numbers_do_not_fail() {
        for line in [
            r#"10.0.0.1 - - [05/Dec/2026:10:00:00 +0000] "GET /cart HTTP/1.1" 200 503"#,
            "GET /api/orders/542 200 13ms",
            "sent 512 bytes to 10.0.0.5:5432",
            "worker 7 exited with code 0",
            "retries=3 status=200",
            "authorization result=approved amount=503.00",
            "took 503 ms",
            "connecting to http://db:5432/x",
            "code review 500 lines",
            "",
            "🙂 ünïcödé 5",
        ] {
            assert!(!failed(line), "{line}");
        }
    }
}

//! The explanation of each finding, in words, apart from the statistics that found it
//! ([`super::detector`]): each function takes the numbers a test measured and the words of
//! time the detector's calendar gives ("10 min", "14:20", "on Mondays 10:00-11:00"), and
//! returns the sentence written into `anomaly.explanation`.

/// How a key is named at the start of a sentence: a template's text in quotes, or all of
/// a service's lines.
fn what(template: Option<&str>) -> String {
    match template {
        Some(t) => format!("'{t}'"),
        None => "all lines".to_string(),
    }
}

/// A higher share of error lines: of a whole service (`template` `None`) or of a template
/// or pattern.
pub fn error_share(
    service: &str,
    template: Option<&str>,
    share: f64,
    errors: u64,
    lines: u64,
    usual: f64,
    bucket: &str,
) -> String {
    let what = match template {
        None => format!("{service}: {} of lines are errors", percent(share)),
        Some(t) => format!(
            "{service}: '{t}' is at error level {} of the time",
            percent(share)
        ),
    };
    format!(
        "{what} in {bucket} ({errors} of {lines}), usually {}",
        percent(usual)
    )
}

/// A higher share of warning lines of a service.
pub fn warn_share(
    service: &str,
    share: f64,
    warns: u64,
    lines: u64,
    usual: f64,
    bucket: &str,
) -> String {
    format!(
        "{service}: {} of lines are warnings in {bucket} ({warns} of {lines}), usually {}",
        percent(share),
        percent(usual)
    )
}

/// A rare template or pattern, many times at once.
pub fn rare(
    service: &str,
    template: &str,
    count: u64,
    bucket: &str,
    seen: u64,
    days: f64,
) -> String {
    format!(
        "{service}: rare '{template}' {count} times in {bucket}, seen {seen} times in {days:.0} days of history"
    )
}

/// A spike against the usual count (`spread` its standard deviation) at this time, or,
/// for a message that comes at this time on `episodic = (k, days)` days only, against what
/// it brings on those days.
#[allow(clippy::too_many_arguments)]
pub fn spike(
    service: &str,
    template: &str,
    count: u64,
    bucket: &str,
    usual: f64,
    spread: f64,
    season: &str,
    episodic: Option<(u32, u32)>,
) -> String {
    match episodic {
        Some((k, days)) => format!(
            "{service}: '{template}' {count} times in {bucket}; it comes at this time on {k} of {days} days, {usual:.0} a bucket when it does"
        ),
        None => format!(
            "{service}: '{template}' {count} times in {bucket}, usually {usual:.0} ± {spread:.0} {season}"
        ),
    }
}

/// Fewer lines than usual for `during` since `since`, of a template or pattern, or of a
/// whole service (`template` `None`).
#[allow(clippy::too_many_arguments)]
pub fn drop(
    service: &str,
    template: Option<&str>,
    count: u64,
    during: &str,
    since: &str,
    usual: f64,
    spread: f64,
    season: &str,
) -> String {
    format!(
        "{service}: {} {count} times in the {during} since {since}, usually {usual:.0} ± {spread:.0} {season}",
        what(template)
    )
}

/// A message that comes at this time on most days has not come.
pub fn absence(
    service: &str,
    template: &str,
    since: &str,
    during: &str,
    present: u32,
    days: u32,
) -> String {
    format!(
        "{service}: '{template}' has not come since {since} ({during}); it comes at this time on {present} of {days} days"
    )
}

/// A periodic message has missed its runs.
#[allow(clippy::too_many_arguments)]
pub fn missed_runs(
    service: &str,
    template: &str,
    period_secs: f64,
    longest_secs: f64,
    last: &str,
    gap_secs: f64,
    missed: f64,
    present: u32,
    days: u32,
) -> String {
    format!(
        "{service}: '{template}' comes every {}, never more than {} apart in the history; nothing since {last} ({}, {missed:.0} runs missed), and at this time it comes on {present} of {days} days",
        duration_words(period_secs),
        duration_words(longest_secs),
        duration_words(gap_secs),
    )
}

/// Every service of a source silent at once.
pub fn source_silence(
    source: &str,
    since: &str,
    lines: u64,
    services: u32,
    during: &str,
    usual: f64,
) -> String {
    format!(
        "no logs from {source} since {since} ({lines} lines from its {services} services in {during}, usually \
         {usual:.0}): the shipper, the pipeline or ingest has stopped"
    )
}

/// A message never seen before; `closest` the most similar known template and how similar.
#[allow(clippy::too_many_arguments)]
pub fn new_message(
    service: &str,
    template: &str,
    count: u64,
    failing: u64,
    since: &str,
    still: Option<&str>,
    closest: Option<(&str, f64)>,
) -> String {
    let level = if failing > 0 {
        format!(" ({failing} failing)")
    } else {
        String::new()
    };
    let still = still
        .map(|d| format!(", still coming after {d}"))
        .unwrap_or_default();
    let closest = match closest {
        Some((t, similarity)) if similarity >= 0.3 => {
            format!("closest known: '{t}' (similarity {similarity:.2})")
        }
        _ => "unlike any known message".to_string(),
    };
    format!(
        "{service}: new message '{template}' {count} times{level} since {since}{still}, never seen before; {closest}"
    )
}

/// A quantile of a numeric slot drifted from its usual value.
#[allow(clippy::too_many_arguments)]
pub fn drift(
    service: &str,
    template: &str,
    slot: &str,
    quantile: f64,
    current: f64,
    usual: f64,
    magnitude: f64,
    during: &str,
) -> String {
    format!(
        "{service}: '{template}' {slot} p{:.0} is {} vs usually {} ({:+.0}%) over the last {during}",
        quantile * 100.0,
        num(current),
        num(usual),
        magnitude * 100.0
    )
}

/// A numeric slot's trend projected to cross its threshold.
#[allow(clippy::too_many_arguments)]
pub fn forecast(
    service: &str,
    template: &str,
    slot: &str,
    level: f64,
    per_hour: f64,
    threshold: f64,
    at: &str,
    hours: f64,
) -> String {
    format!(
        "{service}: '{template}' {slot} at {} rising {}/h, projected to cross {} at {at} (in {hours:.1} h)",
        num(level),
        num(per_hour),
        num(threshold)
    )
}

/// A duration in seconds, in words: "20 s", "5 min", "2.5 h".
pub fn duration_words(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7_200.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3_600.0)
    }
}

/// A measured value with as many decimals as its size needs.
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// A share as a readable percentage.
pub fn percent(share: f64) -> String {
    let pc = share * 100.0;
    if pc > 0.0 && pc < 0.1 {
        "under 0.1%".to_string()
    } else if pc < 10.0 {
        format!("{pc:.1}%")
    } else {
        format!("{pc:.0}%")
    }
}

//! The web page in a real headless Chromium (Debian packages `chromium` and
//! `chromium-driver`, driven over the W3C WebDriver protocol; missing ones fail the test),
//! against a sidecar run on the real Elasticsearch (`LOGWARDEN_TEST_ES_URL`): the page asks
//! for the API token, shows the run's anomalies on the timeline and its incidents, opens the
//! db-pool incident with its anomalies and the 30 minutes before, a "False positive" click
//! reaches the anomaly document and the next detection lowers the same anomaly; a mute from
//! the page lands in `mutes.json` and is lifted from the mutes page; the pattern report
//! loads. Screenshots of each page go to `target/tmp/web-page/`.

mod sidecar_data;
mod web_support;

use chrono::Duration;
use logwarden::sidecar::health;
use serde_json::{json, Value};
use sidecar_data::*;
use web_support::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_run_and_a_click_teaches_the_next_detection() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "web-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "page-token\n").unwrap();
    let extra = format!("  api_token: {{file: {}}}\n", token_file.display());
    let cfg = config(&b.config().url, prefix, dir.path(), &extra);
    let (s, _) = run_once(&cfg, from, end).await;
    assert!(s.anomalies >= 2, "{s:?}");
    b.refresh(&format!("{prefix}anomalies*")).await.unwrap();
    b.refresh(&format!("{prefix}incidents*")).await.unwrap();
    let anomalies = search_all(b, &format!("{prefix}anomalies*")).await;
    let pool = anomalies
        .iter()
        .map(|h| &h["_source"])
        .filter(|a| {
            a["pattern"]["template"]
                .as_str()
                .unwrap_or("")
                .contains("pool exhausted")
        })
        .max_by(|x, y| {
            x["anomaly"]["score"]
                .as_f64()
                .unwrap()
                .total_cmp(&y["anomaly"]["score"].as_f64().unwrap())
        })
        .expect("an anomaly on the pool-exhausted errors")
        .clone();
    let pool_id = pool["anomaly"]["id"].as_str().unwrap().to_string();
    let incident_id = pool["incident"]["id"].as_str().unwrap().to_string();
    let members = anomalies
        .iter()
        .filter(|h| h["_source"]["incident"]["id"] == incident_id.as_str())
        .count();

    let addr = serve_api(&cfg, health::Metrics::new()).await;
    let site = format!("http://{addr}");
    let profile = tempfile::tempdir().unwrap();
    let web = Browser::start(profile.path()).await;

    // `/` leads to the page, which asks for the token first.
    web.go(&format!("{site}/")).await;
    web.until(
        "the token form",
        "return !document.getElementById('login').hidden",
    )
    .await;
    web.shot("login").await;
    web.type_into("#token", "page-token").await;
    web.click("#login button").await;

    // The timeline and the incidents of the run.
    web.until(
        "the incident list",
        "return document.body.dataset.loaded === '#/' && document.querySelectorAll('tr[data-incident-id]').length",
    )
    .await;
    let bars = web
        .js("return [...document.querySelectorAll('#timeline rect.bar')].map(r => r.getAttribute('class'))")
        .await;
    let bars: Vec<&str> = bars
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        bars.iter()
            .any(|c| c.ends_with("moderate") || c.ends_with("critical")),
        "{bars:?}"
    );
    let rows = web
        .js("return [...document.querySelectorAll('tr[data-incident-id]')].map(r => r.dataset.incidentId)")
        .await;
    assert!(
        rows.as_array().unwrap().contains(&json!(incident_id)),
        "{incident_id} not in {rows}"
    );
    web.shot("incidents").await;

    // The incident's page: its anomalies, the lines of the 30 minutes before.
    web.click(&format!("tr[data-incident-id='{incident_id}']"))
        .await;
    web.until(
        "the incident page",
        &format!("return document.querySelector(\"#incident-title[data-incident-id='{incident_id}']\") && document.body.dataset.loaded"),
    )
    .await;
    let cards = web
        .js("return document.querySelectorAll('.card.anomaly').length")
        .await;
    assert_eq!(cards.as_u64(), Some(members as u64));
    let lines = web
        .js("return [...document.querySelectorAll('#lines tr')].map(r => r.textContent)")
        .await;
    let lines = lines.as_array().unwrap();
    assert!(!lines.is_empty(), "no lines of the 30 minutes before");
    assert!(lines
        .iter()
        .all(|l| !l.as_str().unwrap().contains("pool exhausted")));
    let charts = web
        .js("return document.querySelectorAll('svg.compare').length + ',' + document.querySelectorAll('svg.minutes').length")
        .await;
    let charts: Vec<usize> = charts
        .as_str()
        .unwrap()
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(
        charts[0], members,
        "one observed-vs-expected chart per anomaly"
    );
    assert!(charts[1] >= 1, "lines a minute of the incident's services");
    web.shot("incident").await;
    web.js("document.getElementById('before').scrollIntoView(); return true")
        .await;
    web.shot("incident-before").await;

    // A false-positive click, by a named user: it reaches the anomaly's document.
    web.type_into("#user", "pat").await;
    let card = format!(".card[data-anomaly-id='{pool_id}']");
    web.click(&format!("{card} button[data-action='false_positive']"))
        .await;
    web.until(
        "the mark taken",
        &format!("return document.querySelector(\"{card}\").dataset.feedback === 'false_positive'"),
    )
    .await;
    let marked = search_all(b, &format!("{prefix}anomalies*")).await;
    let doc = marked
        .iter()
        .map(|h| &h["_source"])
        .find(|a| a["anomaly"]["id"] == pool_id.as_str())
        .unwrap();
    assert_eq!(doc["feedback"]["label"], "false_positive", "{doc}");
    assert_eq!(doc["feedback"]["by"], "pat", "{doc}");

    // A mute from the page, seen and lifted on the mutes page.
    web.click(&format!("{card} button[data-action='mute-service']"))
        .await;
    web.until(
        "the mute taken",
        &format!("return document.querySelector(\"{card}\").dataset.muted"),
    )
    .await;
    let mutes = std::fs::read_to_string(dir.path().join("mutes.json")).unwrap();
    assert!(
        mutes.contains("\"service\": \"api\"") || mutes.contains("\"service\":\"api\""),
        "{mutes}"
    );
    web.go(&format!("{site}/ui/#/mutes")).await;
    web.until(
        "the mute listed",
        "return document.body.dataset.loaded && document.querySelector('tr[data-mute-id]')",
    )
    .await;
    web.shot("mutes").await;
    web.click("button[data-lift]").await;
    web.until(
        "the mute lifted",
        "return document.body.dataset.loaded && !document.querySelector('tr[data-mute-id]')",
    )
    .await;
    let mutes = std::fs::read_to_string(dir.path().join("mutes.json")).unwrap();
    let mutes: Value = serde_json::from_str(&mutes).unwrap();
    assert_eq!(mutes["mutes"], json!([]), "{mutes}");

    // The pattern report of the source's model.
    web.go(&format!("{site}/ui/#/patterns")).await;
    let coverage = web
        .until(
            "the pattern report",
            "return document.body.dataset.loaded && document.getElementById('coverage') && document.getElementById('coverage').textContent",
        )
        .await;
    assert!(
        coverage
            .as_str()
            .unwrap()
            .contains("patterns carry 90% of the"),
        "{coverage}"
    );
    let services = web
        .js("return [...document.querySelectorAll('main h2')].map(h => h.textContent.split(' ')[0])")
        .await;
    assert!(
        services.as_array().unwrap().contains(&json!("api")),
        "{services}"
    );
    web.shot("patterns").await;
    web.call("DELETE", "", None).await;

    // The next detection of the same data, from a fresh start, lowers the marked anomaly.
    delete_all(b, &format!("{prefix}state")).await;
    let fresh = tempfile::tempdir().unwrap();
    let (s2, _) = run_once(
        &config(&b.config().url, prefix, fresh.path(), ""),
        from,
        end,
    )
    .await;
    assert_eq!(s2.failures, 0);
    let again = search_all(b, &format!("{prefix}anomalies*")).await;
    let lowered = again
        .iter()
        .map(|h| &h["_source"])
        .find(|a| a["anomaly"]["id"] == pool_id.as_str())
        .unwrap();
    assert!(
        lowered["anomaly"]["score"].as_f64() < pool["anomaly"]["score"].as_f64(),
        "{lowered}"
    );
    assert!(
        lowered["feedback"]["suppressed_by"]
            .as_str()
            .is_some_and(|s| s.contains("last by pat")),
        "{lowered}"
    );
}

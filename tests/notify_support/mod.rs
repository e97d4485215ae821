//! Shared by the notification tests: a real HTTP server on loopback that records every
//! request (path, headers, JSON body) and answers with a script of statuses, then success
//! as each receiver's API documents it; and anomalies to build incidents from.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use logwarden::model::*;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use warp::Filter;

/// One request the server received, and what it answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    /// Lowercased names.
    pub headers: BTreeMap<String, String>,
    pub raw: Vec<u8>,
    pub body: Value,
    pub status: u16,
}

impl Recorded {
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<(u16, Option<String>)>,
    hmac_key: Option<Vec<u8>>,
}

/// A recording receiver on 127.0.0.1.
#[derive(Clone)]
pub struct Recorder {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// Verify a webhook signature as a receiver would: `sha256=` + hex HMAC-SHA256 of
/// `"<X-Logwarden-Timestamp>.<raw body>"`.
pub fn signature_ok(key: &[u8], headers: &BTreeMap<String, String>, raw: &[u8]) -> bool {
    let (Some(ts), Some(sig)) = (
        headers.get("x-logwarden-timestamp"),
        headers.get("x-logwarden-signature"),
    ) else {
        return false;
    };
    let Some(hex) = sig.strip_prefix("sha256=") else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(raw);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    want == hex
}

/// What a receiver answers on success, per its documentation.
fn success(path: &str, body: &Value, n: usize) -> (u16, String) {
    if path.ends_with("/v2/enqueue") {
        (
            202,
            json!({"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]}).to_string(),
        )
    } else if path.ends_with("/chat.postMessage") {
        (
            200,
            json!({"ok": true, "channel": "C0123", "ts": format!("1764000000.{n:06}"), "message": {}}).to_string(),
        )
    } else if path.ends_with("/api/v1/events") {
        (202, json!({"status": "ok", "event": {"id": 1}}).to_string())
    } else if path.ends_with("/services/collector/event") {
        (200, json!({"text": "Success", "code": 0}).to_string())
    } else if path.starts_with("/services/T") {
        (200, "ok".to_string())
    } else {
        (200, "{}".to_string())
    }
}

impl Recorder {
    pub async fn start() -> Recorder {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let route = warp::post()
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(
                move |path: warp::path::FullPath,
                      headers: warp::http::HeaderMap,
                      raw: warp::hyper::body::Bytes| {
                    let headers: BTreeMap<String, String> = headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_lowercase(),
                                v.to_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect();
                    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                    let mut st = s.lock().unwrap();
                    let path = path.as_str().to_string();
                    let bad_signature = path.starts_with("/hook")
                        && st
                            .hmac_key
                            .as_deref()
                            .is_some_and(|key| !signature_ok(key, &headers, &raw));
                    let (status, text, retry_after) = if bad_signature {
                        (401, "bad signature".to_string(), None)
                    } else if let Some((status, ra)) = st.script.pop_front() {
                        (status, format!("scripted {status}"), ra)
                    } else {
                        let (st, t) = success(&path, &body, st.requests.len());
                        (st, t, None)
                    };
                    st.requests.push(Recorded {
                        path,
                        headers,
                        raw: raw.to_vec(),
                        body,
                        status,
                    });
                    let mut resp = warp::http::Response::builder()
                        .status(status)
                        .header("content-type", "application/json");
                    if let Some(ra) = retry_after {
                        resp = resp.header("retry-after", ra);
                    }
                    resp.body(text).unwrap()
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        Recorder { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answer the next requests with these statuses (and `Retry-After` values).
    pub fn script(&self, answers: &[(u16, Option<&str>)]) {
        let mut st = self.state.lock().unwrap();
        st.script
            .extend(answers.iter().map(|(s, r)| (*s, r.map(str::to_string))));
    }

    /// Forget the scripted answers left: succeed from now on.
    pub fn drop_script(&self) {
        self.state.lock().unwrap().script.clear();
    }

    /// Refuse (401) any request to `/hook…` whose signature does not verify under `key`.
    pub fn require_signature(&self, key: &[u8]) {
        self.state.lock().unwrap().hmac_key = Some(key.to_vec());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Accepted requests whose path starts with `prefix`.
    pub fn accepted(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.accepted() && r.path.starts_with(prefix))
            .collect()
    }
}

pub fn t(min: i64) -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min)
}

pub fn anomaly(id: &str, service: &str, sev: Severity, min: i64) -> Anomaly {
    Anomaly {
        timestamp: t(min),
        anomaly: AnomalyBody {
            id: id.to_string(),
            kind: AnomalyType::NewPattern,
            severity: sev,
            score: match sev {
                Severity::Critical => 91.5,
                Severity::Moderate => 62.0,
                Severity::Low => 20.0,
            },
            window: Window {
                start: t(min),
                end: t(min + 1),
            },
            observed: 8.0,
            expected: 0.25,
            unit: "count".to_string(),
            confidence: 1.0,
            probability: 1e-9,
            explanation: format!("{service} logged a pattern never seen before ({id})"),
        },
        service: ServiceRef {
            name: service.to_string(),
        },
        pattern: PatternRef {
            id: "t1".to_string(),
            template: "connection to <*> refused: pool exhausted (active=<*>)".to_string(),
            cluster_id: None,
            examples: vec![
                "connection to db-7 refused: pool exhausted (active=50)".to_string(),
                "connection to db-7 refused: pool exhausted (active=51)".to_string(),
            ],
        },
        incident: IncidentRef { id: String::new() },
        model: ModelRef {
            version: "m".to_string(),
        },
        feedback: FeedbackRef::default(),
        tenant: "t".to_string(),
        event: EventRef {
            kind: "alert".to_string(),
            start: t(min),
            end: t(min + 1),
            severity: ecs_severity(sev),
            risk_score: 50.0,
        },
        parameter: None,
        forecast: None,
    }
}

/// Windows of anomalies run through grouping and the tracker as the sidecar's runner does;
/// returns the messages in order.
#[derive(Default)]
pub struct Windows {
    recent: Vec<Anomaly>,
    pub tracker: logwarden::notify::Tracker,
}

impl Windows {
    pub fn window(
        &mut self,
        n: &logwarden::notify::Notifier,
        end_min: i64,
        found: Vec<Anomaly>,
    ) -> Vec<logwarden::notify::Message> {
        let new_ids: std::collections::BTreeSet<String> =
            found.iter().map(|a| a.anomaly.id.clone()).collect();
        self.recent.retain(|a| !new_ids.contains(&a.anomaly.id));
        self.recent.extend(found);
        logwarden::incidents::group(&mut self.recent, &Default::default());
        let touched = self
            .recent
            .iter()
            .filter(|a| new_ids.contains(&a.anomaly.id))
            .map(|a| a.incident.id.clone())
            .collect();
        self.tracker
            .window(&self.recent, &touched, t(end_min), &n.context())
    }
}

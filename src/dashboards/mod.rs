//! The dashboards users see logwarden's findings in, and their installation.
//!
//! Owns the two saved-object bundles in `dashboards/` (embedded here, so the binary carries
//! them): `kibana/logwarden.ndjson` for Kibana 8.11 and newer (data views, Lens, saved
//! searches, dashboards) and `opensearch-dashboards/logwarden.ndjson` for OpenSearch
//! Dashboards 2.x (index patterns, legacy visualizations, saved searches, dashboards). A Kibana
//! bundle imports into OpenSearch Dashboards but does not render there, hence two.
//!
//! [`install`] posts a bundle to the saved-objects import API
//! (`POST <url>[/s/<space>]/api/saved_objects/_import?overwrite=true`, multipart part `file`
//! with a `.ndjson` file name, header `kbn-xsrf` or `osd-xsrf`) and turns the answer into one
//! outcome per object of the bundle: the API answers 200 even when some objects fail, so
//! success is read per object, never from the status alone. [`export`] writes the bundles for
//! an import through the UI.
//!
//! Sits beside the flow, after the sinks: the panels read the indices the sidecar writes,
//! with the field names of `mappings/*.json` (tests/dashboards.rs checks every one).
//! Credentials never appear in errors or `Debug` output, and URLs are stripped from
//! transport errors.

use crate::backend::{strip_urls, AuthConfig, BackendConfig, TlsConfig};
use crate::validate::Problems;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The Kibana bundle (Kibana 8.11 and newer, 9.x included).
pub const KIBANA_BUNDLE: &str = include_str!("../../dashboards/kibana/logwarden.ndjson");

/// The OpenSearch Dashboards bundle (2.x).
pub const OPENSEARCH_DASHBOARDS_BUNDLE: &str =
    include_str!("../../dashboards/opensearch-dashboards/logwarden.ndjson");

/// The largest import answer read; Kibana's answer for our bundle is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Which dashboards application the bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Kibana 8.11 or newer.
    Kibana,
    /// OpenSearch Dashboards 2.x (2.11 or newer for the Discover links, which open the
    /// data-explorer Discover).
    OpensearchDashboards,
}

impl Flavor {
    /// Both flavours.
    pub const ALL: [Flavor; 2] = [Flavor::Kibana, Flavor::OpensearchDashboards];

    /// The name used on the command line and as the folder in `dashboards/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Kibana => "kibana",
            Flavor::OpensearchDashboards => "opensearch-dashboards",
        }
    }

    /// The product's name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Flavor::Kibana => "Kibana",
            Flavor::OpensearchDashboards => "OpenSearch Dashboards",
        }
    }

    /// The saved objects, one JSON object a line.
    pub fn bundle(self) -> &'static str {
        match self {
            Flavor::Kibana => KIBANA_BUNDLE,
            Flavor::OpensearchDashboards => OPENSEARCH_DASHBOARDS_BUNDLE,
        }
    }

    /// The header the import API wants against cross-site request forgery.
    pub fn xsrf_header(self) -> &'static str {
        match self {
            Flavor::Kibana => "kbn-xsrf",
            Flavor::OpensearchDashboards => "osd-xsrf",
        }
    }

    /// The file name of the bundle when uploaded or exported (it must end in `.ndjson`).
    pub fn file_name(self) -> &'static str {
        match self {
            Flavor::Kibana => "logwarden-kibana.ndjson",
            Flavor::OpensearchDashboards => "logwarden-opensearch-dashboards.ndjson",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kibana" => Ok(Flavor::Kibana),
            "opensearch-dashboards" | "opensearch_dashboards" | "osd" => {
                Ok(Flavor::OpensearchDashboards)
            }
            other => Err(format!(
                "unknown flavor `{other}`: use kibana or opensearch-dashboards"
            )),
        }
    }
}

/// One saved object of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleObject {
    /// The saved-object type (`dashboard`, `lens`, …).
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its title (`attributes.title`).
    pub title: String,
}

/// The objects of a bundle, in file order.
pub fn bundle_objects(flavor: Flavor) -> Result<Vec<BundleObject>, DashboardError> {
    flavor
        .bundle()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let v: Value = serde_json::from_str(line).map_err(|e| {
                DashboardError::Bundle(format!("{flavor} bundle line {}: {e}", n + 1))
            })?;
            let text = |ptr: &str| v.pointer(ptr).and_then(Value::as_str).map(str::to_string);
            match (text("/type"), text("/id")) {
                (Some(kind), Some(id)) => Ok(BundleObject {
                    kind,
                    id,
                    title: text("/attributes/title").unwrap_or_default(),
                }),
                _ => Err(DashboardError::Bundle(format!(
                    "{flavor} bundle line {}: no type or id",
                    n + 1
                ))),
            }
        })
        .collect()
}

/// Errors of installing or exporting the dashboards. Messages never contain URLs or
/// credentials.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The settings cannot work (bad URL or space, missing secret, unreadable CA file).
    #[error("dashboards: {0}")]
    Config(String),
    /// An embedded bundle is malformed (a build problem, caught by the tests).
    #[error("dashboards: {0}")]
    Bundle(String),
    /// The request got no answer.
    #[error("import: {product} unreachable: {detail}")]
    Transport {
        /// Kibana or OpenSearch Dashboards.
        product: &'static str,
        /// What failed, URLs stripped.
        detail: String,
    },
    /// The server refused the whole import (401, 403, 404, 413, …).
    #[error("import: {product} answered {status}: {message}")]
    Status {
        /// Kibana or OpenSearch Dashboards.
        product: &'static str,
        /// The HTTP status.
        status: u16,
        /// The server's message, URLs stripped.
        message: String,
    },
    /// A 200 answer that is not what the import API promises.
    #[error("import: unexpected answer: {0}")]
    Response(String),
    /// Writing an exported file failed.
    #[error("cannot write {path}: {detail}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// Where and how to install a bundle.
#[derive(Debug, Clone)]
pub struct InstallSettings {
    /// Base URL of Kibana / OpenSearch Dashboards, e.g. `http://localhost:5601` (with its base
    /// path, if it has one).
    pub url: String,
    /// The Kibana space to import into; `None` for the default space.
    pub space: Option<String>,
    /// The OpenSearch Dashboards security tenant to import into (`securitytenant` header, e.g.
    /// `global` or `private`); `None` for the user's default tenant.
    pub tenant: Option<String>,
    /// Which bundle, and which headers.
    pub flavor: Flavor,
    /// Authentication (as for the cluster).
    pub auth: AuthConfig,
    /// TLS for `https://` URLs.
    pub tls: TlsConfig,
    /// Timeout of the import request, in seconds.
    pub timeout_secs: u64,
}

impl InstallSettings {
    /// Settings for `url` and `flavor`, no space, no authentication.
    pub fn new(url: impl Into<String>, flavor: Flavor) -> Self {
        InstallSettings {
            url: url.into(),
            space: None,
            tenant: None,
            flavor,
            auth: AuthConfig::None,
            tls: TlsConfig::default(),
            timeout_secs: 120,
        }
    }

    /// Report problems under `path` (URL, space, auth, TLS, timeout).
    pub fn validate(&self, path: &str, p: &mut Problems) {
        // The URL, auth and TLS rules are the cluster's.
        let as_backend = BackendConfig {
            url: self.url.clone(),
            auth: self.auth.clone(),
            tls: self.tls.clone(),
            request_timeout_secs: self.timeout_secs,
            ..BackendConfig::default()
        };
        as_backend.validate(path, p);
        if let Some(space) = &self.space {
            if let Some(m) = space_problem(space) {
                p.add(format!("{path}.space"), m);
            }
            if self.flavor == Flavor::OpensearchDashboards {
                p.add(
                    format!("{path}.space"),
                    "OpenSearch Dashboards has no spaces (use a security tenant)",
                );
            }
        }
        if let Some(tenant) = &self.tenant {
            if tenant.trim().is_empty() || tenant.chars().any(char::is_control) {
                p.add(format!("{path}.tenant"), "must be a tenant name");
            }
            if self.flavor == Flavor::Kibana {
                p.add(
                    format!("{path}.tenant"),
                    "tenants are OpenSearch Dashboards'; Kibana has spaces",
                );
            }
        }
    }

    /// Validate as a whole (key paths under `dashboards`), as an error.
    pub fn check(&self) -> Result<(), DashboardError> {
        let mut p = Problems::default();
        self.validate("dashboards", &mut p);
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(DashboardError::Config(p.0.join("; ")))
        }
    }

    /// The import endpoint, e.g.
    /// `http://kb:5601/s/ops/api/saved_objects/_import?overwrite=true`.
    pub fn import_url(&self) -> String {
        let base = self.url.trim_end_matches('/');
        match &self.space {
            Some(space) if space != "default" => {
                format!("{base}/s/{space}/api/saved_objects/_import?overwrite=true")
            }
            _ => format!("{base}/api/saved_objects/_import?overwrite=true"),
        }
    }
}

/// Kibana space ids are lowercase letters, digits, `_` and `-`.
fn space_problem(space: &str) -> Option<&'static str> {
    if space.is_empty() {
        Some("must not be empty")
    } else if !space
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Some("a space id has only lowercase letters, digits, `_` and `-`")
    } else {
        None
    }
}

/// What became of one object of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectOutcome {
    /// Saved-object type.
    pub kind: String,
    /// Id.
    pub id: String,
    /// Title, from the server's answer or else the bundle.
    pub title: String,
    /// `None` when imported; otherwise why not.
    pub error: Option<String>,
}

impl ObjectOutcome {
    /// One line for a terminal: `ok     lens logwarden-top-patterns "…"` or
    /// `FAILED …: reason`.
    pub fn line(&self) -> String {
        match &self.error {
            None => format!("ok      {} {} \"{}\"", self.kind, self.id, self.title),
            Some(e) => format!("FAILED  {} {} \"{}\": {e}", self.kind, self.id, self.title),
        }
    }
}

/// The answer of an import, object by object, in bundle order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The server's `success` (true only when every object was imported).
    pub success: bool,
    /// The server's `successCount`.
    pub success_count: u64,
    /// One outcome per object of the bundle (and any the server named that the bundle does
    /// not have, last).
    pub objects: Vec<ObjectOutcome>,
}

impl ImportReport {
    /// How many objects failed.
    pub fn failed(&self) -> usize {
        self.objects.iter().filter(|o| o.error.is_some()).count()
    }

    /// Whether every object was imported.
    pub fn all_imported(&self) -> bool {
        self.success && self.failed() == 0
    }
}

/// Read the import API's answer to uploading `flavor`'s bundle: a per-object report for a
/// 200, the server's message for anything else.
pub fn parse_import_response(
    flavor: Flavor,
    status: u16,
    body: &str,
) -> Result<ImportReport, DashboardError> {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if status != 200 {
        return Err(DashboardError::Status {
            product: flavor.product(),
            status,
            message: server_message(&json, body),
        });
    }
    let Some(answer) = json.as_object() else {
        return Err(DashboardError::Response(format!(
            "not a JSON object: {}",
            cut(&strip_urls(body), 200)
        )));
    };
    let success = answer
        .get("success")
        .and_then(Value::as_bool)
        .ok_or_else(|| DashboardError::Response("no `success` in the answer".to_string()))?;
    let success_count = answer
        .get("successCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let list = |key: &str| -> Vec<Value> {
        answer
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let successes = list("successResults");
    let errors = list("errors");
    let key = |v: &Value| {
        (
            v.get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            v.get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )
    };
    let title_of = |v: &Value| {
        v.pointer("/meta/title")
            .or_else(|| v.get("title"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut objects = Vec::new();
    let mut named = std::collections::HashSet::new();
    for obj in bundle_objects(flavor)? {
        let k = (obj.kind.clone(), obj.id.clone());
        named.insert(k.clone());
        let failure = errors.iter().find(|e| key(e) == k);
        let imported = successes.iter().find(|s| key(s) == k);
        let (title, error) = match (failure, imported) {
            (Some(e), _) => (title_of(e), Some(object_error(e))),
            (None, Some(s)) => (title_of(s), None),
            // Servers before Kibana 7.8 answer without `successResults`: there a
            // `success: true` answer means every object was imported.
            (None, None) if success && !answer.contains_key("successResults") => (None, None),
            (None, None) => (None, Some("not in the server's answer".to_string())),
        };
        objects.push(ObjectOutcome {
            kind: obj.kind,
            id: obj.id,
            title: title.unwrap_or(obj.title),
            error,
        });
    }
    for e in &errors {
        let k = key(e);
        if named.insert(k.clone()) {
            objects.push(ObjectOutcome {
                kind: k.0,
                id: k.1,
                title: title_of(e).unwrap_or_default(),
                error: Some(object_error(e)),
            });
        }
    }
    Ok(ImportReport {
        success,
        success_count,
        objects,
    })
}

/// Why one object was not imported, from an entry of `errors[]`.
fn object_error(entry: &Value) -> String {
    let err = entry.get("error").unwrap_or(&Value::Null);
    let kind = err.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let message = err.get("message").and_then(Value::as_str);
    let text = match kind {
        "missing_references" => {
            let refs: Vec<String> = err
                .get("references")
                .and_then(Value::as_array)
                .map(|refs| {
                    refs.iter()
                        .map(|r| {
                            format!(
                                "{} {}",
                                r.get("type").and_then(Value::as_str).unwrap_or("?"),
                                r.get("id").and_then(Value::as_str).unwrap_or("?")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("missing references: {}", refs.join(", "))
        }
        "conflict" => "conflicts with an existing object".to_string(),
        "ambiguous_conflict" => "matches more than one existing object".to_string(),
        "unsupported_type" => "this server does not know the type".to_string(),
        other => match message {
            Some(m) => match err.get("statusCode").and_then(Value::as_u64) {
                Some(code) => format!("{other} ({code}): {m}"),
                None => format!("{other}: {m}"),
            },
            None => other.to_string(),
        },
    };
    cut(&strip_urls(&text), 500)
}

/// The message of an error answer (`{"statusCode":401,"error":"Unauthorized","message":…}`),
/// or the body itself, cut short.
fn server_message(json: &Value, body: &str) -> String {
    let message = json.get("message").and_then(Value::as_str);
    let error = json.get("error").and_then(Value::as_str);
    let text = match (error, message) {
        (Some(e), Some(m)) => format!("{e}: {m}"),
        (None, Some(m)) => m.to_string(),
        (Some(e), None) => e.to_string(),
        (None, None) if body.trim().is_empty() => "(empty answer)".to_string(),
        (None, None) => body.trim().to_string(),
    };
    cut(&strip_urls(&text), 500)
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn build_client(settings: &InstallSettings) -> Result<reqwest::Client, DashboardError> {
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(settings.timeout_secs));
    if settings.tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    } else if let Some(ca) = &settings.tls.ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            DashboardError::Config(format!(
                "cannot read the CA file {}: {}",
                ca.display(),
                e.kind()
            ))
        })?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|_| {
            DashboardError::Config(format!(
                "the CA file {} is not a PEM certificate",
                ca.display()
            ))
        })?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| {
        DashboardError::Config(format!(
            "cannot build the HTTP client: {}",
            strip_urls(&e.to_string())
        ))
    })
}

/// Upload the bundle of `settings.flavor` to the saved-objects import API, overwriting
/// objects with the same ids, and report what became of each object.
///
/// An `Ok` report can still hold failed objects ([`ImportReport::all_imported`]); an `Err` means
/// the server refused the request as a whole or could not be reached.
pub async fn install(settings: &InstallSettings) -> Result<ImportReport, DashboardError> {
    settings.check()?;
    let flavor = settings.flavor;
    let client = build_client(settings)?;
    let transport = |e: reqwest::Error| DashboardError::Transport {
        product: flavor.product(),
        detail: strip_urls(&error_chain(&e)),
    };
    let part = reqwest::multipart::Part::bytes(flavor.bundle().as_bytes())
        .file_name(flavor.file_name())
        .mime_str("application/ndjson")
        .map_err(transport)?;
    let form = reqwest::multipart::Form::new().part("file", part);
    let mut request = client
        .post(settings.import_url())
        .header(flavor.xsrf_header(), "true")
        .multipart(form);
    if let Some(tenant) = &settings.tenant {
        request = request.header("securitytenant", tenant.as_str());
    }
    match &settings.auth {
        AuthConfig::None => {}
        AuthConfig::Basic { username, password } => {
            let pw = password.resolve().map_err(secret_error)?;
            request = request.basic_auth(username, Some(pw.expose()));
        }
        AuthConfig::ApiKey { id, key } => {
            let k = key.resolve().map_err(secret_error)?;
            let token = BASE64.encode(format!("{id}:{}", k.expose()));
            request = request.header("Authorization", format!("ApiKey {token}"));
        }
    }
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(DashboardError::Response(format!(
                "answer larger than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    parse_import_response(flavor, status, &String::from_utf8_lossy(&body))
}

/// A secret that cannot be read, said once (without the backend's prefix).
fn secret_error(e: crate::backend::BackendError) -> DashboardError {
    match e {
        crate::backend::BackendError::Config(m) => DashboardError::Config(m),
        other => DashboardError::Config(other.to_string()),
    }
}

/// The error and its causes, joined (reqwest's top message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Write the bundle of `flavor` into `dir` (created if missing) as
/// [`Flavor::file_name`]; returns the file's path.
pub fn export(flavor: Flavor, dir: &Path) -> Result<PathBuf, DashboardError> {
    let write_error = |path: &Path, e: std::io::Error| DashboardError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let path = dir.join(flavor.file_name());
    std::fs::write(&path, flavor.bundle()).map_err(|e| write_error(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_url_with_and_without_space() {
        let mut s = InstallSettings::new("http://kb:5601/", Flavor::Kibana);
        assert_eq!(
            s.import_url(),
            "http://kb:5601/api/saved_objects/_import?overwrite=true"
        );
        s.space = Some("ops-team".to_string());
        assert_eq!(
            s.import_url(),
            "http://kb:5601/s/ops-team/api/saved_objects/_import?overwrite=true"
        );
        s.space = Some("default".to_string());
        assert_eq!(
            s.import_url(),
            "http://kb:5601/api/saved_objects/_import?overwrite=true"
        );
    }

    #[test]
    fn bad_settings_are_named_by_key() {
        let mut s = InstallSettings::new("kb:5601", Flavor::Kibana);
        s.space = Some("../admin".to_string());
        let err = s.check().unwrap_err().to_string();
        assert!(err.contains("`dashboards.url`"), "{err}");
        assert!(err.contains("`dashboards.space`"), "{err}");
        let mut s = InstallSettings::new("http://u:pw@kb:5601", Flavor::OpensearchDashboards);
        s.space = Some("ops".to_string());
        let err = s.check().unwrap_err().to_string();
        assert!(!err.contains("pw@"), "{err}");
        assert!(err.contains("OpenSearch Dashboards has no spaces"), "{err}");
        let mut s = InstallSettings::new("http://kb:5601", Flavor::Kibana);
        s.tenant = Some("global".to_string());
        let err = s.check().unwrap_err().to_string();
        assert!(
            err.contains("`dashboards.tenant`: tenants are OpenSearch Dashboards'"),
            "{err}"
        );
        assert!(InstallSettings::new("https://kb:5601", Flavor::Kibana)
            .check()
            .is_ok());
    }

    #[test]
    fn flavors_parse_and_print() {
        for f in Flavor::ALL {
            assert_eq!(f.as_str().parse::<Flavor>(), Ok(f));
            assert!(f.file_name().ends_with(".ndjson"));
        }
        assert!("grafana".parse::<Flavor>().unwrap_err().contains("grafana"));
    }

    #[test]
    fn a_partial_import_reports_the_failed_object_and_the_others() {
        let objects = bundle_objects(Flavor::Kibana).unwrap();
        let failed = &objects[objects.len() - 1];
        let successes: Vec<Value> = objects[..objects.len() - 1]
            .iter()
            .map(|o| serde_json::json!({"type": o.kind, "id": o.id, "meta": {"title": o.title}}))
            .collect();
        let body = serde_json::json!({
            "success": false,
            "successCount": successes.len(),
            "successResults": successes,
            "errors": [{
                "type": failed.kind, "id": failed.id, "meta": {"title": "the title"},
                "error": {"type": "missing_references",
                          "references": [{"type": "index-pattern", "id": "gone"}]}
            }]
        });
        let r = parse_import_response(Flavor::Kibana, 200, &body.to_string()).unwrap();
        assert_eq!(r.objects.len(), objects.len());
        assert_eq!(r.failed(), 1);
        assert!(!r.all_imported());
        let bad = r.objects.iter().find(|o| o.error.is_some()).unwrap();
        assert_eq!(bad.id, failed.id);
        assert_eq!(
            bad.error.as_deref(),
            Some("missing references: index-pattern gone")
        );
        assert!(bad.line().starts_with("FAILED  "), "{}", bad.line());
    }

    #[test]
    fn an_unknown_error_keeps_the_message_without_urls() {
        let body = r#"{"success":false,"successCount":0,"successResults":[],"errors":[
            {"type":"lens","id":"x","error":{"type":"unknown","statusCode":400,
             "message":"Document \"x\" has property \"lens\" which belongs to a more recent version of Kibana (see http://u:p@kb/docs)"}}]}"#;
        let r = parse_import_response(Flavor::Kibana, 200, body).unwrap();
        let x = r.objects.iter().find(|o| o.id == "x").unwrap();
        let e = x.error.as_deref().unwrap();
        assert!(e.starts_with("unknown (400): Document"), "{e}");
        assert!(e.contains("<url>") && !e.contains("u:p"), "{e}");
        // Every bundle object is accounted for: none was in successResults.
        assert_eq!(r.failed(), r.objects.len());
    }

    #[test]
    fn a_refused_request_gives_the_servers_message() {
        let err = parse_import_response(
            Flavor::OpensearchDashboards,
            401,
            r#"{"statusCode":401,"error":"Unauthorized","message":"[security_exception] missing authentication credentials"}"#,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "import: OpenSearch Dashboards answered 401: Unauthorized: [security_exception] missing authentication credentials"
        );
        let err = parse_import_response(Flavor::Kibana, 502, "Bad Gateway")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "import: Kibana answered 502: Bad Gateway");
        let err = parse_import_response(Flavor::Kibana, 200, "<html>")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("import: unexpected answer"), "{err}");
    }

    #[tokio::test]
    async fn an_unreadable_ca_file_is_named_before_connecting() {
        let mut s = InstallSettings::new("https://127.0.0.1:9", Flavor::Kibana);
        s.tls.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        let err = install(&s).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "dashboards: cannot read the CA file /nonexistent/ca.pem: entity not found"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        s.tls.ca_file = Some(not_pem.clone());
        let err = install(&s).await.unwrap_err().to_string();
        assert!(err.ends_with("is not a PEM certificate"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_secret_is_named_without_a_request() {
        let mut s = InstallSettings::new("http://127.0.0.1:9", Flavor::Kibana);
        s.auth = AuthConfig::Basic {
            username: "elastic".to_string(),
            password: crate::backend::SecretRef::env("LW_DASH_UNSET_VARIABLE"),
        };
        let err = install(&s).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "dashboards: environment variable LW_DASH_UNSET_VARIABLE is not set"
        );
    }

    #[test]
    fn export_writes_the_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new");
        for f in Flavor::ALL {
            let path = export(f, &out).unwrap();
            assert_eq!(std::fs::read_to_string(path).unwrap(), f.bundle());
        }
    }
}

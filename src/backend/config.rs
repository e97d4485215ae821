//! Settings of the backend: where the cluster is, how to authenticate, TLS, and the limits of
//! bulk writes and window reads. Serde structs with defaults, a pure `validate` that names
//! every bad key, and [`BackendConfig::check`] for use before connecting.

use super::{BackendError, Engine};
use crate::validate::Problems;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// The cluster and how to talk to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendConfig {
    /// Base URL, e.g. `http://localhost:9200`. Credentials never go here (see `auth`).
    pub url: String,
    /// `elasticsearch` or `opensearch`; detected from the cluster when absent (and checked
    /// against it when present).
    pub backend: Option<Engine>,
    /// Authentication.
    pub auth: AuthConfig,
    /// TLS settings for `https://` URLs.
    pub tls: TlsConfig,
    /// Timeout of one request, in seconds.
    pub request_timeout_secs: u64,
    /// Bulk writes.
    pub bulk: BulkConfig,
    /// Window reads.
    pub read: ReadConfig,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            url: "http://localhost:9200".to_string(),
            backend: None,
            auth: AuthConfig::None,
            tls: TlsConfig::default(),
            request_timeout_secs: 60,
            bulk: BulkConfig::default(),
            read: ReadConfig::default(),
        }
    }
}

impl BackendConfig {
    /// Settings for `url` with every default.
    pub fn for_url(url: impl Into<String>) -> Self {
        BackendConfig {
            url: url.into(),
            ..BackendConfig::default()
        }
    }

    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        if let Some(m) = url_problem(&self.url) {
            p.add(format!("{path}.url"), m);
        }
        p.range(
            format!("{path}.request_timeout_secs"),
            self.request_timeout_secs,
            1,
            3600,
        );
        self.auth.validate(&format!("{path}.auth"), p);
        self.tls.validate(&format!("{path}.tls"), p);
        self.bulk.validate(&format!("{path}.bulk"), p);
        self.read.validate(&format!("{path}.read"), p);
    }

    /// Validate as a whole (key paths under `backend`), as an error.
    pub fn check(&self) -> Result<(), BackendError> {
        let mut p = Problems::default();
        self.validate("backend", &mut p);
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(BackendError::Config(p.0.join("; ")))
        }
    }
}

fn url_problem(url: &str) -> Option<&'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest else {
        return Some("must start with http:// or https://");
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Some("has no host");
    }
    if authority.contains('@') {
        return Some("must not contain credentials: use `auth`");
    }
    None
}

/// Where a secret comes from: an environment variable or a file (its content, trimmed).
///
/// Written inline (`password: hunter2`), it is refused without repeating the value: a
/// config error must never put a secret on a terminal or in a log collector.
#[derive(Clone, Default, Serialize)]
pub struct SecretRef {
    /// Name of an environment variable holding the secret.
    pub env: Option<String>,
    /// Path of a file holding the secret.
    pub file: Option<PathBuf>,
}

/// The fields of a [`SecretRef`], as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFields {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
}

/// A config value that must be a map: any other shape is refused by naming its kind only,
/// never its value (a password written where its source belongs).
trait MapOnly: Sized {
    /// What the key takes, said in every error about it.
    const EXPECTED: &'static str;
    /// Read the map.
    fn from_map<'de, A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
    /// An empty value (`key:` with nothing after it).
    fn from_unit<E: serde::de::Error>() -> Result<Self, E> {
        Err(refused::<Self, E>("nothing"))
    }
}

fn refused<T: MapOnly, E: serde::de::Error>(found: &str) -> E {
    E::custom(format!("found {found}: expected {}", T::EXPECTED))
}

/// The visitor of every [`MapOnly`] type.
struct MapOnlyVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: MapOnly> serde::de::Visitor<'de> for MapOnlyVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<T, E> {
        Err(refused::<T, E>("a string"))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<T, E> {
        Err(refused::<T, E>("a boolean"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<T, E> {
        Err(refused::<T, E>("a number"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<T, E> {
        Err(refused::<T, E>("a number"))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<T, E> {
        Err(refused::<T, E>("a number"))
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<T, E> {
        Err(refused::<T, E>("bytes"))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(refused::<T, A::Error>("a list"))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<T, E> {
        T::from_unit()
    }
}

fn deserialize_map_only<'de, T: MapOnly, D: serde::Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(MapOnlyVisitor(std::marker::PhantomData))
}

impl MapOnly for SecretRef {
    const EXPECTED: &'static str = "a secret source `{ env: NAME }` or `{ file: PATH }` (inline secrets are not accepted; the value is not shown)";
    fn from_map<'de, A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let f = SecretFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(SecretRef {
            env: f.env,
            file: f.file,
        })
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_map_only(d)
    }
}

impl PartialEq for SecretRef {
    /// Where the secret comes from, compared (never the secret).
    fn eq(&self, other: &Self) -> bool {
        self.env == other.env && self.file == other.file
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only where it comes from, never what it is.
        f.debug_struct("SecretRef")
            .field("env", &self.env)
            .field("file", &self.file)
            .finish()
    }
}

impl SecretRef {
    /// A secret read from the environment variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        SecretRef {
            env: Some(name.into()),
            file: None,
        }
    }

    /// Check that exactly one source is set; problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        match (&self.env, &self.file) {
            (None, None) => p.add(path, "set `env` or `file`"),
            (Some(_), Some(_)) => p.add(path, "set only one of `env` and `file`"),
            (Some(e), None) if e.trim().is_empty() => p.add(format!("{path}.env"), "is empty"),
            _ => {}
        }
    }

    /// Read the secret now. The error names the variable or file, never the value.
    pub fn resolve(&self) -> Result<Secret, BackendError> {
        if let Some(var) = &self.env {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                _ => Err(BackendError::Config(format!(
                    "environment variable {var} is not set"
                ))),
            };
        }
        if let Some(file) = &self.file {
            return match std::fs::read_to_string(file) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
                Ok(_) => Err(BackendError::Config(format!(
                    "secret file {} is empty",
                    file.display()
                ))),
                Err(e) => Err(BackendError::Config(format!(
                    "cannot read secret file {}: {}",
                    file.display(),
                    e.kind()
                ))),
            };
        }
        Err(BackendError::Config("a secret has no source".to_string()))
    }
}

/// A resolved secret; `Debug` and `Display` print `***`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The value, for handing to the client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Authentication.
///
/// `Self` as the remote type: serde derives the tagged-enum reading as inherent functions,
/// and the `Deserialize` below refuses a value that is not a map without showing it (a
/// password written as the whole `auth`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "type",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum AuthConfig {
    /// No credentials (a cluster with security off).
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password source.
        password: SecretRef,
    },
    /// An API key (`Authorization: ApiKey base64(id:key)`).
    ApiKey {
        /// The key's id.
        id: String,
        /// The key's secret source.
        key: SecretRef,
    },
}

impl Serialize for AuthConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AuthConfig::serialize(self, s)
    }
}

impl MapOnly for AuthConfig {
    const EXPECTED: &'static str = "a map with `type: none`, `type: basic` (`username`, `password`) or `type: api_key` (`id`, `key`); the value is not shown";
    fn from_map<'de, A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        AuthConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
    }
    fn from_unit<E: serde::de::Error>() -> Result<Self, E> {
        Ok(AuthConfig::None)
    }
}

impl<'de> Deserialize<'de> for AuthConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_map_only(d)
    }
}

impl AuthConfig {
    fn validate(&self, path: &str, p: &mut Problems) {
        match self {
            AuthConfig::None => {}
            AuthConfig::Basic { username, password } => {
                if username.trim().is_empty() {
                    p.add(format!("{path}.username"), "must not be empty");
                }
                password.validate(&format!("{path}.password"), p);
            }
            AuthConfig::ApiKey { id, key } => {
                if id.trim().is_empty() {
                    p.add(format!("{path}.id"), "must not be empty");
                }
                key.validate(&format!("{path}.key"), p);
            }
        }
    }
}

/// TLS for `https://` clusters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// A PEM file with the CA that signed the cluster's certificate (e.g. a self-made CA).
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate, unverified. Opt-in for test clusters with self-signed
    /// certificates; never for production.
    pub insecure_skip_verify: bool,
}

impl TlsConfig {
    fn validate(&self, path: &str, p: &mut Problems) {
        if self.ca_file.is_some() && self.insecure_skip_verify {
            p.add(
                format!("{path}.insecure_skip_verify"),
                "cannot be combined with `ca_file`",
            );
        }
    }
}

/// Limits and retries of bulk writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BulkConfig {
    /// Documents per bulk request at most.
    pub max_docs: usize,
    /// Bytes of NDJSON per bulk request at most (a single larger document goes alone).
    pub max_bytes: usize,
    /// Retries of a request or of failed items after the first try.
    pub max_retries: u32,
    /// First backoff delay, in milliseconds; doubles with each retry, with jitter.
    pub initial_backoff_ms: u64,
    /// Backoff delay cap, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            max_docs: 500,
            max_bytes: 5 * 1024 * 1024,
            max_retries: 6,
            initial_backoff_ms: 200,
            max_backoff_ms: 30_000,
        }
    }
}

impl BulkConfig {
    /// The backoff of retried requests and items (also of retried reads).
    pub fn backoff(&self) -> crate::retry::Backoff {
        crate::retry::Backoff {
            first: std::time::Duration::from_millis(self.initial_backoff_ms),
            max: std::time::Duration::from_millis(self.max_backoff_ms),
        }
    }

    fn validate(&self, path: &str, p: &mut Problems) {
        p.range(format!("{path}.max_docs"), self.max_docs, 1, 100_000);
        p.range(
            format!("{path}.max_bytes"),
            self.max_bytes,
            1024,
            100 * 1024 * 1024,
        );
        p.range(format!("{path}.max_retries"), self.max_retries, 0, 100);
        p.range(
            format!("{path}.initial_backoff_ms"),
            self.initial_backoff_ms,
            1,
            60_000,
        );
        if self.max_backoff_ms < self.initial_backoff_ms {
            p.add(
                format!("{path}.max_backoff_ms"),
                "must not be below `initial_backoff_ms`",
            );
        }
    }
}

/// Limits of window reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadConfig {
    /// Documents per search page.
    pub page_size: usize,
    /// How long the point in time is kept between pages, in seconds.
    pub keep_alive_secs: u64,
    /// Messages longer than this are cut at a character boundary (counted as
    /// `message_truncated`).
    pub max_message_bytes: usize,
    /// How many bad documents to report with their ids (the rest are only counted).
    pub report_first: usize,
    /// Retries of a failed page request (429/5xx/unreachable) before giving up the window.
    pub max_retries: u32,
    /// Time chunks of a window read side by side (each its own point in time); the pages
    /// still come in time order.
    pub parallel: usize,
}

impl Default for ReadConfig {
    fn default() -> Self {
        ReadConfig {
            page_size: 2_000,
            keep_alive_secs: 120,
            max_message_bytes: 16 * 1024,
            report_first: 20,
            max_retries: 4,
            parallel: 2,
        }
    }
}

impl ReadConfig {
    fn validate(&self, path: &str, p: &mut Problems) {
        p.range(format!("{path}.page_size"), self.page_size, 1, 10_000);
        p.range(
            format!("{path}.keep_alive_secs"),
            self.keep_alive_secs,
            10,
            3600,
        );
        p.range(
            format!("{path}.max_message_bytes"),
            self.max_message_bytes,
            64,
            64 * 1024 * 1024,
        );
        p.range(format!("{path}.max_retries"), self.max_retries, 0, 100);
        p.range(format!("{path}.parallel"), self.parallel, 1, 16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(c: &BackendConfig) -> Vec<String> {
        let mut p = Problems::default();
        c.validate("backend", &mut p);
        p.0
    }

    #[test]
    fn the_cluster_section_is_this_config() {
        let c = crate::config::Config::from_yaml(
            "cluster:\n  url: http://es:9200\n  backend: opensearch\n  auth:\n    type: basic\n    username: lw\n    password:\n      env: LW_PW\n",
        )
        .unwrap();
        let b = c.cluster.unwrap();
        assert_eq!(
            (b.url.as_str(), b.backend),
            ("http://es:9200", Some(Engine::Opensearch))
        );
        assert!(matches!(b.auth, AuthConfig::Basic { .. }));
        let err =
            crate::config::Config::from_yaml("cluster:\n  url: http://es:9200\n  backend: solr\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("cluster.backend"), "{err}");
        let err = crate::config::Config::from_yaml("cluster:\n  url: http://u:p@es:9200\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cluster.url"), "{err}");
    }

    #[test]
    fn defaults_are_valid() {
        assert!(problems(&BackendConfig::default()).is_empty());
    }

    #[test]
    fn credentials_in_the_url_are_refused_by_key() {
        let c = BackendConfig::for_url("https://elastic:changeme@localhost:9200");
        let p = problems(&c);
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("`backend.url`"), "{p:?}");
        assert!(!p[0].contains("changeme"));
    }

    #[test]
    fn every_bad_key_is_named() {
        let mut c = BackendConfig::for_url("localhost:9200");
        c.bulk.max_docs = 0;
        c.read.page_size = 50_000;
        c.auth = AuthConfig::Basic {
            username: String::new(),
            password: SecretRef::default(),
        };
        c.tls = TlsConfig {
            ca_file: Some("/ca.pem".into()),
            insecure_skip_verify: true,
        };
        let p = problems(&c).join("\n");
        for key in [
            "`backend.url`",
            "`backend.bulk.max_docs`",
            "`backend.read.page_size`",
            "`backend.auth.username`",
            "`backend.auth.password`",
            "`backend.tls.insecure_skip_verify`",
        ] {
            assert!(p.contains(key), "{key} missing in {p}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err =
            serde_json::from_str::<BackendConfig>(r#"{"url": "http://x:9200", "pasword": "x"}"#)
                .unwrap_err();
        assert!(err.to_string().contains("pasword"), "{err}");
        let auth: AuthConfig = serde_json::from_str(
            r#"{"type": "api_key", "id": "k1", "key": {"env": "LW_TEST_KEY"}}"#,
        )
        .unwrap();
        assert!(matches!(auth, AuthConfig::ApiKey { .. }));
    }

    #[test]
    fn secrets_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "hunter2\n").unwrap();
        let s = SecretRef {
            env: None,
            file: Some(f),
        }
        .resolve()
        .unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        let missing = SecretRef::env("LOGWARDEN_TEST_SURELY_UNSET_VAR").resolve();
        assert!(
            matches!(missing, Err(BackendError::Config(m)) if m.contains("LOGWARDEN_TEST_SURELY_UNSET_VAR"))
        );
    }
}

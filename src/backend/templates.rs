//! Index templates and retention policies for the indices logwarden writes: anomalies,
//! incidents and pattern rates.
//!
//! Owns: the composable index template of each index, built from `mappings/*.json` (the single
//! source of the field contracts) with one variant per engine, and the retention policy behind
//! it — an ILM policy on Elasticsearch, referenced from the template's `index.lifecycle.name`;
//! an ISM policy on OpenSearch, which attaches itself to new indices through its
//! `ism_template` and is added explicitly to the indices that exist already.
//! [`install_templates`] installs what is missing or older and leaves the rest alone unless
//! forced; the sidecar calls it at start.
//!
//! Invariants: a template is named after its index, matches `<name>` and `<name>-*` with
//! priority [`TEMPLATE_PRIORITY`] (above the built-in `logs-*-*` at 100) and maps
//! `dynamic: false`, so a field outside the contract stays in `_source` and is never mapped.
//! Retention is by index age with no rollover (the indices are plain indices, not data
//! streams): a policy deletes a whole index N days after it was created, so a rolling window
//! needs dated indices (`<name>-2026.11.30`), which the `<name>-*` pattern covers. A cluster
//! without ILM or ISM (the integ-test distributions have neither) gets the templates without a
//! policy, and the report says so. Nothing here overwrites a newer version than its own.

use super::IndicesConfig;
use super::{mapping_version, Backend, BackendError, Engine, HttpMethod, RawResponse};
use super::{ANOMALY_MAPPING, INCIDENT_MAPPING, PATTERN_MAPPING};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Priority of logwarden's index templates: above the built-in `logs-*-*` (100) of
/// Elasticsearch, so an index name that happens to match those still gets our mapping.
pub const TEMPLATE_PRIORITY: u64 = 500;

/// Days one of the sidecar's weekly indices spans.
pub const WEEK_DAYS: u32 = 7;
const _: () = assert!(
    TEMPLATE_PRIORITY > 100,
    "below the built-in logs-*-* templates"
);

/// Version of everything in a template besides the mapping (patterns, priority, settings);
/// `_meta.logwarden_template_version`. Raise it when [`index_template_body`] changes.
pub const TEMPLATE_VERSION: u64 = 1;

/// Version of the policy bodies ([`ilm_policy_body`], [`ism_policy_body`]). Raise it when
/// they change.
pub const POLICY_VERSION: u64 = 1;

/// The `_meta.managed_by` of everything logwarden installs.
pub const MANAGED_BY: &str = "logwarden";

/// One of the indices logwarden writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndexKind {
    /// Anomaly documents (`mappings/anomalies.json`).
    Anomalies,
    /// Incident documents (`mappings/incidents.json`).
    Incidents,
    /// Pattern-rate documents (`mappings/patterns.json`).
    Patterns,
}

impl IndexKind {
    /// All three, in install order.
    pub const ALL: [IndexKind; 3] = [
        IndexKind::Anomalies,
        IndexKind::Incidents,
        IndexKind::Patterns,
    ];

    /// `anomalies`, `incidents` or `patterns`, as in `indices.*` of the config.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Anomalies => "anomalies",
            IndexKind::Incidents => "incidents",
            IndexKind::Patterns => "patterns",
        }
    }

    /// The mapping file, relative to the repository.
    pub fn mapping_file(self) -> &'static str {
        match self {
            IndexKind::Anomalies => "mappings/anomalies.json",
            IndexKind::Incidents => "mappings/incidents.json",
            IndexKind::Patterns => "mappings/patterns.json",
        }
    }

    /// The mapping file's text (compiled in).
    pub fn mapping_source(self) -> &'static str {
        match self {
            IndexKind::Anomalies => ANOMALY_MAPPING,
            IndexKind::Incidents => INCIDENT_MAPPING,
            IndexKind::Patterns => PATTERN_MAPPING,
        }
    }

    /// The mapping, parsed.
    pub fn mapping(self) -> Result<Value, BackendError> {
        serde_json::from_str(self.mapping_source())
            .map_err(|e| BackendError::Config(format!("{}: {e}", self.mapping_file())))
    }

    /// The configured index name.
    pub fn index_name(self, indices: &IndicesConfig) -> &str {
        match self {
            IndexKind::Anomalies => &indices.anomalies,
            IndexKind::Incidents => &indices.incidents,
            IndexKind::Patterns => &indices.patterns,
        }
    }

    /// The age in days at which the policy deletes an index: the configured retention plus
    /// the week one index spans.
    pub fn retention_days(self, indices: &IndicesConfig) -> u32 {
        let days = match self {
            IndexKind::Anomalies => indices.retention.anomalies_days,
            IndexKind::Incidents => indices.retention.incidents_days,
            IndexKind::Patterns => indices.retention.patterns_days,
        };
        // The sidecar writes weekly indices (`<name>-<monday>`): deleting one a week after
        // the configured age keeps its newest documents for the configured days too.
        days.saturating_add(WEEK_DAYS)
    }
}

impl fmt::Display for IndexKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of cluster object a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A composable index template (`_index_template/<name>`).
    IndexTemplate,
    /// An Elasticsearch ILM policy (`_ilm/policy/<name>`).
    IlmPolicy,
    /// An OpenSearch ISM policy (`_plugins/_ism/policies/<name>`).
    IsmPolicy,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::IndexTemplate => "index template",
            ObjectKind::IlmPolicy => "ILM policy",
            ObjectKind::IsmPolicy => "ISM policy",
        })
    }
}

/// What [`install_templates`] did with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// There was none: installed.
    Installed,
    /// There was an older one (lower version, or other retention days / policy reference):
    /// replaced.
    Updated,
    /// The current one (or a newer one) was there: left alone.
    Present,
    /// There was one and `force` was set: replaced whatever it was.
    Forced,
    /// The cluster cannot hold this object (no ILM module / ISM plugin): nothing installed,
    /// the documents are kept until deleted by hand.
    Unavailable,
}

impl fmt::Display for InstallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InstallOutcome::Installed => "installed",
            InstallOutcome::Updated => "updated",
            InstallOutcome::Present => "present",
            InstallOutcome::Forced => "forced",
            InstallOutcome::Unavailable => "unavailable",
        })
    }
}

/// One object [`install_templates`] looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// Template or policy.
    pub object: ObjectKind,
    /// Its name on the cluster (a template is named after its index, a policy
    /// `<index>-retention`).
    pub name: String,
    /// The index it serves.
    pub index: IndexKind,
    /// What was done.
    pub outcome: InstallOutcome,
    /// One line for the log: version and patterns, retention, indices the policy was added
    /// to, or why it is unavailable.
    pub detail: String,
}

impl fmt::Display for InstallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` ({}): {}: {}",
            self.object, self.name, self.index, self.outcome, self.detail
        )
    }
}

/// The retention policy of `index`: `<index>-retention`.
pub fn policy_name(index: &str) -> String {
    format!("{index}-retention")
}

/// The patterns a template (and an ISM policy) covers: `<index>` and `<index>-*`.
pub fn index_patterns(index: &str) -> [String; 2] {
    [index.to_string(), format!("{index}-*")]
}

/// The composable index template for `kind` written to `index`, in the variant for `engine`.
///
/// Elasticsearch: with `ilm_policy`, the settings name it in `index.lifecycle.name`.
/// OpenSearch: never a lifecycle setting (OpenSearch rejects `index.lifecycle.*`; an ISM
/// policy attaches through its own `ism_template`), so `ilm_policy` is ignored.
pub fn index_template_body(
    kind: IndexKind,
    index: &str,
    engine: Engine,
    ilm_policy: Option<&str>,
) -> Result<Value, BackendError> {
    let mapping = kind.mapping()?;
    let version = mapping_version(&mapping);
    let mut template = json!({ "mappings": mapping });
    if let (Engine::Elasticsearch, Some(policy)) = (engine, ilm_policy) {
        template["settings"] = json!({ "index.lifecycle.name": policy });
    }
    Ok(json!({
        "index_patterns": index_patterns(index),
        "priority": TEMPLATE_PRIORITY,
        "version": version,
        "template": template,
        "_meta": {
            "managed_by": MANAGED_BY,
            "description": format!("logwarden {kind} index: the contract in {}", kind.mapping_file()),
            "logwarden_mapping_version": version,
            "logwarden_template_version": TEMPLATE_VERSION,
        }
    }))
}

/// The Elasticsearch ILM policy that deletes an index `days` days after it was created: a
/// delete phase only (an index waits in `new` until then). No rollover: logwarden writes
/// plain indices, so the age is the index's creation age.
pub fn ilm_policy_body(index: &str, days: u32) -> Value {
    json!({
        "policy": {
            "_meta": {
                "managed_by": MANAGED_BY,
                "description": format!(
                    "logwarden retention: delete {index} and {index}-* indices {days} days after they are created"
                ),
                "logwarden_policy_version": POLICY_VERSION,
                "retention_days": days,
            },
            "phases": {
                "delete": { "min_age": format!("{days}d"), "actions": { "delete": {} } }
            }
        }
    })
}

/// The marker of our version in an ISM policy's description (ISM policies have no `_meta`).
const ISM_VERSION_MARK: &str = "logwarden retention policy v";

/// The OpenSearch ISM policy that deletes an index `days` days after it was created: state
/// `hot`, then `delete` on `min_index_age`. Its `ism_template` covers `<index>` and
/// `<index>-*`, so indices created after the policy get it automatically.
pub fn ism_policy_body(index: &str, days: u32) -> Value {
    json!({
        "policy": {
            "description": format!(
                "{ISM_VERSION_MARK}{POLICY_VERSION} (managed by {MANAGED_BY}): delete {index} and {index}-* indices {days} days after they are created"
            ),
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [
                        { "state_name": "delete", "conditions": { "min_index_age": format!("{days}d") } }
                    ]
                },
                {
                    "name": "delete",
                    "actions": [ { "delete": {} } ],
                    "transitions": []
                }
            ],
            "ism_template": [
                { "index_patterns": index_patterns(index), "priority": TEMPLATE_PRIORITY }
            ]
        }
    })
}

/// The `index.lifecycle.name` of a template, in either the flat or the nested form (the
/// cluster answers nested).
fn lifecycle_name(template: &Value) -> Option<&str> {
    let settings = template.pointer("/template/settings")?;
    settings
        .get("index.lifecycle.name")
        .or_else(|| settings.pointer("/index/lifecycle/name"))
        .or_else(|| settings.pointer("/index/lifecycle.name"))
        .and_then(Value::as_str)
}

/// Whether the stored template `have` can stay in place of `want`: it is newer, or of the
/// same versions and names the same lifecycle policy.
pub fn template_is_current(have: &Value, want: &Value) -> bool {
    use std::cmp::Ordering::*;
    let mv = |t: &Value| {
        t.pointer("/template/mappings")
            .map(mapping_version)
            .unwrap_or(0)
    };
    let tv = |t: &Value| {
        t.pointer("/_meta/logwarden_template_version")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    match (mv(have).cmp(&mv(want)), tv(have).cmp(&tv(want))) {
        (Greater, _) | (Equal, Greater) => true,
        (Equal, Equal) => lifecycle_name(have) == lifecycle_name(want),
        _ => false,
    }
}

/// Whether the stored ILM policy `have` (the `policy` object of a GET) can stay in place of
/// `want` (the `policy` object of [`ilm_policy_body`]): newer, or the same version deleting
/// at the same age.
pub fn ilm_policy_is_current(have: &Value, want: &Value) -> bool {
    let version = |p: &Value| {
        p.pointer("/_meta/logwarden_policy_version")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let age = |p: &Value| {
        p.pointer("/phases/delete/min_age")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match version(have).cmp(&version(want)) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => age(have) == age(want),
        std::cmp::Ordering::Less => false,
    }
}

/// The logwarden version in an ISM policy's description, 0 when it has none.
fn ism_version(policy: &Value) -> u64 {
    let Some(d) = policy.get("description").and_then(Value::as_str) else {
        return 0;
    };
    let Some(at) = d.find(ISM_VERSION_MARK) else {
        return 0;
    };
    let digits: String = d[at + ISM_VERSION_MARK.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

/// The `min_index_age` of the transition into the `delete` state.
fn ism_delete_age(policy: &Value) -> Option<String> {
    policy
        .get("states")?
        .as_array()?
        .iter()
        .flat_map(|s| {
            s.get("transitions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find(|t| t.get("state_name").and_then(Value::as_str) == Some("delete"))?
        .pointer("/conditions/min_index_age")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Whether the stored ISM policy `have` (the policy object of a GET) can stay in place of
/// `want` (the `policy` object of [`ism_policy_body`]): newer, or the same version deleting
/// at the same age.
pub fn ism_policy_is_current(have: &Value, want: &Value) -> bool {
    match ism_version(have).cmp(&ism_version(want)) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => ism_delete_age(have) == ism_delete_age(want),
        std::cmp::Ordering::Less => false,
    }
}

/// What to do with an object: `current` is `None` when there is none, else whether the one
/// there can stay. `Present` means: write nothing.
pub fn decide(current: Option<bool>, force: bool) -> InstallOutcome {
    match (current, force) {
        (None, _) => InstallOutcome::Installed,
        (Some(_), true) => InstallOutcome::Forced,
        (Some(false), false) => InstallOutcome::Updated,
        (Some(true), false) => InstallOutcome::Present,
    }
}

/// Escape one path segment (an index or policy name): everything but `[A-Za-z0-9._-]` as
/// `%XX`, so a name can never reach another endpoint.
fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `index,index-*`, escaped, for a path.
fn pattern_path(index: &str) -> String {
    let i = segment(index);
    format!("{i},{i}-*")
}

/// A comma list of escaped names, for a path.
fn list_path<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    names
        .into_iter()
        .map(|n| segment(n))
        .collect::<Vec<_>>()
        .join(",")
}

/// Why the cluster cannot hold retention policies, or `None` when it can: asked as the
/// engine's [`Lifecycle::probe`] says.
pub async fn retention_unavailable(backend: &dyn Backend) -> Result<Option<String>, BackendError> {
    let lc = backend.dialect().lifecycle;
    let why = match lc.probe {
        Probe::Status { op, path } => {
            let r = backend
                .send_raw(op, HttpMethod::Get, path, &[], None)
                .await?;
            if r.is_success() {
                return Ok(None);
            }
            if !matches!(r.status, 400 | 404 | 405 | 410) {
                // Any other status is an error (403: no privilege to read it, 5xx).
                return r.check(op).map(|_| None);
            }
            format!("`GET {path}` answers {}; {}", r.status, lc.missing)
        }
        Probe::Plugin(component) => {
            let body = backend
                .send_raw(
                    "list plugins",
                    HttpMethod::Get,
                    "/_cat/plugins",
                    &[("format", "json")],
                    None,
                )
                .await?
                .check("list plugins")?;
            let installed = body.as_array().is_some_and(|plugins| {
                plugins.iter().any(|p| {
                    p.get("component")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.contains(component))
                })
            });
            if installed {
                return Ok(None);
            }
            lc.missing.to_string()
        }
    };
    let info = backend.info();
    Ok(Some(format!(
        "{} {} has no {} ({why}): indices are kept until deleted by hand",
        info.engine, info.version, lc.name
    )))
}

/// The open indices that match `index` and `index-*`, each with its `index.lifecycle.name`
/// (always `None` on OpenSearch, which keeps ISM state elsewhere).
pub async fn existing_indices(
    backend: &dyn Backend,
    index: &str,
) -> Result<BTreeMap<String, Option<String>>, BackendError> {
    let body = backend
        .send_raw(
            "get index settings",
            HttpMethod::Get,
            &format!("/{}/_settings", pattern_path(index)),
            &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
            None,
        )
        .await?
        .check("get index settings")?;
    let Some(map) = body.as_object() else {
        return Err(BackendError::Response {
            op: "get index settings",
            detail: "the answer is not an object".to_string(),
        });
    };
    Ok(map
        .iter()
        .map(|(name, v)| {
            let policy = v
                .pointer("/settings/index/lifecycle/name")
                .and_then(Value::as_str)
                .map(str::to_string);
            (name.clone(), policy)
        })
        .collect())
}

/// Install (or leave) the template of `kind`.
async fn install_template(
    backend: &dyn Backend,
    kind: IndexKind,
    index: &str,
    ilm_policy: Option<&str>,
    force: bool,
) -> Result<InstallReport, BackendError> {
    let want = index_template_body(kind, index, backend.info().engine, ilm_policy)?;
    let have = backend.get_index_template(index).await?;
    let outcome = decide(have.as_ref().map(|h| template_is_current(h, &want)), force);
    if outcome != InstallOutcome::Present {
        backend.put_index_template(index, want.clone()).await?;
    }
    let mut detail = format!(
        "mapping version {} from {}, patterns {index}, {index}-*, priority {TEMPLATE_PRIORITY}",
        want["version"],
        kind.mapping_file()
    );
    if let Some(p) = lifecycle_name(&want) {
        detail.push_str(&format!(", index.lifecycle.name {p}"));
    }
    Ok(InstallReport {
        object: ObjectKind::IndexTemplate,
        name: index.to_string(),
        index: kind,
        outcome,
        detail,
    })
}

/// How a retention policy reaches the indices that exist already (its template reference or
/// `ism_template` only reaches indices created after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// ILM: name the policy in `index.lifecycle.name` of the indices that name none.
    LifecycleSetting,
    /// ISM: add the policy to the indices, and after a change move the ones it manages to the
    /// new version (ISM keeps running the version an index started with otherwise).
    IsmAdd,
}

/// A retention policy API: what differs between ILM (Elasticsearch) and ISM (OpenSearch), so
/// that installing a policy is one flow (`install_policy`). The engine's one is
/// [`Dialect::lifecycle`](super::Dialect::lifecycle).
#[derive(Debug)]
pub struct Lifecycle {
    /// What reports call the policy.
    pub object: ObjectKind,
    /// What the engine calls the feature.
    pub name: &'static str,
    /// How to tell whether the cluster has it.
    pub probe: Probe,
    /// What is missing when it has not.
    pub missing: &'static str,
    /// The policies endpoint: a policy is `<policies>/<name>`.
    pub policies: &'static str,
    /// The names of the GET and the PUT of a policy in errors.
    pub get_op: &'static str,
    /// See `get_op`.
    pub put_op: &'static str,
    /// The policy that deletes `index` and `index-*` `days` days after creation.
    pub body: fn(&str, u32) -> Value,
    /// The policy object in the GET answer of policy `name`.
    pub stored: fn(&Value, &str) -> Value,
    /// Whether the stored policy (first) can stay in place of the wanted one.
    pub is_current: fn(&Value, &Value) -> bool,
    /// Whether replacing a policy must name the stored one's `_seq_no` and `_primary_term`.
    pub replace_names_seq_no: bool,
    /// Whether index templates name the policy (`index.lifecycle.name`).
    pub named_by_template: bool,
    /// How the policy reaches existing indices.
    pub attach: Attach,
    /// The report's description of the policy.
    pub summary: fn(u32) -> String,
}

/// How [`retention_unavailable`] tells whether a cluster can hold retention policies.
#[derive(Debug, Clone, Copy)]
pub enum Probe {
    /// A status endpoint, which answers 400, 404, 405 or 410 without the feature.
    Status {
        /// The request's name in errors.
        op: &'static str,
        /// Its path.
        path: &'static str,
    },
    /// A plugin whose component name (in `_cat/plugins`) contains this.
    Plugin(&'static str),
}

/// Elasticsearch's index lifecycle management.
pub static ILM: Lifecycle = Lifecycle {
    object: ObjectKind::IlmPolicy,
    name: "index lifecycle management",
    probe: Probe::Status {
        op: "ilm status",
        path: "/_ilm/status",
    },
    missing: "the x-pack-ilm module is not installed",
    policies: "/_ilm/policy",
    get_op: "get ilm policy",
    put_op: "put ilm policy",
    body: ilm_policy_body,
    stored: |body, name| {
        body.get(name)
            .and_then(|p| p.get("policy"))
            .cloned()
            .unwrap_or(Value::Null)
    },
    is_current: ilm_policy_is_current,
    replace_names_seq_no: false,
    named_by_template: true,
    attach: Attach::LifecycleSetting,
    summary: |days| format!("delete phase at min_age {days}d (index age, no rollover)"),
};

/// OpenSearch's index state management.
pub static ISM: Lifecycle = Lifecycle {
    object: ObjectKind::IsmPolicy,
    name: "index state management",
    probe: Probe::Plugin("index-management"),
    missing: "the opensearch-index-management plugin is not installed",
    policies: "/_plugins/_ism/policies",
    get_op: "get ism policy",
    put_op: "put ism policy",
    body: ism_policy_body,
    stored: |body, _| {
        // `{"policy": {...}}`, some versions nest it once more.
        let p = body.get("policy").cloned().unwrap_or(Value::Null);
        match p.get("policy") {
            Some(inner @ Value::Object(_)) => inner.clone(),
            _ => p,
        }
    },
    is_current: ism_policy_is_current,
    replace_names_seq_no: true,
    named_by_template: false,
    attach: Attach::IsmAdd,
    summary: |days| format!("hot, then delete at min_index_age {days}d (index age, no rollover)"),
};

/// Install (or leave) the retention policy of `index` through `lc`, and attach it to the
/// indices that exist already.
async fn install_policy(
    backend: &dyn Backend,
    lc: &Lifecycle,
    kind: IndexKind,
    index: &str,
    days: u32,
    force: bool,
) -> Result<InstallReport, BackendError> {
    let name = policy_name(index);
    let path = format!("{}/{}", lc.policies, segment(&name));
    let want = (lc.body)(index, days);
    let r = backend
        .send_raw(lc.get_op, HttpMethod::Get, &path, &[], None)
        .await?;
    let have = if r.status == 404 {
        None
    } else {
        Some(r.check(lc.get_op)?)
    };
    let current = have
        .as_ref()
        .map(|h| (lc.is_current)(&(lc.stored)(h, &name), &want["policy"]));
    let outcome = decide(current, force);
    if outcome != InstallOutcome::Present {
        let mut query = Vec::new();
        if let (Some(h), true) = (&have, lc.replace_names_seq_no) {
            let number = |field: &str| h.get(field).and_then(Value::as_u64);
            let (Some(seq), Some(term)) = (number("_seq_no"), number("_primary_term")) else {
                return Err(BackendError::Response {
                    op: lc.get_op,
                    detail: "no _seq_no/_primary_term in the answer".to_string(),
                });
            };
            query = vec![
                ("if_seq_no", seq.to_string()),
                ("if_primary_term", term.to_string()),
            ];
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        backend
            .send_raw(lc.put_op, HttpMethod::Put, &path, &query, Some(want))
            .await?
            .check(lc.put_op)?;
    }
    let existing = existing_indices(backend, index).await?;
    let mut detail = (lc.summary)(days);
    match lc.attach {
        Attach::LifecycleSetting => {
            set_lifecycle_name(backend, &name, existing, &mut detail).await?
        }
        Attach::IsmAdd if existing.is_empty() => {}
        Attach::IsmAdd => {
            let existing: Vec<String> = existing.into_keys().collect();
            add_ism_policy(backend, &name, &existing, outcome, &mut detail).await?
        }
    }
    Ok(InstallReport {
        object: lc.object,
        name,
        index: kind,
        outcome,
        detail,
    })
}

/// Name ILM policy `name` on the `existing` indices that name no lifecycle policy yet.
async fn set_lifecycle_name(
    backend: &dyn Backend,
    name: &str,
    existing: BTreeMap<String, Option<String>>,
    detail: &mut String,
) -> Result<(), BackendError> {
    let bare: Vec<String> = existing
        .into_iter()
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| n)
        .collect();
    if bare.is_empty() {
        return Ok(());
    }
    backend
        .send_raw(
            "put index settings",
            HttpMethod::Put,
            &format!("/{}/_settings", list_path(&bare)),
            &[],
            Some(json!({ "index.lifecycle.name": name })),
        )
        .await?
        .check("put index settings")?;
    detail.push_str(&format!("; set on existing {}", bare.join(", ")));
    Ok(())
}

/// Add ISM policy `name` to the `existing` indices; after a change (`outcome`) first move
/// the ones it manages to the new version.
async fn add_ism_policy(
    backend: &dyn Backend,
    name: &str,
    existing: &[String],
    outcome: InstallOutcome,
    detail: &mut String,
) -> Result<(), BackendError> {
    let list = list_path(existing);
    if matches!(outcome, InstallOutcome::Updated | InstallOutcome::Forced) {
        let explained = backend
            .send_raw(
                "explain ism",
                HttpMethod::Get,
                &format!("/_plugins/_ism/explain/{list}"),
                &[],
                None,
            )
            .await?
            .check("explain ism")?;
        let ours: Vec<String> = existing
            .iter()
            .filter(|i| {
                explained
                    .get(i.as_str())
                    .and_then(|e| {
                        e.get("index.plugins.index_state_management.policy_id")
                            .or_else(|| e.get("policy_id"))
                    })
                    .and_then(Value::as_str)
                    == Some(name)
            })
            .cloned()
            .collect();
        if !ours.is_empty() {
            backend
                .send_raw(
                    "change ism policy",
                    HttpMethod::Post,
                    &format!("/_plugins/_ism/change_policy/{}", list_path(&ours)),
                    &[],
                    Some(json!({ "policy_id": name })),
                )
                .await?
                .check("change ism policy")?;
            detail.push_str(&format!("; moved {} to this version", ours.join(", ")));
        }
    }
    let added = backend
        .send_raw(
            "add ism policy",
            HttpMethod::Post,
            &format!("/_plugins/_ism/add/{list}"),
            &[],
            Some(json!({ "policy_id": name })),
        )
        .await?;
    detail.push_str(&add_summary(added)?);
    Ok(())
}

/// The report text of an ISM `add` answer: how many indices got the policy, and which could
/// not for a reason other than already having one.
fn add_summary(r: RawResponse) -> Result<String, BackendError> {
    let body = r.check("add ism policy")?;
    let updated = body
        .get("updated_indices")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let mut out = format!("; added to {updated} existing indices");
    let failed: Vec<String> = body
        .get("failed_indices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let idx = f.get("index_name").and_then(Value::as_str).unwrap_or("?");
            let reason = f.get("reason").and_then(Value::as_str).unwrap_or("");
            (!reason.contains("already has a policy")).then(|| format!("{idx}: {reason}"))
        })
        .collect();
    if !failed.is_empty() {
        out.push_str(&format!("; not added to {}", failed.join("; ")));
    }
    Ok(out)
}

/// Install the index templates of the anomaly, incident and pattern-rate indices named in
/// `indices`, and their retention policies (`indices.retention.*_days`), on `backend`.
///
/// Each object is installed when missing, replaced when older (mapping version, template or
/// policy version, another retention, another policy reference), and left alone when current
/// or newer — unless `force`, which replaces every one that exists. Policies are installed
/// before the template that names them. On a cluster without ILM/ISM the policies are reported
/// [`InstallOutcome::Unavailable`] and the templates carry no lifecycle setting. Returns one
/// report per object, policy then template for each index; the first failing request ends the
/// call with its error.
pub async fn install_templates(
    backend: &dyn Backend,
    indices: &IndicesConfig,
    force: bool,
) -> Result<Vec<InstallReport>, BackendError> {
    let lc = backend.dialect().lifecycle;
    let unavailable = retention_unavailable(backend).await?;
    let mut reports = Vec::with_capacity(2 * IndexKind::ALL.len());
    for kind in IndexKind::ALL {
        let index = kind.index_name(indices);
        let policy = match &unavailable {
            Some(why) => InstallReport {
                object: lc.object,
                name: policy_name(index),
                index: kind,
                outcome: InstallOutcome::Unavailable,
                detail: why.clone(),
            },
            None => {
                let days = kind.retention_days(indices);
                install_policy(backend, lc, kind, index, days, force).await?
            }
        };
        let named = (lc.named_by_template && unavailable.is_none()).then(|| policy.name.clone());
        reports.push(policy);
        reports.push(install_template(backend, kind, index, named.as_deref(), force).await?);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: IndexKind, engine: Engine, policy: Option<&str>) -> Value {
        index_template_body(kind, "lw-anomalies", engine, policy).unwrap()
    }

    #[test]
    fn every_shipped_mapping_parses_has_a_version_and_maps_nothing_dynamically() {
        for kind in IndexKind::ALL {
            let m = kind.mapping().unwrap();
            assert!(mapping_version(&m) >= 1, "{}", kind.mapping_file());
            assert_eq!(m["dynamic"], json!(false), "{}", kind.mapping_file());
            assert_eq!(m["properties"]["@timestamp"]["type"], json!("date"));
        }
    }

    #[test]
    fn templates_cover_the_name_and_its_dated_indices_above_the_builtin_logs_templates() {
        let t = body(IndexKind::Incidents, Engine::Elasticsearch, None);
        assert_eq!(
            t["index_patterns"],
            json!(["lw-anomalies", "lw-anomalies-*"])
        );
        assert_eq!(t["priority"], json!(TEMPLATE_PRIORITY));
        assert_eq!(
            t["template"]["mappings"],
            IndexKind::Incidents.mapping().unwrap()
        );
        assert_eq!(t["_meta"]["managed_by"], json!("logwarden"));
        assert_eq!(t["_meta"]["logwarden_mapping_version"], json!(1));
        assert_eq!(
            t["_meta"]["logwarden_template_version"],
            json!(TEMPLATE_VERSION)
        );
    }

    #[test]
    fn only_the_elasticsearch_variant_names_a_lifecycle_policy() {
        let es = body(IndexKind::Anomalies, Engine::Elasticsearch, Some("p"));
        assert_eq!(
            es["template"]["settings"],
            json!({"index.lifecycle.name": "p"})
        );
        assert_eq!(lifecycle_name(&es), Some("p"));
        let es_bare = body(IndexKind::Anomalies, Engine::Elasticsearch, None);
        assert_eq!(es_bare["template"].get("settings"), None);
        // OpenSearch rejects `index.lifecycle.*`: never there, even when asked.
        let os = body(IndexKind::Anomalies, Engine::Opensearch, Some("p"));
        assert_eq!(os["template"].get("settings"), None);
        assert_eq!(os["template"]["mappings"], es["template"]["mappings"]);
    }

    #[test]
    fn the_ilm_policy_deletes_at_the_configured_age() {
        let p = ilm_policy_body("lw-patterns", 30);
        assert_eq!(p["policy"]["phases"]["delete"]["min_age"], json!("30d"));
        assert_eq!(
            p["policy"]["phases"]["delete"]["actions"],
            json!({"delete": {}})
        );
        assert_eq!(
            p["policy"]["_meta"]["logwarden_policy_version"],
            json!(POLICY_VERSION)
        );
        assert_eq!(p["policy"]["_meta"]["retention_days"], json!(30));
        let phases: Vec<&String> = p["policy"]["phases"].as_object().unwrap().keys().collect();
        assert_eq!(phases, ["delete"]);
    }

    #[test]
    fn the_ism_policy_goes_hot_then_delete_and_attaches_to_new_indices() {
        let p = &ism_policy_body("lw-anomalies", 90)["policy"];
        assert_eq!(p["default_state"], json!("hot"));
        let states = p["states"].as_array().unwrap();
        assert_eq!(states.len(), 2);
        assert_eq!(states[0]["name"], json!("hot"));
        assert_eq!(
            states[0]["transitions"],
            json!([{"state_name": "delete", "conditions": {"min_index_age": "90d"}}])
        );
        assert_eq!(states[1]["name"], json!("delete"));
        assert_eq!(states[1]["actions"], json!([{"delete": {}}]));
        assert_eq!(
            p["ism_template"],
            json!([{"index_patterns": ["lw-anomalies", "lw-anomalies-*"], "priority": TEMPLATE_PRIORITY}])
        );
        assert_eq!(ism_version(p), POLICY_VERSION);
        assert_eq!(ism_delete_age(p).as_deref(), Some("90d"));
        // No `_meta`: ISM rejects fields it does not know.
        assert_eq!(p.get("_meta"), None);
    }

    #[test]
    fn a_template_is_current_when_of_our_versions_with_the_same_policy_or_newer() {
        let want = body(IndexKind::Anomalies, Engine::Elasticsearch, Some("p"));
        assert!(template_is_current(&want, &want));

        // The cluster answers settings nested.
        let mut nested = want.clone();
        nested["template"]["settings"] = json!({"index": {"lifecycle": {"name": "p"}}});
        assert!(template_is_current(&nested, &want));

        let mut other_policy = want.clone();
        other_policy["template"]["settings"] = json!({"index": {"lifecycle": {"name": "q"}}});
        assert!(!template_is_current(&other_policy, &want));

        let no_policy = body(IndexKind::Anomalies, Engine::Elasticsearch, None);
        assert!(
            !template_is_current(&no_policy, &want),
            "ILM came later: add it"
        );

        let mut older = want.clone();
        older["template"]["mappings"]["_meta"]["logwarden_mapping_version"] = json!(0);
        assert!(!template_is_current(&older, &want));

        let mut older_shape = want.clone();
        older_shape["_meta"]
            .as_object_mut()
            .unwrap()
            .remove("logwarden_template_version");
        assert!(!template_is_current(&older_shape, &want));

        // A newer logwarden's template is never downgraded, whatever it names.
        let mut newer = no_policy.clone();
        newer["template"]["mappings"]["_meta"]["logwarden_mapping_version"] = json!(7);
        assert!(template_is_current(&newer, &want));
    }

    #[test]
    fn a_policy_is_current_when_of_our_version_with_the_same_days_or_newer() {
        let want = ilm_policy_body("x", 90)["policy"].clone();
        assert!(ilm_policy_is_current(&want, &want));
        assert!(!ilm_policy_is_current(
            &ilm_policy_body("x", 30)["policy"],
            &want
        ));
        let mut newer = ilm_policy_body("x", 30)["policy"].clone();
        newer["_meta"]["logwarden_policy_version"] = json!(POLICY_VERSION + 1);
        assert!(ilm_policy_is_current(&newer, &want));
        assert!(!ilm_policy_is_current(&json!({}), &want));

        let want = ism_policy_body("x", 90)["policy"].clone();
        assert!(ism_policy_is_current(&want, &want));
        assert!(!ism_policy_is_current(
            &ism_policy_body("x", 60)["policy"],
            &want
        ));
        let mut foreign = want.clone();
        foreign["description"] = json!("hand-made");
        assert!(!ism_policy_is_current(&foreign, &want));
        let mut newer = ism_policy_body("x", 60)["policy"].clone();
        newer["description"] = json!("logwarden retention policy v9 (managed by logwarden)");
        assert!(ism_policy_is_current(&newer, &want));
    }

    #[test]
    fn each_lifecycle_reads_its_own_get_answer() {
        let want = ilm_policy_body("x", 90);
        let answer = json!({"x-retention": {"version": 1, "policy": want["policy"].clone()}});
        let stored = (ILM.stored)(&answer, "x-retention");
        assert!((ILM.is_current)(&stored, &want["policy"]));
        assert_eq!((ILM.stored)(&json!({}), "x-retention"), Value::Null);
        assert_eq!((ILM.body)("x", 90), want);

        let want = ism_policy_body("x", 90);
        let flat = json!({"_id": "x-retention", "_seq_no": 3, "_primary_term": 1,
                          "policy": want["policy"].clone()});
        let nested = json!({"policy": {"policy": want["policy"].clone()}});
        for answer in [flat, nested] {
            let stored = (ISM.stored)(&answer, "x-retention");
            assert!((ISM.is_current)(&stored, &want["policy"]), "{answer}");
        }
        assert_eq!((ISM.body)("x", 90), want);
        // Only ILM is named by templates; only ISM replaces under optimistic concurrency.
        assert!(ILM.named_by_template && !ISM.named_by_template);
        assert!(ISM.replace_names_seq_no && !ILM.replace_names_seq_no);
        assert_eq!(
            (ILM.summary)(30),
            "delete phase at min_age 30d (index age, no rollover)"
        );
    }

    #[test]
    fn force_replaces_what_exists_and_only_that() {
        use InstallOutcome::*;
        assert_eq!(decide(None, false), Installed);
        assert_eq!(decide(None, true), Installed);
        assert_eq!(decide(Some(true), false), Present);
        assert_eq!(decide(Some(false), false), Updated);
        assert_eq!(decide(Some(true), true), Forced);
        assert_eq!(decide(Some(false), true), Forced);
    }

    #[test]
    fn names_are_escaped_in_paths() {
        assert_eq!(
            segment("logwarden-anomalies_1.x"),
            "logwarden-anomalies_1.x"
        );
        assert_eq!(segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(pattern_path("a/b"), "a%2Fb,a%2Fb-*");
        let names = ["x".to_string(), "y z".to_string()];
        assert_eq!(list_path(&names), "x,y%20z");
        assert_eq!(
            policy_name("logwarden-patterns"),
            "logwarden-patterns-retention"
        );
    }

    #[test]
    fn an_ism_add_answer_reports_real_failures_only() {
        let r = RawResponse {
            warnings: vec![],
            status: 200,
            body: json!({
                "updated_indices": 1,
                "failures": true,
                "failed_indices": [
                    {"index_name": "a-1", "index_uuid": "u1",
                     "reason": "This index already has a policy, use the update policy API to update index policies."},
                    {"index_name": "a-2", "index_uuid": "u2", "reason": "index is closed"}
                ]
            }),
        };
        assert_eq!(
            add_summary(r).unwrap(),
            "; added to 1 existing indices; not added to a-2: index is closed"
        );
        let denied = RawResponse {
            warnings: vec![],
            status: 403,
            body: json!({"error": {"type": "security_exception", "reason": "no permissions"}}),
        };
        let e = add_summary(denied).unwrap_err().to_string();
        assert_eq!(
            e,
            "add ism policy: status 403: security_exception: no permissions"
        );
    }

    #[test]
    fn reports_read_as_one_line() {
        let r = InstallReport {
            object: ObjectKind::IlmPolicy,
            name: "lw-anomalies-retention".to_string(),
            index: IndexKind::Anomalies,
            outcome: InstallOutcome::Updated,
            detail: "delete phase at min_age 90d".to_string(),
        };
        assert_eq!(
            r.to_string(),
            "ILM policy `lw-anomalies-retention` (anomalies): updated: delete phase at min_age 90d"
        );
    }
}

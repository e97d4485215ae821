//! Notifications, the last sink of the flow: each incident reaches the right person once.
//!
//! ```text
//! runner window ──► tracker (per source: trigger / update / resolve per incident and
//!   (anomalies,        receiver, by `routes.rules`)
//!    incidents)   ──► outbox (files under run.state_dir/outbox, fsynced before the
//!                      window's checkpoint) ──► delivery (a task per receiver: retries,
//!                      rate limit, dead letters) ──► PagerDuty, Slack, webhook, Datadog, Splunk
//! ```
//!
//! Owns: `routes` in YAML ([`config`]), what a message says ([`incident`], [`render`]), the
//! per-incident state machine ([`tracker`]), the durable queue ([`outbox`]) and its
//! delivery ([`deliver`]). The tracker and rendering are pure; files and HTTP stay in
//! `outbox` and `deliver`.
//!
//! Guarantees: a notification is on disk before the window that produced it is
//! checkpointed, so a crash loses none; messages have deterministic keys, so a window
//! redone after a crash queues nothing twice; `sent.log` records delivered keys, so a
//! restart sends nothing twice (but for a crash between a receiver's acceptance and that
//! record, where the receivers' own dedup keys apply).

pub mod config;
pub mod deliver;
pub mod incident;
pub mod outbox;
pub mod probe;
pub mod render;
pub mod tracker;

pub use config::{ReceiverKind, RoutesConfig};
pub use deliver::Delivery;
pub use outbox::Outbox;
pub use render::Target;
pub use tracker::{Action, Message, Tracker};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the notification path.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A state file could not be read or written.
    #[error("notification state {path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A receiver's secret could not be read (the message names the key and the variable
    /// or file, never the value).
    #[error("config key `{key}`: {message}")]
    Secret {
        /// Full key path of the secret.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// A receiver name that `routes.receivers` does not have.
    #[error("no receiver `{name}` in `routes.receivers` (configured: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
}

impl NotifyError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        NotifyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

fn resolve(key: String, s: &config::Secret) -> Result<crate::backend::config::Secret, NotifyError> {
    s.0.resolve().map_err(|e| NotifyError::Secret {
        key,
        message: match e {
            crate::backend::BackendError::Config(m) => m,
            other => other.to_string(),
        },
    })
}

/// This machine's name, for Splunk's `host`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "logwarden".to_string())
}

/// The receivers of `routes`, ready to send: every secret read now, so a missing one stops
/// the start with the key that names it.
pub fn build_targets(routes: &RoutesConfig) -> Result<BTreeMap<String, Target>, NotifyError> {
    let mut out = BTreeMap::new();
    for (name, r) in &routes.receivers {
        let key = |k: &str| format!("routes.receivers.{name}.{k}");
        let t = if let Some(c) = &r.pagerduty {
            Target::PagerDuty {
                url: c.url.clone(),
                routing_key: resolve(key("pagerduty.routing_key"), &c.routing_key)?,
                source: c.source.clone(),
            }
        } else if let Some(c) = &r.slack {
            match (&c.webhook_url, &c.token) {
                (Some(u), _) => Target::Slack {
                    webhook_url: resolve(key("slack.webhook_url"), u)?,
                },
                (None, Some(t)) => Target::SlackApi {
                    url: format!("{}/chat.postMessage", c.api_url.trim_end_matches('/')),
                    token: resolve(key("slack.token"), t)?,
                    channel: c.channel.clone().unwrap_or_default(),
                },
                (None, None) => continue,
            }
        } else if let Some(c) = &r.webhook {
            Target::Webhook {
                url: c.url.clone(),
                secret: match &c.secret {
                    Some(s) => Some(resolve(key("webhook.secret"), s)?),
                    None => None,
                },
            }
        } else if let Some(c) = &r.datadog {
            Target::Datadog {
                url: c.url.clone(),
                api_key: resolve(key("datadog.api_key"), &c.api_key)?,
                source_type_name: c.source_type_name.clone(),
                tags: c.tags.clone(),
            }
        } else if let Some(c) = &r.splunk {
            Target::Splunk {
                url: c.url.clone(),
                token: resolve(key("splunk.token"), &c.token)?,
                sourcetype: c.sourcetype.clone(),
                source: c.source.clone(),
                index: c.index.clone(),
                host: host_name(),
            }
        } else {
            continue;
        };
        out.insert(name.clone(), t);
    }
    Ok(out)
}

/// What notification reads of the configuration: the routes, and the few values of other
/// sections an incident message carries. Built from the whole file by
/// `Config::notify_settings`.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// `routes`.
    pub routes: RoutesConfig,
    /// `tenant`, written into each message.
    pub tenant: String,
    /// `incidents.gap_minutes`: how long an incident stays open without a new anomaly.
    pub gap_minutes: u64,
    /// `fields.service`, for the links to the logs.
    pub service_field: String,
    /// `run.state_dir`, where the outbox and the trackers live.
    pub state_dir: PathBuf,
}

/// The notification side of one sidecar: routes, the outbox, and where each source keeps
/// its tracker. Shared by the source runners (which queue) and the delivery tasks.
pub struct Notifier {
    routes: RoutesConfig,
    tenant: String,
    gap_minutes: u64,
    service_field: String,
    dir: PathBuf,
    outbox: Arc<Outbox>,
}

impl Notifier {
    /// The notifier of `config`, with its outbox opened under `run.state_dir/outbox`;
    /// `None` when no receiver is configured.
    pub fn open(config: &NotifySettings) -> Result<Option<Arc<Notifier>>, NotifyError> {
        if !config.routes.enabled() {
            return Ok(None);
        }
        let dir = config.state_dir.clone();
        let outbox = Outbox::open(&dir.join("outbox"), config.routes.delivery.remember_sent)?;
        Ok(Some(Arc::new(Notifier {
            routes: config.routes.clone(),
            tenant: config.tenant.clone(),
            gap_minutes: config.gap_minutes,
            service_field: config.service_field.clone(),
            dir,
            outbox: Arc::new(outbox),
        })))
    }

    /// The outbox.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// `routes`.
    pub fn routes(&self) -> &RoutesConfig {
        &self.routes
    }

    /// The tracker file of the source whose state id is `state_id`.
    pub fn tracker_path(&self, state_id: &str) -> PathBuf {
        let safe: String = state_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join("notify").join(format!("{safe}.json"))
    }

    /// What a tracker needs to know.
    pub fn context(&self) -> tracker::Context<'_> {
        tracker::Context {
            routes: &self.routes,
            tenant: &self.tenant,
            gap_minutes: self.gap_minutes,
            service_field: &self.service_field,
        }
    }
}

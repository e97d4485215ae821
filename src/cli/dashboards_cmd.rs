//! `logwarden dashboards install` (upload the saved objects to Kibana or OpenSearch
//! Dashboards) and `logwarden dashboards export` (write them for an import through the UI).

use crate::backend::{AuthConfig, SecretRef, TlsConfig};
use crate::config::Config;
use crate::dashboards::{self, Flavor, InstallSettings};
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `dashboards`.
#[derive(Debug, clap::Args)]
pub struct DashboardsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DashboardsAction,
}

/// The `dashboards` subcommands.
// Parsed once per process: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, clap::Subcommand)]
pub enum DashboardsAction {
    /// Import the dashboards through the saved-objects API (objects with the same ids are
    /// overwritten); one line per object, non-zero exit when any failed.
    Install(InstallArgs),
    /// Write the NDJSON bundles for Stack Management → Saved objects → Import.
    Export(ExportArgs),
}

/// Arguments of `dashboards install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Base URL of Kibana or OpenSearch Dashboards, e.g. http://localhost:5601.
    #[arg(long, visible_alias = "url", value_name = "URL")]
    pub kibana_url: String,
    /// Kibana space to import into (default: the default space).
    #[arg(long, value_name = "SPACE")]
    pub space: Option<String>,
    /// OpenSearch Dashboards security tenant to import into (e.g. global, private).
    #[arg(long, value_name = "TENANT", conflicts_with = "space")]
    pub tenant: Option<String>,
    /// kibana or opensearch-dashboards.
    #[arg(long, default_value = "kibana", value_name = "FLAVOR")]
    pub flavor: Flavor,
    /// Basic-auth user (default: `cluster.auth` of --config).
    #[arg(long, value_name = "USER", conflicts_with = "api_key_id")]
    pub username: Option<String>,
    /// Environment variable holding the basic-auth password.
    #[arg(long, value_name = "VAR", requires = "username")]
    pub password_env: Option<String>,
    /// File holding the basic-auth password.
    #[arg(
        long,
        value_name = "FILE",
        requires = "username",
        conflicts_with = "password_env"
    )]
    pub password_file: Option<PathBuf>,
    /// API key id (default: `cluster.auth` of --config).
    #[arg(long, value_name = "ID")]
    pub api_key_id: Option<String>,
    /// Environment variable holding the API key.
    #[arg(long, value_name = "VAR", requires = "api_key_id")]
    pub api_key_env: Option<String>,
    /// File holding the API key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "api_key_id",
        conflicts_with = "api_key_env"
    )]
    pub api_key_file: Option<PathBuf>,
    /// PEM file with the CA that signed the server's certificate.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate, unverified (test setups only).
    #[arg(long)]
    pub insecure: bool,
    /// Timeout of the import request, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout_secs: u64,
}

/// Arguments of `dashboards export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Only this flavor (default: both, kibana and opensearch-dashboards).
    #[arg(long, value_name = "FLAVOR")]
    pub flavor: Option<Flavor>,
    /// Directory to write the .ndjson files into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
}

/// Run `dashboards`.
pub fn run(config: &Config, args: DashboardsArgs) -> anyhow::Result<()> {
    match args.action {
        DashboardsAction::Install(a) => run_install(config, a),
        DashboardsAction::Export(a) => run_export(a),
    }
}

fn secret(env: Option<String>, file: Option<PathBuf>) -> Option<SecretRef> {
    match (env, file) {
        (None, None) => None,
        (env, file) => Some(SecretRef { env, file }),
    }
}

/// The settings from the flags, with auth and TLS from `cluster` of the config unless a
/// flag says otherwise.
fn settings(config: &Config, a: InstallArgs) -> anyhow::Result<InstallSettings> {
    let cluster = config.cluster.as_ref();
    let auth = if let Some(username) = a.username {
        let password = secret(a.password_env, a.password_file)
            .context("--username needs --password-env or --password-file")?;
        AuthConfig::Basic { username, password }
    } else if let Some(id) = a.api_key_id {
        let key = secret(a.api_key_env, a.api_key_file)
            .context("--api-key-id needs --api-key-env or --api-key-file")?;
        AuthConfig::ApiKey { id, key }
    } else {
        cluster.map(|c| c.auth.clone()).unwrap_or_default()
    };
    let tls = if a.insecure || a.ca_file.is_some() {
        TlsConfig {
            ca_file: a.ca_file,
            insecure_skip_verify: a.insecure,
        }
    } else {
        cluster.map(|c| c.tls.clone()).unwrap_or_default()
    };
    Ok(InstallSettings {
        url: a.kibana_url,
        space: a.space,
        tenant: a.tenant,
        flavor: a.flavor,
        auth,
        tls,
        timeout_secs: a.timeout_secs,
    })
}

fn run_install(config: &Config, a: InstallArgs) -> anyhow::Result<()> {
    let settings = settings(config, a)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(dashboards::install(&settings))?;
    for o in &report.objects {
        println!("{}", o.line());
    }
    let failed = report.failed();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} objects were not imported into {}",
            report.objects.len(),
            settings.flavor.product()
        );
    }
    if !report.success {
        anyhow::bail!(
            "{} reported a failed import without naming an object",
            settings.flavor.product()
        );
    }
    eprintln!(
        "imported {} objects into {}",
        report.objects.len(),
        settings.flavor.product()
    );
    Ok(())
}

fn run_export(a: ExportArgs) -> anyhow::Result<()> {
    let flavors = match a.flavor {
        Some(f) => vec![f],
        None => Flavor::ALL.to_vec(),
    };
    for f in flavors {
        let path = dashboards::export(f, &a.output)?;
        println!("{}", path.display());
    }
    Ok(())
}

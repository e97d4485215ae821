//! `logwarden mute`: keep a service, a pattern or an anomaly type from reaching anyone for a
//! while; list and lift mutes. The sidecar reads them from `run.state_dir/mutes.json` on
//! every window.

use crate::config::Config;
use crate::feedback::mutes::Mutes;
use crate::model::AnomalyType;
use chrono::Utc;

/// Arguments of `mute`.
#[derive(Debug, clap::Args)]
pub struct MuteArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: MuteAction,
}

/// `mute add`, `mute list`, `mute lift`.
#[derive(Debug, clap::Subcommand)]
pub enum MuteAction {
    /// Mute anomalies matching every given filter for a while.
    Add {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only this pattern id (`pattern.id` of an anomaly: `t…` or `p…`).
        #[arg(long)]
        pattern: Option<String>,
        /// Only this anomaly type (e.g. `volume_spike`).
        #[arg(long = "type", value_parser = parse_kind)]
        kind: Option<AnomalyType>,
        /// How long: `90m`, `2h`, `1d 12h`.
        #[arg(long = "for", value_parser = parse_duration)]
        duration: chrono::Duration,
        /// Why (shown on the muted anomalies).
        #[arg(long)]
        reason: Option<String>,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// List the mutes, in force or ended.
    List,
    /// Lift a mute by its id (`m3`).
    Lift {
        /// The mute's id.
        id: String,
    },
}

fn parse_kind(s: &str) -> Result<AnomalyType, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        format!("unknown anomaly type {s:?} (new_pattern, rare_pattern, volume_spike, volume_drop, error_ratio, parameter_drift, forecast_breach)")
    })
}

fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (e.g. 90m, 2h, 1d)"))?;
    chrono::Duration::from_std(d).map_err(|e| format!("{s:?}: {e}"))
}

/// Run `mute`.
pub fn run(config: &Config, args: MuteArgs) -> anyhow::Result<()> {
    let path = Mutes::path(&config.run.state_dir);
    let mut mutes = Mutes::load(&path)?;
    let now = Utc::now();
    match args.action {
        MuteAction::Add {
            service,
            pattern,
            kind,
            duration,
            reason,
            by,
        } => {
            let by = by.or_else(|| std::env::var("USER").ok());
            let m = mutes.add(service, pattern, kind, duration, reason, by, now)?;
            mutes.save(&path)?;
            println!(
                "{}\t{}\tuntil {}",
                m.id,
                m.scope(),
                m.until.format("%Y-%m-%d %H:%M UTC")
            );
        }
        MuteAction::List => {
            for m in &mutes.mutes {
                let state = if m.until > now { "active" } else { "ended" };
                println!(
                    "{}\t{state}\t{}\tuntil {}\t{}\t{}",
                    m.id,
                    m.scope(),
                    m.until.format("%Y-%m-%d %H:%M UTC"),
                    m.by.as_deref().unwrap_or("-"),
                    m.reason.as_deref().unwrap_or("-")
                );
            }
        }
        MuteAction::Lift { id } => {
            let m = mutes.lift(&id)?;
            mutes.save(&path)?;
            println!("lifted {}\t{}", m.id, m.scope());
        }
    }
    Ok(())
}

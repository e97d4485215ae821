//! `logwarden notify test`: send a made-up incident through every configured route (or the
//! named ones) and say what each receiver answered.

use crate::config::Config;
use crate::notify::deliver::Outcome;
use crate::notify::probe::{send_test, TEST_SERVICE};

/// Arguments of `notify`.
#[derive(Debug, clap::Args)]
pub struct NotifyArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: NotifyAction,
}

/// `notify test`.
#[derive(Debug, clap::Subcommand)]
pub enum NotifyAction {
    /// Send a test incident (critical, service `logwarden-test`) to the receivers of
    /// `routes`, then resolve it; exit 2 when a receiver refused or could not be reached.
    Test {
        /// Only this receiver (a name under `routes.receivers`; repeatable).
        #[arg(long)]
        receiver: Vec<String>,
        /// Leave the test incident open (no resolve is sent).
        #[arg(long)]
        no_resolve: bool,
    },
}

/// Run `notify`.
pub fn run(config: &Config, args: NotifyArgs) -> anyhow::Result<()> {
    let NotifyAction::Test {
        receiver,
        no_resolve,
    } = args.action;
    if config.routes.receivers.is_empty() {
        anyhow::bail!("no receiver to test: `routes.receivers` is empty in the configuration");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = runtime.block_on(send_test(
        &config.notify_settings(),
        &receiver,
        !no_resolve,
        chrono::Utc::now(),
    ))?;
    let mut failed = 0;
    for r in &results {
        let steps: Vec<String> = r
            .steps
            .iter()
            .map(|(action, o)| {
                let what = match o {
                    Outcome::Delivered { .. } => "accepted".to_string(),
                    Outcome::Retry { reason, .. } => format!("failed, would be retried: {reason}"),
                    Outcome::Permanent { reason } => format!("refused: {reason}"),
                };
                format!("{} {what}", action.as_str())
            })
            .collect();
        if !r.ok() {
            failed += 1;
        }
        println!(
            "{} {} ({}): {}",
            if r.ok() { "ok  " } else { "FAIL" },
            r.receiver,
            r.kind.as_str(),
            steps.join("; ")
        );
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} receivers did not accept the test incident",
            results.len()
        );
    }
    println!(
        "{} receiver(s) accepted the test incident (service `{TEST_SERVICE}`){}",
        results.len(),
        if no_resolve { "" } else { " and its resolve" }
    );
    Ok(())
}

//! `ripple check`: every problem in the config and the rules, at once; with `--dry-run`,
//! also what the warehouse says about each valid monitor (without running it).

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::monitor::runner::params_for;
use crate::rules::{self, Monitor};
use crate::warehouse::MonitorQuery;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Prints `file:line:col: message` per problem; exit 1 if any, 2 if the config is broken.
pub async fn run(config_path: &Path, rules_path: Option<&Path>, dry_run: bool) -> ExitCode {
    let Some(cfg) = super::load_config(config_path) else {
        return ExitCode::from(2);
    };
    let dir = rules_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cfg.resolve(&cfg.rules));
    let mut set = rules::load_dir(&dir, &cfg);
    if dry_run {
        match dry_run_all(&cfg, &set.monitors).await {
            Ok(problems) => set.problems.extend(problems),
            Err(e) => {
                eprintln!("error: cannot open the warehouse for a dry run: {e:#}");
                return ExitCode::from(2);
            }
        }
    }
    for p in &set.problems {
        println!("{p}");
    }
    summary(&cfg, &set);
    if set.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Dry-runs every monitor in order; prints the bytes each would read, returns the errors
/// located at the monitor's definition.
async fn dry_run_all(cfg: &Config, monitors: &[Monitor]) -> anyhow::Result<Vec<Diagnostic>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let warehouse = crate::app::open_warehouse(cfg, clock.clone()).await?;
    let mut problems = Vec::new();
    for m in monitors {
        match warehouse.dry_run(&query(m, &*clock)).await {
            Ok(d) => eprintln!("dry run: {} ok, {}", m.id, bytes(d.bytes_processed)),
            Err(e) => problems.push(Diagnostic::new(
                &m.file,
                m.line,
                m.col,
                format!("monitor `{}` fails a dry run: {e}", m.id),
            )),
        }
    }
    Ok(problems)
}

fn query(m: &Monitor, clock: &dyn Clock) -> MonitorQuery {
    MonitorQuery {
        monitor_id: m.id.clone(),
        team: m.team.clone(),
        check: m.check.clone(),
        sample: 0,
        timeout: m.timeout,
        service_account: m.service_account.clone(),
        params: params_for(m, clock.now()),
    }
}

/// `1.5 MiB would be processed`, or that the warehouse does not say.
fn bytes(n: Option<u64>) -> String {
    let Some(n) = n else {
        return "bytes processed not reported by this warehouse".into();
    };
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B would be processed")
    } else {
        format!("{value:.1} {} would be processed", units[unit])
    }
}

fn summary(cfg: &Config, set: &rules::RuleSet) {
    eprintln!(
        "checked {} and {} rule file(s): {} monitor(s) valid, {} problem(s)",
        cfg.path.display(),
        set.files,
        set.monitors.len(),
        set.problems.len()
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_are_human_sized() {
        assert_eq!(super::bytes(Some(512)), "512 B would be processed");
        assert_eq!(
            super::bytes(Some(3 * 1024 * 1024 / 2)),
            "1.5 MiB would be processed"
        );
    }
}

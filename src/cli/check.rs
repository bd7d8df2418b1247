//! `ripple check`: every problem in the config and the rules, at once.

use crate::config::Config;
use crate::rules;
use std::path::Path;
use std::process::ExitCode;

/// Prints `file:line:col: message` per problem; exit 1 if any, 2 if the config is broken.
pub fn run(config_path: &Path, rules_path: Option<&Path>) -> ExitCode {
    let Some(cfg) = super::load_config(config_path) else {
        return ExitCode::from(2);
    };
    let dir = rules_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cfg.resolve(&cfg.rules));
    let set = rules::load_dir(&dir, &cfg);
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

fn summary(cfg: &Config, set: &rules::RuleSet) {
    eprintln!(
        "checked {} and {} rule file(s): {} monitor(s) valid, {} problem(s)",
        cfg.path.display(),
        set.files,
        set.monitors.len(),
        set.problems.len()
    );
}

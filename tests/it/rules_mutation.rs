//! Mutation of the bundled rule files: hundreds of seeded, deterministic rounds of
//! deleted, inserted, duplicated and swapped text and hostile values (huge durations,
//! write SQL, never-firing crons, paths out of the folder, BOMs, tabs, second
//! documents). Each round loads the mutated file as `ripple check` does and asserts:
//! nothing panics or hangs; a file that lost a monitor has a problem; every problem is
//! located inside the file it names; every monitor that passed is within `bounds`, reads
//! only, and its schedule and dead-man's switch compute without panicking.

use super::support::{config, repo, t0};
use ripple::config::Config;
use ripple::monitor::deadman;
use ripple::rules::{Monitor, RuleSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

const ROUNDS: u64 = 400;
const SEED: u64 = 0x5eed_0013;

/// xorshift64*: a tiny seeded generator, the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Text dropped anywhere in a file.
const TOKENS: &[&str] = &[
    "\t",
    "\u{feff}",
    "\n---\n",
    "\n...\nx: 1\n",
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!tag ",
    "0",
    "-1",
    "\0",
    "é",
    "\r",
    "\n",
    "  ",
    "|",
    ">",
    ",",
];

/// Values put in place of a key's value, by key.
fn hostile_values(key: &str) -> &'static [&'static str] {
    match key {
        "timeout" | "grace" | "max_age" | "window" | "breach_window" => &[
            "18446744073709551615s",
            "99999999999999d",
            "0s",
            "7h",
            "8d",
            "1ns",
        ],
        "min_consecutive_failures" | "sample" | "min_history" => &[
            "0",
            "-1",
            "11",
            "4294967296",
            "18446744073709551616",
            "1e400",
        ],
        "cron" => &[
            "\"0 0 30 2 *\"",
            "\"0 0 31 4 *\"",
            "\"61 * * * *\"",
            "\"* * * * * * *\"",
            "\"@reboot\"",
            "\"\"",
        ],
        "sql" => &[
            "WITH d AS (DELETE FROM shop.orders WHERE true RETURNING id) SELECT * FROM d",
            "WITH d AS (UPDATE shop.orders SET amount = 0 WHERE true RETURNING id) SELECT * FROM d",
            "SELECT * INTO stolen FROM shop.orders",
            "SELECT id FROM shop.orders FOR UPDATE",
            "SELECT 1 UNION ALL SELECT * FROM (WITH d AS (INSERT INTO t (a) VALUES (1) RETURNING a) SELECT * FROM d)",
            "DROP TABLE shop.orders",
            "SELECT 1; COMMIT",
        ],
        "sql_file" => &[
            "/etc/passwd",
            "../../../../../../etc/passwd",
            "/dev/zero",
            "fifo.sql",
            ".",
            "payments_match_orders.sql",
        ],
        _ => &["", "~", "[]", "{}", "null", "\"\\u0000\""],
    }
}

/// Markers of the write SQL above: no monitor that passes may contain one.
const WRITE_MARKERS: &[&str] = &[
    "DELETE",
    "UPDATE shop",
    "INTO stolen",
    "FOR UPDATE",
    "INSERT",
    "DROP",
    "COMMIT",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut out = text.to_string();
    for _ in 0..=rng.below(3) {
        out = match rng.below(7) {
            0 => delete(&out, rng),
            1 => insert(&out, rng),
            2 | 3 => replace_value(&out, rng),
            4 => duplicate_line(&out, rng),
            5 => swap_lines(&out, rng),
            _ => truncate(&out, rng),
        };
    }
    out
}

/// A char boundary at or before byte `i`.
fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn delete(s: &str, rng: &mut Rng) -> String {
    let a = boundary(s, rng.below(s.len()));
    let b = boundary(s, a + 1 + rng.below(8));
    format!("{}{}", &s[..a], &s[b..])
}

fn insert(s: &str, rng: &mut Rng) -> String {
    let a = boundary(s, rng.below(s.len() + 1));
    format!("{}{}{}", &s[..a], rng.pick(TOKENS), &s[a..])
}

fn truncate(s: &str, rng: &mut Rng) -> String {
    s[..boundary(s, rng.below(s.len()))].to_string()
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

fn duplicate_line(s: &str, rng: &mut Rng) -> String {
    let mut l = lines(s);
    if l.is_empty() {
        return s.to_string();
    }
    let i = rng.below(l.len());
    l.insert(i, l[i].clone());
    l.join("\n")
}

fn swap_lines(s: &str, rng: &mut Rng) -> String {
    let mut l = lines(s);
    if l.is_empty() {
        return s.to_string();
    }
    let (i, j) = (rng.below(l.len()), rng.below(l.len()));
    l.swap(i, j);
    l.join("\n")
}

/// `key: value` (or `{ key: value, … }` in a flow mapping) with a hostile value.
fn replace_value(s: &str, rng: &mut Rng) -> String {
    let keys = [
        "timeout",
        "grace",
        "max_age",
        "window",
        "min_consecutive_failures",
        "sample",
        "cron",
        "sql",
        "sql_file",
        "id",
        "team",
        "severity",
        "timezone",
    ];
    let key = rng.pick(&keys);
    let needle = format!("{key}: ");
    let hits: Vec<usize> = s.match_indices(&needle).map(|(i, _)| i).collect();
    let value = rng.pick(hostile_values(key));
    let at = match hits.as_slice() {
        [] => {
            // Add the key to a monitor instead: after an `id:` line.
            let Some(i) = s.find("  - id: ") else {
                return s.to_string();
            };
            let eol = s[i..].find('\n').map_or(s.len(), |e| i + e);
            return format!("{}\n    {key}: {value}{}", &s[..eol], &s[eol..]);
        }
        h => h[rng.below(h.len())] + needle.len(),
    };
    let end = s[at..].find(['\n', ',', '}']).map_or(s.len(), |e| at + e);
    // A block scalar's body stays behind: it becomes stray lines, which is a mutation too.
    format!("{}{value}{}", &s[..at], &s[end..])
}

/// The bundled rule files, with the SQL file one of them names.
fn bundled() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(repo().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// One round's folder: the mutated file, the bundled SQL file and a FIFO.
fn lay_out(dir: &Path, name: &str, text: &str) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::copy(
        repo().join("rules/payments_match_orders.sql"),
        rules.join("payments_match_orders.sql"),
    )
    .unwrap();
    if !rules.join("fifo.sql").exists() {
        let status = std::process::Command::new("mkfifo")
            .arg(rules.join("fifo.sql"))
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
    }
    std::fs::write(rules.join(name), text).unwrap();
    rules
}

/// What one round found wrong, if anything.
fn judge(set: &RuleSet, file: &Path, text: &str, before: usize) -> Result<(), String> {
    // A mutation may cut monitors out of the file; one still declared must load or be
    // a problem.
    let declared = text
        .replace("\r\n", "\n")
        .split(['\n', '\r'])
        .filter(|l| l.trim_start().starts_with("- id:"))
        .count();
    let expected = before.min(declared);
    if set.monitors.len() < expected && set.problems.is_empty() {
        return Err(format!(
            "{} of {expected} monitors lost without a problem",
            expected - set.monitors.len()
        ));
    }
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`.
    let file_lines = text.replace("\r\n", "\n").split(['\n', '\r']).count() + 1;
    for p in &set.problems {
        let lines = if p.file == file { file_lines } else { 1 << 20 };
        if p.line == 0 || p.col == 0 || p.line > lines {
            return Err(format!("unlocated problem: {p}"));
        }
        if p.message.contains("root:") || p.message.contains("/bin/") {
            return Err(format!("a file's content is echoed: {p}"));
        }
    }
    set.monitors.iter().try_for_each(sound)
}

/// A monitor that passed: within bounds, read-only, and its clocks compute.
fn sound(m: &Monitor) -> Result<(), String> {
    let within = m.timeout <= Duration::from_secs(6 * 3600)
        && m.grace <= Duration::from_secs(7 * 86400)
        && m.min_consecutive_failures >= 1
        && m.sample <= 10;
    if !within {
        return Err(format!("`{}` passed out of bounds: {m:?}", m.id));
    }
    if let Some(w) = WRITE_MARKERS.iter().find(|w| m.check.sql().contains(**w)) {
        return Err(format!("`{}` passed with `{w}` in its SQL", m.id));
    }
    let next = deadman::next_tick(&m.schedule, t0());
    if next.is_none_or(|n| n > t0() + chrono::Duration::days(8 * 366)) {
        return Err(format!(
            "`{}` passed with a schedule that never fires",
            m.id
        ));
    }
    let _ = deadman::missed(
        &m.schedule,
        m.grace,
        None,
        t0(),
        t0() + chrono::Duration::days(1),
    );
    let _ = ripple::monitor::runner::params_for(m, t0());
    Ok(())
}

/// Runs every round on a worker thread; a round that panics or takes over 10 s fails
/// the test with its seed, file and mutated text.
#[test]
fn mutated_rule_files_never_panic_or_hang_and_every_problem_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let cfg: Config = config(dir.path(), "");
    let files = bundled();
    assert!(!files.is_empty());
    let (tx, rx) = mpsc::channel();
    let work_dir = dir.path().to_path_buf();
    let worker = std::thread::spawn(move || {
        let mut rng = Rng(SEED);
        let mut broken = 0usize;
        for round in 0..ROUNDS {
            let (name, original) = &files[rng.below(files.len())];
            let text = mutate(original, &mut rng);
            let round_dir = work_dir.join(format!("r{}", round % 8));
            let _ = std::fs::remove_dir_all(round_dir.join("rules"));
            let before = {
                let rules = lay_out(&round_dir, name, original);
                ripple::rules::load_dir(&rules, &cfg).monitors.len()
            };
            let rules = lay_out(&round_dir, name, &text);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let set = ripple::rules::load_dir(&rules, &cfg);
                let verdict = judge(&set, &rules.join(name), &text, before);
                (verdict, !set.problems.is_empty())
            }));
            let report = match outcome {
                Ok((Ok(()), had_problems)) => {
                    broken += usize::from(had_problems);
                    Ok(())
                }
                Ok((Err(e), _)) => Err(e),
                Err(_) => Err("panicked".to_string()),
            };
            let failed = report.is_err();
            tx.send((
                round,
                report.map_err(|e| {
                    format!("round {round} ({name}): {e}\n--- mutated text ---\n{text}")
                }),
            ))
            .unwrap();
            if failed {
                return broken;
            }
        }
        broken
    });
    for _ in 0..ROUNDS {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok((_, Ok(()))) => {}
            Ok((_, Err(e))) => panic!("seed {SEED:#x}, {e}"),
            Err(e) => panic!("seed {SEED:#x}: a round hung or the worker died ({e})"),
        }
    }
    let broken = worker.join().unwrap();
    eprintln!("{ROUNDS} rounds (seed {SEED:#x}): {broken} broke a file, 0 panics, 0 hangs");
    // The mutations must actually break files, or the test proves nothing.
    assert!(
        broken as u64 > ROUNDS / 3,
        "only {broken} of {ROUNDS} rounds broke a file"
    );
}

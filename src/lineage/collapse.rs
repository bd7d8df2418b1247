//! The script pass: turns the walker's flat statement list into an
//! [`Extraction`], applying renames and folding away tables that live only
//! inside the script.
//!
//! "Scratch" tables are session temp tables (`CREATE TEMP TABLE`, temp
//! functions) and tables the script both creates and later drops. A statement
//! reading a scratch table reads, instead, everything that fed it; writes to
//! scratch tables disappear. So a script's lineage runs from its real sources
//! to its real targets. Persistent tables the script creates and keeps are real
//! tables and stay.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::walker::{StmtAcc, Walker};
use super::{Confidence, Extraction, StatementLineage};

pub(crate) fn finish(w: Walker<'_>, parsed: bool) -> Extraction {
    let Walker {
        mut out,
        mut cur,
        problems,
        ..
    } = w;
    if !cur.reads.is_empty() || !cur.writes.is_empty() {
        out.push(std::mem::take(&mut cur));
    }
    apply_renames(&mut out);
    let scratch = scratch_tables(&out);
    let statements = fold_scratch(out, &scratch);
    let mut reads = BTreeSet::new();
    let mut writes = BTreeSet::new();
    for s in &statements {
        reads.extend(s.reads.iter().cloned());
        writes.extend(s.writes.iter().cloned());
    }
    Extraction {
        reads,
        writes,
        parsed,
        problems,
        statements,
    }
}

/// `ALTER TABLE a RENAME TO b`: earlier writes to `a` produced what is now `b`.
fn apply_renames(stmts: &mut [StmtAcc]) {
    for i in 0..stmts.len() {
        let Some((old, new)) = stmts[i].renamed.clone() else {
            continue;
        };
        for s in &mut stmts[..i] {
            for w in s.writes.iter_mut().chain(s.created.iter_mut()) {
                if *w == old {
                    *w = new.clone();
                }
            }
        }
    }
}

fn scratch_tables(stmts: &[StmtAcc]) -> HashSet<String> {
    let mut scratch: HashSet<String> = HashSet::new();
    let mut created: HashSet<&str> = HashSet::new();
    for s in stmts {
        scratch.extend(s.temps.iter().cloned());
        // Dropping a table this script created marks it scratch; dropping a
        // pre-existing table (`DROP …; CREATE …`) does not.
        for d in &s.dropped {
            if created.contains(d.as_str()) {
                scratch.insert(d.clone());
            }
        }
        created.extend(s.created.iter().map(String::as_str));
    }
    scratch
}

fn fold_scratch(stmts: Vec<StmtAcc>, scratch: &HashSet<String>) -> Vec<StatementLineage> {
    let mut fed: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut out = Vec::with_capacity(stmts.len());
    for s in stmts {
        let mut reads = BTreeSet::new();
        for r in s.reads {
            if scratch.contains(&r) {
                reads.extend(fed.get(&r).into_iter().flatten().cloned());
            } else {
                reads.insert(r);
            }
        }
        let mut writes = BTreeSet::new();
        let mut feeds_scratch = false;
        for w in s.writes {
            if scratch.contains(&w) {
                feeds_scratch = true;
                fed.entry(w).or_default().extend(reads.iter().cloned());
            } else {
                writes.insert(w);
            }
        }
        // A statement only feeding scratch tables has no lineage of its own.
        if writes.is_empty() && (reads.is_empty() || feeds_scratch) {
            continue;
        }
        let confidence = if s.low {
            Confidence::Low
        } else {
            Confidence::High
        };
        out.push(StatementLineage {
            reads,
            writes,
            confidence,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(reads: &[&str], writes: &[&str]) -> StmtAcc {
        StmtAcc {
            reads: reads.iter().map(|s| s.to_string()).collect(),
            writes: writes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn temp_tables_fold_into_their_sources() {
        let mut t = acc(&["src"], &["tmp"]);
        t.temps.push("tmp".into());
        let stmts = vec![t, acc(&["tmp", "other"], &["out"])];
        let scratch = scratch_tables(&stmts);
        let got = fold_scratch(stmts, &scratch);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].reads.iter().collect::<Vec<_>>(),
            vec!["other", "src"]
        );
        assert_eq!(got[0].writes.iter().collect::<Vec<_>>(), vec!["out"]);
    }

    #[test]
    fn drop_before_create_is_not_scratch() {
        let mut d = acc(&[], &[]);
        d.dropped.push("t".into());
        let mut c = acc(&[], &["t"]);
        c.created.push("t".into());
        assert!(scratch_tables(&[d, c]).is_empty());
    }

    #[test]
    fn renames_rewrite_earlier_writes() {
        let mut r = acc(&[], &[]);
        r.renamed = Some(("a".into(), "b".into()));
        let mut stmts = vec![acc(&["x"], &["a"]), r];
        apply_renames(&mut stmts);
        assert_eq!(stmts[0].writes, vec!["b".to_string()]);
    }
}

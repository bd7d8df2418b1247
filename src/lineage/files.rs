//! Reading SQL files for lineage, safely and on every core.
//!
//! - Listing ([`list_sql_files`]) follows directory symlinks but visits each
//!   directory once (by device and inode), so a symlink loop neither hangs nor
//!   reports a file many times; the loop is named in a problem.
//! - Only regular files are read: a FIFO, socket or device named `x.sql` is
//!   skipped with a problem (opening a FIFO would block the whole run). The
//!   file is opened non-blocking and checked with `fstat` on the open handle,
//!   so a file swapped for a FIFO between listing and reading cannot hang us.
//! - A per-file size limit ([`DEFAULT_MAX_FILE_BYTES`], configurable) keeps a
//!   stray data dump from costing gigabytes: larger files are skipped with a
//!   problem.
//! - Bytes are read once into a buffer sized from the file's length and become
//!   the `String` without a copy when they are valid UTF-8.
//! - [`extract_files`] extracts many inputs in parallel (rayon) and hands the
//!   results back in input order, chunk by chunk, so output is stable and
//!   memory stays bounded by one chunk.

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{ExtractOptions, Extraction, Problem, ProblemKind, extract};

// Files above this size are not read (5 MiB): SQL this large is generated data, not a
// model, and sqlparser's AST would cost far more than the text.
pub use crate::config::DEFAULT_MAX_FILE_BYTES;

/// One SQL file listed for reading, or a path that was skipped and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    File(PathBuf),
    Skipped(PathBuf, Problem),
}

impl Listed {
    pub fn path(&self) -> &Path {
        match self {
            Listed::File(p) | Listed::Skipped(p, _) => p,
        }
    }
}

/// Lists the SQL files (`.sql`, `.sqlx`) under `root`, sorted by path, with
/// skipped entries (non-regular files, broken links, symlink loops) in the
/// same order. Errors only when `root` itself cannot be read.
pub fn list_sql_files(root: &Path) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let root_meta = std::fs::metadata(root)?;
    seen.insert(dir_key(root, &root_meta));
    let mut stack = vec![root.to_path_buf()];
    let mut first = true;
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            Err(e) => {
                out.push(skipped(dir, ProblemKind::Io, format!("cannot list: {e}")));
                continue;
            }
        };
        first = false;
        for entry in entries.flatten() {
            list_entry(entry.path(), &mut seen, &mut stack, &mut out);
        }
    }
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

/// Classifies one directory entry: a directory to descend into (once), a
/// SQL file to read, or something to skip with a problem.
fn list_entry(
    path: PathBuf,
    seen: &mut HashSet<DirKey>,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Listed>,
) {
    // `metadata` follows symlinks; a dangling or looping link fails here.
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => {
            if is_sql_file(&path) {
                out.push(skipped(path, ProblemKind::Io, format!("cannot read: {e}")));
            }
            return;
        }
    };
    if meta.is_dir() {
        if seen.insert(dir_key(&path, &meta)) {
            stack.push(path);
        } else {
            let msg = "directory already visited (symlink loop or second link); skipped";
            out.push(skipped(path, ProblemKind::Skipped, msg.to_string()));
        }
        return;
    }
    if !is_sql_file(&path) {
        return;
    }
    match not_regular(&meta) {
        None => out.push(Listed::File(path)),
        Some(kind) => out.push(skipped(path, ProblemKind::Skipped, not_regular_msg(kind))),
    }
}

fn skipped(path: PathBuf, kind: ProblemKind, msg: String) -> Listed {
    Listed::Skipped(path, Problem::new(kind, msg, None))
}

pub fn is_sql_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("sql" | "sqlx")
    )
}

/// A directory's identity: device and inode on Unix, the canonical path
/// elsewhere.
#[cfg(unix)]
type DirKey = (u64, u64);
#[cfg(not(unix))]
type DirKey = PathBuf;

#[cfg(unix)]
fn dir_key(_path: &Path, meta: &Metadata) -> DirKey {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_key(path: &Path, _meta: &Metadata) -> DirKey {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `None` for a regular file, else what it is (rule files use it too).
pub(crate) fn not_regular(meta: &Metadata) -> Option<&'static str> {
    if meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_block_device() || t.is_char_device() {
            return Some("a device");
        }
    }
    if meta.is_dir() {
        return Some("a directory");
    }
    Some("not a regular file")
}

fn not_regular_msg(kind: &str) -> String {
    format!("{kind}, not a regular file; skipped (only regular files are read)")
}

/// Reads one SQL file: regular files only, at most `max_bytes`. The problem
/// says why a file was not read.
pub fn read_sql_file(path: &Path, max_bytes: u64) -> Result<String, Problem> {
    let io = |e: std::io::Error| Problem::new(ProblemKind::Io, format!("cannot read: {e}"), None);
    let file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if let Some(kind) = not_regular(&meta) {
        return Err(Problem::new(
            ProblemKind::Skipped,
            not_regular_msg(kind),
            None,
        ));
    }
    if meta.len() > max_bytes {
        return Err(too_large(meta.len(), max_bytes));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // `take` guards against a file that grows while being read.
    file.take(max_bytes + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > max_bytes {
        return Err(too_large(buf.len() as u64, max_bytes));
    }
    Ok(into_string(buf))
}

fn too_large(len: u64, max: u64) -> Problem {
    Problem::new(
        ProblemKind::Skipped,
        format!(
            "file is {len} bytes, over the {max}-byte limit (lineage.max_file_bytes, \
             --max-file-bytes); skipped"
        ),
        None,
    )
}

/// Valid UTF-8 becomes the string in place; otherwise invalid sequences are
/// replaced (one copy, only then).
pub(crate) fn into_string(buf: Vec<u8>) -> String {
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Opening a FIFO for reading blocks until a writer appears; `O_NONBLOCK`
/// makes `open` return at once so `fstat` can refuse it. Regular files ignore
/// the flag.
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        o.custom_flags(O_NONBLOCK);
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // Elsewhere: refuse non-regular files before opening (small race).
        let meta = std::fs::metadata(path)?;
        if let Some(kind) = not_regular(&meta) {
            return Err(std::io::Error::other(not_regular_msg(kind)));
        }
    }
    o.open(path)
}

/// One input of [`extract_files`].
#[derive(Debug, Clone)]
pub enum Input {
    /// A file to read (subject to the size limit and the regular-file rule).
    File(PathBuf),
    /// Text already in memory (stdin), with the name to report.
    Text(String, String),
    /// A path that was not read, with why.
    Skipped(PathBuf, Problem),
}

impl Input {
    /// The name reported for this input.
    pub fn name(&self) -> String {
        match self {
            Input::File(p) | Input::Skipped(p, _) => p.display().to_string(),
            Input::Text(name, _) => name.clone(),
        }
    }
}

impl From<Listed> for Input {
    fn from(l: Listed) -> Self {
        match l {
            Listed::File(p) => Input::File(p),
            Listed::Skipped(p, problem) => Input::Skipped(p, problem),
        }
    }
}

/// Inputs extracted in parallel per chunk: large enough that the ordered
/// write between chunks (when workers wait) is rare, small enough that a huge
/// tree does not hold every result at once.
const CHUNK: usize = 4096;

/// Extracts every input on rayon's pool and calls `sink` with each result in
/// input order. `Err` is the problem that kept an input from being read.
pub fn extract_files<E>(
    inputs: &[Input],
    opts: &ExtractOptions,
    max_bytes: u64,
    mut sink: impl FnMut(&Input, Result<Extraction, Problem>) -> Result<(), E>,
) -> Result<(), E> {
    for chunk in inputs.chunks(CHUNK) {
        let results: Vec<Result<Extraction, Problem>> = chunk
            .par_iter()
            .map(|input| extract_input(input, opts, max_bytes))
            .collect();
        for (input, result) in chunk.iter().zip(results) {
            sink(input, result)?;
        }
    }
    Ok(())
}

fn extract_input(
    input: &Input,
    opts: &ExtractOptions,
    max_bytes: u64,
) -> Result<Extraction, Problem> {
    match input {
        Input::File(p) => read_sql_file(p, max_bytes).map(|text| extract(&text, opts)),
        Input::Text(_, text) if text.len() as u64 > max_bytes => {
            Err(too_large(text.len() as u64, max_bytes))
        }
        Input::Text(_, text) => Ok(extract(text, opts)),
        Input::Skipped(_, problem) => Err(problem.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_and_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sql");
        std::fs::write(&p, "SELECT 1 FROM t").unwrap();
        assert_eq!(read_sql_file(&p, 100).unwrap(), "SELECT 1 FROM t");
        let err = read_sql_file(&p, 5).unwrap_err();
        assert_eq!(err.kind, ProblemKind::Skipped);
        assert!(
            err.message.contains("15 bytes, over the 5-byte limit"),
            "{}",
            err.message
        );
        std::fs::write(&p, b"SELECT '\xff'").unwrap();
        assert_eq!(read_sql_file(&p, 100).unwrap(), "SELECT '\u{FFFD}'");
    }

    #[test]
    fn listing_is_sorted_and_filters_extensions() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b/x.sql", "a.sqlx", "c.txt", "b/a/y.sql"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "SELECT 1").unwrap();
        }
        let got: Vec<String> = list_sql_files(dir.path())
            .unwrap()
            .iter()
            .map(|l| {
                let rel = l.path().strip_prefix(dir.path()).unwrap();
                rel.display().to_string()
            })
            .collect();
        assert_eq!(got, ["a.sqlx", "b/a/y.sql", "b/x.sql"]);
    }
}

//! Reading the files a rule set names, safely: rule files and `sql_file`s.
//!
//! - Only regular files are read. The file is opened with `O_NONBLOCK` (a FIFO would
//!   otherwise block `open` until a writer appears, hanging `check` and reload) and
//!   checked with `fstat` on the open handle, so a file swapped for a FIFO or a device
//!   between the check and the read cannot hang us or feed us `/dev/zero`.
//! - Each file is read up to a size limit (`bounds`), never further.
//! - A `sql_file` must resolve (symlinks and `..` followed) to a file inside the rules
//!   folder: a rule cannot make Ripple read, or echo the first token of, `/etc/passwd`.
//! - No message quotes the file's content.

use crate::bounds;
use crate::lineage::files::not_regular;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads a regular file of at most `limit` bytes as UTF-8 text.
pub(super) fn text(path: &Path, limit: u64) -> Result<String, String> {
    let io = |e: std::io::Error| format!("cannot read `{}`: {e}", path.display());
    let file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if let Some(kind) = not_regular(&meta) {
        return Err(format!(
            "`{}` is {kind}, not a regular file; only regular files are read",
            path.display()
        ));
    }
    if meta.len() > limit {
        return Err(too_large(path, meta.len(), limit));
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // `take` guards against a file that grows while being read.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > limit {
        return Err(too_large(path, buf.len() as u64, limit));
    }
    String::from_utf8(buf).map_err(|e| {
        format!(
            "`{}` is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Where a rule file's `sql_file: name` points, refused when it leaves `root`.
///
/// The path is resolved relative to the rule file, then canonicalized (symlinks and
/// `..` followed) and compared with the canonical rules folder.
pub(super) fn sql_file_path(root: &Path, rule_file: &Path, name: &str) -> Result<PathBuf, String> {
    let joined = rule_file.parent().unwrap_or(Path::new(".")).join(name);
    let real = joined
        .canonicalize()
        .map_err(|e| format!("cannot read sql_file `{}`: {e}", joined.display()))?;
    let real_root = root
        .canonicalize()
        .map_err(|e| format!("cannot resolve the rules folder `{}`: {e}", root.display()))?;
    if !real.starts_with(&real_root) {
        return Err(format!(
            "sql_file `{name}` is outside the rules folder `{}`; keep a monitor's SQL \
             in the rules folder (no absolute paths, `..` or symlinks out of it)",
            root.display()
        ));
    }
    Ok(real)
}

/// Reads a `sql_file` already resolved by [`sql_file_path`], naming it as written.
pub(super) fn sql_file(real: &Path, shown: &Path) -> Result<String, String> {
    text(real, bounds::SQL_FILE_BYTES).map_err(|m| {
        let real = format!("`{}`", real.display());
        let shown = format!("`{}`", shown.display());
        format!("sql_file: {}", m.replacen(&real, &shown, 1))
    })
}

fn too_large(path: &Path, len: u64, limit: u64) -> String {
    format!(
        "`{}` is {len} bytes, over the {limit}-byte limit; a monitor's SQL is a query, not data",
        path.display()
    )
}

/// Opens for reading without blocking on a FIFO; regular files ignore the flag.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Elsewhere: refuse what is not a regular file before opening (a small race).
#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    if let Some(kind) = not_regular(&std::fs::metadata(path)?) {
        return Err(std::io::Error::other(format!("{kind}, not a regular file")));
    }
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_refused_without_reading() {
        let e = text(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(
            e,
            "`/dev/zero` is a device, not a regular file; only regular files are read"
        );
        let e = text(Path::new("/"), 1024).unwrap_err();
        assert!(e.contains("a directory"), "{e}");
    }

    #[test]
    fn too_large_and_binary_files_are_refused_without_echo() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.sql");
        std::fs::write(&big, "SELECT 1 -- secret\n".repeat(100)).unwrap();
        let e = text(&big, 100).unwrap_err();
        assert!(e.contains("1900 bytes, over the 100-byte limit"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let bin = dir.path().join("bin.sql");
        std::fs::write(&bin, b"SELECT \xff secret").unwrap();
        let e = text(&bin, 100).unwrap_err();
        assert!(
            e.contains("not UTF-8 text (invalid byte at offset 7)"),
            "{e}"
        );
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn a_sql_file_stays_inside_the_rules_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rules");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("q.sql"), "SELECT 1").unwrap();
        let rule = root.join("sub/r.yaml");
        assert!(sql_file_path(&root, &rule, "../q.sql").is_ok());
        std::fs::write(dir.path().join("outside.sql"), "SELECT 1").unwrap();
        let e = sql_file_path(&root, &rule, "../../outside.sql").unwrap_err();
        assert!(e.contains("outside the rules folder"), "{e}");
        let e = sql_file_path(&root, &rule, "/etc/passwd").unwrap_err();
        assert!(e.contains("outside the rules folder"), "{e}");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", root.join("link.sql")).unwrap();
            let e = sql_file_path(&root, &rule, "../link.sql").unwrap_err();
            assert!(e.contains("outside the rules folder"), "{e}");
        }
    }
}

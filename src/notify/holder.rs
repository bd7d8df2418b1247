//! Who holds a lease, and whether that holder is certainly gone.
//!
//! The state file lives on one host, so the processes that share it are on that host
//! too. A lease records its holder as `pid N@host` (and, where the kernel tells, the pid
//! namespace: `pid N@host pid:[4026531836]`); a holder with this host's name, this
//! process's pid namespace and a pid that no longer exists (`kill(pid, 0)` fails with
//! `ESRCH`) has died — SIGKILL, OOM, a power cut of the process — and its lease may be
//! taken over at once instead of after it expires.
//!
//! Anything less certain counts as alive: another host or namespace, a holder string in
//! another format (an older version's), a pid that exists (even a reused one: the lease
//! then only waits for its expiry, as before), `EPERM` (another user's live process).

use std::sync::OnceLock;

/// This process, as the holder of the leases it takes.
pub fn me() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| holder_of(std::process::id()))
}

/// The holder string of process `pid` on this host.
pub fn holder_of(pid: u32) -> String {
    let mut s = format!("pid {pid}@{}", hostname());
    if let Some(ns) = pid_namespace() {
        s.push(' ');
        s.push_str(&ns);
    }
    s
}

/// True only when `holder` names a process of this host and pid namespace that no
/// longer exists.
pub fn is_dead(holder: &str) -> bool {
    let Some(rest) = holder.strip_prefix("pid ") else {
        return false;
    };
    let Some((pid, place)) = rest.split_once('@') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let (host, ns) = match place.split_once(' ') {
        Some((host, ns)) => (host, Some(ns)),
        None => (place, None),
    };
    if host.is_empty() || host != hostname() || ns.map(str::to_string) != pid_namespace() {
        return false;
    }
    !alive(pid)
}

/// This host's name (`gethostname`), empty when it cannot be read (then no holder is
/// ever judged dead).
fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(read_hostname)
}

#[cfg(unix)]
fn read_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]);
    // `@` and spaces separate the fields of a holder string.
    name.chars().filter(|c| *c != '@' && *c != ' ').collect()
}

#[cfg(not(unix))]
fn read_hostname() -> String {
    String::new()
}

/// The pid namespace (`pid:[inode]` of `/proc/self/ns/pid`) on Linux: two containers
/// with one hostname and one volume must not judge each other's pids.
fn pid_namespace() -> Option<String> {
    static NS: OnceLock<Option<String>> = OnceLock::new();
    NS.get_or_init(|| {
        let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
        let ns = link.to_string_lossy().to_string();
        (!ns.is_empty() && !ns.contains(' ')).then_some(ns)
    })
    .clone()
}

/// Whether process `pid` exists: signal 0 checks without sending anything.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 sends nothing; it only reports whether the pid exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        assert!(me().starts_with(&format!("pid {}@", std::process::id())));
        assert!(!is_dead(me()));
    }

    #[cfg(unix)]
    #[test]
    fn a_reaped_child_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        // The pid could be reused by now; then it is (rightly) not judged dead.
        if !alive(pid) {
            assert!(is_dead(&holder_of(pid)));
        }
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!is_dead(&holder_of(pid)), "a running child is alive");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(is_dead(&holder_of(pid)), "killed and reaped: dead");
        // Above any pid_max: never a process.
        assert!(is_dead(&holder_of(999_999_999)));
    }

    #[test]
    fn anything_uncertain_is_alive() {
        let dead_elsewhere = format!("pid 999999999@not-{}", hostname());
        assert!(!is_dead(&dead_elsewhere), "another host");
        assert!(!is_dead("pid 999999999"), "the old format, no host");
        assert!(!is_dead("somehost:1234"), "slack's old format");
        assert!(!is_dead(""));
        let other_ns = format!("pid 999999999@{} pid:[1]", hostname());
        assert!(
            !is_dead(&other_ns) || pid_namespace().as_deref() == Some("pid:[1]"),
            "another pid namespace"
        );
    }
}

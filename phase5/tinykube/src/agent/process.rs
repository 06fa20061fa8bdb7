//! A pod's process in its own process group, and how it is ended without leaving anything behind.
//!
//! A pod may fork (a shell runs a server, a server runs workers). Signalling only the pid it was
//! started as would orphan the rest, so each pod runs in a process group of its own
//! ([`CommandExt::process_group`]`(0)`: the group id is the child's pid) and every signal goes to
//! `-pgid`. One rule keeps that safe from pid reuse: the group is signalled only while the pod's
//! first process is unreaped. A zombie keeps its pid, so no new process (and no new group) can take
//! that number; the exit is therefore observed with `waitid(WNOWAIT)`, the group killed, and only
//! then the child reaped.
use std::io;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use super::AgentError;
use super::status::ExitStatus;

/// How often the waits of this module look again.
const LOOK_EVERY: Duration = Duration::from_millis(2);

/// A process-group id we may signal: never 0 (our own group) nor 1 (`-1` is every process we may
/// signal).
fn checked_pgid(pgid: u32) -> Option<libc::pid_t> {
    libc::pid_t::try_from(pgid).ok().filter(|&p| p > 1)
}

/// Sends `signal` to every process of group `pgid`; `Ok(false)` when the group has no member.
pub(crate) fn signal_group(pgid: u32, signal: libc::c_int) -> io::Result<bool> {
    let Some(pgid) = checked_pgid(pgid) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal process group 0 or 1",
        ));
    };
    // SAFETY: kill has no memory preconditions; the argument is a negated group id > 1, so it
    // addresses exactly that group.
    if unsafe { libc::kill(-pgid, signal) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ESRCH) => Ok(false),
        _ => Err(err),
    }
}

/// Whether process group `pgid` still has a member (a zombie counts: it is not reaped yet).
///
/// ```no_run
/// // After a pod is stopped its group must be empty.
/// # let pgid = 12345;
/// assert!(!tinykube::agent::group_alive(pgid));
/// ```
pub fn group_alive(pgid: u32) -> bool {
    match signal_group(pgid, 0) {
        Ok(alive) => alive,
        // EPERM: a member exists that we may not signal.
        Err(e) => e.raw_os_error() == Some(libc::EPERM),
    }
}

/// Makes this process the reaper of its descendants' orphans (Linux' `PR_SET_CHILD_SUBREAPER`), as
/// containerd's shim is. A pod's grandchild whose parent died is then reparented here instead of to
/// pid 1, so the supervisor can reap it; without it, under an init that does not reap, a killed
/// grandchild stays a zombie and its process group never empties. A node agent calls this once at
/// start.
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers and touches no memory.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "subreaper is Linux-only",
        ))
    }
}

/// Reaps the group's members that are our children (orphans adopted as a subreaper). Called only
/// once the pod's first process is reaped, so it cannot take that one's status from `Child`.
fn reap_orphans(pgid: u32) {
    let Some(pgid) = checked_pgid(pgid) else {
        return;
    };
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid, writable c_int for the duration of the call.
        let reaped = unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) };
        if reaped <= 0 {
            return; // 0: members left but none exited; -1 (ECHILD): none is our child.
        }
    }
}

/// Whether `child` has exited, without reaping it (so its pid, the group id, stays reserved).
pub(crate) fn has_exited(child: &Child) -> io::Result<bool> {
    let pid: libc::id_t = child.id();
    // SAFETY: siginfo_t is plain data for which all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is valid and writable for the call; WNOWAIT leaves the child waitable, so the
    // `Child` still owns its reaping.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        // ECHILD: already reaped by us, so certainly exited.
        return if err.raw_os_error() == Some(libc::ECHILD) {
            Ok(true)
        } else {
            Err(err)
        };
    }
    // SAFETY: waitid filled `info` (or left it zeroed when nothing changed); si_pid reads the
    // field that WEXITED reports set.
    Ok(unsafe { info.si_pid() } != 0)
}

/// Waits until `child` has exited (unreaped) or `deadline` passes; whether it exited.
fn exited_by(child: &Child, deadline: Instant) -> io::Result<bool> {
    loop {
        if has_exited(child)? {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        thread::sleep(LOOK_EVERY.min(deadline - now));
    }
}

/// Ends a run: SIGTERM to the group, up to `grace` for the first process to exit, then SIGKILL to the
/// group (always: a member may ignore SIGTERM or outlive its parent), then reaps the first process
/// and the adopted orphans and waits, up to `kill_timeout`, for the group to be empty.
///
/// With `grace` zero it is a plain kill (what a run that exited on its own gets, for its
/// leftovers).
pub(crate) fn end_run(
    child: &mut Child,
    grace: Duration,
    kill_timeout: Duration,
) -> Result<ExitStatus, AgentError> {
    let pgid = child.id();
    let group_error = |source| AgentError::Signal { pgid, source };
    if !grace.is_zero() && !has_exited(child).map_err(group_error)? {
        signal_group(pgid, libc::SIGTERM).map_err(group_error)?;
        exited_by(child, Instant::now() + grace).map_err(group_error)?;
    }
    // The first process is unreaped here, so `pgid` still names this pod's group.
    signal_group(pgid, libc::SIGKILL).map_err(group_error)?;
    let deadline = Instant::now() + kill_timeout;
    if !exited_by(child, deadline).map_err(group_error)? {
        return Err(AgentError::NotReaped { pid: pgid });
    }
    let status = child.wait().map_err(group_error)?;
    loop {
        reap_orphans(pgid);
        if !group_alive(pgid) {
            return Ok(ExitStatus::from_std(status));
        }
        if Instant::now() >= deadline {
            return Err(AgentError::GroupLingers { pgid });
        }
        thread::sleep(LOOK_EVERY);
    }
}

/// `command` in a process group of its own.
pub(crate) fn in_own_group(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    command.process_group(0)
}

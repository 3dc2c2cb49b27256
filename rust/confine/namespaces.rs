//! Fresh user, network, mount and IPC namespaces: the process keeps no network interface (not
//! even loopback is up), so even a socket it somehow held could reach nothing, and it shares no
//! System V IPC or mount changes with the host.

use crate::error::{Error, Result};

/// Moves the calling process into new namespaces. `Ok(false)` when the kernel does not let this
/// user create them (user namespaces disabled, or already inside a restrictive container).
///
/// The process must still be single-threaded: the kernel refuses a new user namespace otherwise.
pub fn enter() -> Result<bool> {
    let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWIPC;
    // SAFETY: unshare takes flags only and touches no memory of ours.
    if unsafe { libc::unshare(flags) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EPERM | libc::ENOSPC | libc::EUSERS | libc::ENOSYS) => Ok(false),
        // EINVAL: the process already runs threads, which is a bug in the caller's order.
        _ => Err(Error::Confinement(format!("cannot enter new namespaces: {error}"))),
    }
}

//! Resource limits of a sandbox process: a cap on new address space (what the host side of its
//! guests may allocate: compiled code, parsed bundles, values in flight; guests' linear memories
//! live in the pool reserved before the cap), no core dumps (they would hold tenant data), and a
//! small bound on file descriptors.

use crate::error::{Error, Result};

/// Descriptors a sandbox process may open beyond those it has (memfd images of modules it
/// compiles; the syscall filter allows no other kind).
const SPARE_DESCRIPTORS: u64 = 256;

/// Caps the address space at what is mapped now plus `headroom_bytes`, and sets the other limits.
/// Returns the address-space cap in bytes.
pub fn apply(headroom_bytes: u64) -> Result<u64> {
    let mapped = mapped_bytes()?;
    let cap = mapped.saturating_add(headroom_bytes);
    set(libc::RLIMIT_AS, cap)?;
    set(libc::RLIMIT_CORE, 0)?;
    set(libc::RLIMIT_NOFILE, open_descriptors()?.saturating_add(SPARE_DESCRIPTORS))?;
    Ok(cap)
}

fn set(resource: libc::__rlimit_resource_t, value: u64) -> Result<()> {
    let limit = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: `limit` is a valid rlimit for the duration of the call.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        let error = std::io::Error::last_os_error();
        return Err(Error::Confinement(format!("cannot set resource limit {resource}: {error}")));
    }
    Ok(())
}

/// The process's mapped address space (`VmSize` of /proc/self/status).
fn mapped_bytes() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Error::Confinement(format!("cannot read /proc/self/status: {e}")))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| Error::Confinement("no VmSize in /proc/self/status".into()))
}

/// One more than the highest descriptor open now.
fn open_descriptors() -> Result<u64> {
    let entries = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Error::Confinement(format!("cannot read /proc/self/fd: {e}")))?;
    Ok(entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .map_or(0, |highest| highest + 1))
}

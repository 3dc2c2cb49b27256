//! The syscall filter of a sandbox process (seccomp-bpf, compiled by `seccompiler`), for every
//! thread, with no_new_privs.
//!
//! Three lists. What a serving process needs (memory, threads, futexes, clocks, reading and
//! writing the descriptors it already holds) is allowed. What libraries try and cope without
//! (opening a file, a stat by path, an ioctl, a pipe, a socket) fails with `EACCES`, so Python
//! and wasmtime degrade as on a locked-down disk (`clone3` fails with `ENOSYS`, so threads are
//! made with `clone`, whose flags a filter can read). Anything else (`execve`, `fork`, `connect`,
//! `ptrace`, `mount`, signals to other processes...) kills the whole process at once: code that
//! tries one has escaped wasmtime, and the parent sees the process die.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use crate::error::{Error, Result};

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

/// Syscalls allowed with any arguments.
const ALLOWED: &[i64] = &[
    // The descriptors the process holds: its socket to the parent, memfd images.
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_recvfrom,
    libc::SYS_sendto,
    libc::SYS_recvmsg,
    libc::SYS_sendmsg,
    libc::SYS_shutdown,
    libc::SYS_close,
    libc::SYS_lseek,
    libc::SYS_fcntl,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_memfd_create,
    libc::SYS_ftruncate,
    // Memory.
    libc::SYS_mmap,
    libc::SYS_mprotect,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_brk,
    libc::SYS_msync,
    libc::SYS_mincore,
    libc::SYS_membarrier,
    libc::SYS_pkey_alloc,
    libc::SYS_pkey_free,
    libc::SYS_pkey_mprotect,
    // Threads, signals and waiting.
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_set_tid_address,
    libc::SYS_rseq,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_exit,
    libc::SYS_exit_group,
    // Clocks, randomness and facts about the process itself.
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_getrandom,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getrusage,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_getcwd,
    // Decided by argument in the refusal filter below (allowed here so that filter's answer stands).
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_prctl,
    libc::SYS_ioctl,
];

/// `_IOWR('f', 16, struct pm_scan_arg)` (linux/fs.h, Linux 6.7).
const PAGEMAP_SCAN: u64 = 0xc060_6610;

/// Syscalls refused with `EACCES` (and allowed through the kill filter, so the refusal stands).
const REFUSED: &[i64] = &[
    libc::SYS_openat,
    libc::SYS_openat2,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlinkat,
    libc::SYS_getdents64,
    libc::SYS_mkdirat,
    libc::SYS_unlinkat,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_chdir,
    libc::SYS_fchdir,
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_pipe2,
    libc::SYS_eventfd2,
    libc::SYS_epoll_create1,
    libc::SYS_inotify_init1,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_sched_setaffinity,
    libc::SYS_mlock,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_open,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_creat,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_stat,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_lstat,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_access,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_readlink,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_mkdir,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_unlink,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_rename,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_pipe,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_dup2,
];

/// Legacy x86-64 forms of allowed calls.
#[cfg(target_arch = "x86_64")]
const ALLOWED_X86_64: &[i64] = &[libc::SYS_fstat, libc::SYS_poll, libc::SYS_select, libc::SYS_time];
#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_X86_64: &[i64] = &[];

/// Installs the filters on every thread of the process (no_new_privs first, as seccomp needs).
/// Irreversible.
pub fn install() -> Result<()> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| Error::Confinement(format!("no syscall filter for this architecture: {e}")))?;
    // The kernel runs every filter and keeps the strictest answer: kill over errno over allow.
    // The kill filter goes last: it does not allow `seccomp`, which installing another needs.
    for program in [clone3_filter(arch)?, refusal_filter(arch)?, kill_filter(arch)?] {
        seccompiler::apply_filter_all_threads(&program)
            .map_err(|e| Error::Confinement(format!("cannot install the syscall filter: {e}")))?;
    }
    Ok(())
}

fn compile(rules: Rules, mismatch: SeccompAction, matched: SeccompAction, arch: TargetArch) -> Result<BpfProgram> {
    SeccompFilter::new(rules, mismatch, matched, arch)
        .and_then(BpfProgram::try_from)
        .map_err(|e| Error::Confinement(format!("cannot build the syscall filter: {e}")))
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value)
        .map_err(|e| Error::Confinement(format!("cannot build the syscall filter: {e}")))
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule> {
    SeccompRule::new(conditions).map_err(|e| Error::Confinement(format!("cannot build the syscall filter: {e}")))
}

/// Allows the allow-list (and the refused list, answered by `refusal_filter`); kills on the rest.
fn kill_filter(arch: TargetArch) -> Result<BpfProgram> {
    let mut rules: Rules = BTreeMap::new();
    for &call in ALLOWED.iter().chain(ALLOWED_X86_64).chain(REFUSED) {
        rules.insert(call, Vec::new());
    }
    rules.insert(libc::SYS_clone3, Vec::new()); // answered ENOSYS by clone3_filter
    // clone only for a thread of this process: never a new process.
    let thread = libc::CLONE_THREAD as u64;
    rules.insert(libc::SYS_clone, vec![rule(vec![condition(0, SeccompCmpOp::MaskedEq(thread), thread)?])?]);
    // Signals only to this process's own threads.
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u64;
    rules.insert(libc::SYS_tgkill, vec![rule(vec![condition(0, SeccompCmpOp::Eq, pid)?])?]);
    // Reading this process's own limits, never setting any.
    rules.insert(
        libc::SYS_prlimit64,
        vec![rule(vec![condition(0, SeccompCmpOp::Eq, 0)?, condition(2, SeccompCmpOp::Eq, 0)?])?],
    );
    compile(rules, SeccompAction::KillProcess, SeccompAction::Allow, arch)
}

/// Answers `EACCES` for the refused list, for a stat by path (a stat of an open descriptor,
/// `AT_EMPTY_PATH`, is allowed: a filter cannot read the path, so a call passing that flag with a
/// path gets that path's metadata too), and for a `prctl` other than naming a thread or setting
/// no_new_privs (which installing the next filter does).
fn refusal_filter(arch: TargetArch) -> Result<BpfProgram> {
    let mut rules: Rules = BTreeMap::new();
    for &call in REFUSED {
        rules.insert(call, Vec::new());
    }
    let empty_path = libc::AT_EMPTY_PATH as u64;
    let by_path = |arg| -> Result<Vec<SeccompRule>> {
        Ok(vec![rule(vec![condition(arg, SeccompCmpOp::MaskedEq(empty_path), 0)?])?])
    };
    // ioctl only to ask which pages of its own memory a guest dirtied (`/proc/self/pagemap`'s
    // PAGEMAP_SCAN, which wasmtime's pooling allocator uses to reset a slot cheaply).
    rules.insert(libc::SYS_ioctl, vec![rule(vec![condition(1, SeccompCmpOp::Ne, PAGEMAP_SCAN)?])?]);
    rules.insert(libc::SYS_newfstatat, by_path(3)?);
    rules.insert(libc::SYS_statx, by_path(2)?);
    rules.insert(
        libc::SYS_prctl,
        vec![rule(vec![
            condition(0, SeccompCmpOp::Ne, libc::PR_SET_NAME as u64)?,
            condition(0, SeccompCmpOp::Ne, libc::PR_GET_NAME as u64)?,
            condition(0, SeccompCmpOp::Ne, libc::PR_SET_NO_NEW_PRIVS as u64)?,
        ])?],
    );
    compile(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EACCES as u32), arch)
}

/// `clone3` answers `ENOSYS`: its flags sit in memory a filter cannot read, and the C library
/// then falls back to `clone`.
fn clone3_filter(arch: TargetArch) -> Result<BpfProgram> {
    let rules: Rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    compile(rules, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32), arch)
}

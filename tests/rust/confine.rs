//! The confinement of a sandbox process (`confine/`), applied for real: each case runs this test
//! binary again as a child (only that case, with `CONFINE_CASE` set), which confines itself and
//! tries something; the parent reads how the child ended.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use _core::confine::{filesystem, namespaces, rlimits, syscalls};

const CASE: &str = "DYNISOLATE_CONFINE_CASE";

/// Runs test `name` again in a child with `CASE` set; its exit status.
fn in_child(name: &str) -> ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CASE, "1")
        .status()
        .unwrap()
}

fn child() -> bool {
    std::env::var_os(CASE).is_some()
}

/// Test `name`: `body` in a child, which must exit with status 0.
fn exits_cleanly(name: &str, body: impl FnOnce()) {
    if !child() {
        let status = in_child(name);
        assert_eq!(status.code(), Some(0), "{status:?}");
        return;
    }
    body();
    std::process::exit(0);
}

/// The errno a raw syscall ended with (0 when it succeeded).
fn errno_of(result: libc::c_long) -> i32 {
    if result < 0 { std::io::Error::last_os_error().raw_os_error().unwrap() } else { 0 }
}

#[test]
fn files_sockets_and_pipes_are_refused_with_eacces() {
    exits_cleanly("confine::files_sockets_and_pipes_are_refused_with_eacces", || {
        syscalls::install().unwrap();
        // SAFETY: plain syscalls on constant arguments.
        unsafe {
            assert_eq!(
                errno_of(libc::syscall(libc::SYS_openat, libc::AT_FDCWD, c"/etc/hostname".as_ptr(), 0)),
                libc::EACCES
            );
            assert_eq!(errno_of(libc::syscall(libc::SYS_socket, libc::AF_INET, libc::SOCK_STREAM, 0)), libc::EACCES);
            let mut fds = [0i32; 2];
            assert_eq!(errno_of(libc::syscall(libc::SYS_pipe2, fds.as_mut_ptr(), 0)), libc::EACCES);
            // A stat by path is refused; a stat of an open descriptor is allowed.
            let mut stat: libc::stat = std::mem::zeroed();
            assert_eq!(
                errno_of(libc::syscall(libc::SYS_newfstatat, libc::AT_FDCWD, c"/".as_ptr(), &mut stat, 0)),
                libc::EACCES
            );
            assert_eq!(
                errno_of(libc::syscall(libc::SYS_newfstatat, 1, c"".as_ptr(), &mut stat, libc::AT_EMPTY_PATH)),
                0
            );
            // clone3 says "not here", so threads come from clone, whose flags the filter reads.
            assert_eq!(errno_of(libc::syscall(libc::SYS_clone3, 0, 0)), libc::ENOSYS);
        }
        std::thread::spawn(|| ()).join().unwrap();
        std::process::exit(0);
    });
}

fn killed_by_sigsys(name: &str, attempt: impl FnOnce()) {
    if !child() {
        let status = in_child(name);
        assert_eq!(status.signal(), Some(libc::SIGSYS), "{status:?}");
        return;
    }
    syscalls::install().unwrap();
    attempt();
    std::process::exit(0); // not reached: the attempt kills the process
}

#[test]
fn execve_kills_the_process() {
    killed_by_sigsys("confine::execve_kills_the_process", || {
        let argv = [c"/bin/true".as_ptr(), std::ptr::null()];
        // SAFETY: a valid path and a null-terminated argv.
        unsafe { libc::execv(c"/bin/true".as_ptr(), argv.as_ptr()) };
    });
}

#[test]
fn fork_kills_the_process() {
    // SAFETY: the child of a fork would only exit.
    killed_by_sigsys("confine::fork_kills_the_process", || unsafe {
        if libc::fork() == 0 {
            libc::_exit(0);
        }
    });
}

#[test]
fn signals_to_other_processes_kill_the_process() {
    // SAFETY: a signal 0 probe of pid 1.
    killed_by_sigsys("confine::signals_to_other_processes_kill_the_process", || unsafe {
        libc::kill(1, 0);
    });
}

#[test]
fn raising_a_limit_kills_the_process() {
    killed_by_sigsys("confine::raising_a_limit_kills_the_process", || {
        let limit = libc::rlimit { rlim_cur: 1 << 40, rlim_max: 1 << 40 };
        // SAFETY: a valid rlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    });
}

#[test]
fn the_address_space_cap_fails_large_mappings() {
    exits_cleanly("confine::the_address_space_cap_fails_large_mappings", || {
        let cap = rlimits::apply(64 << 20).unwrap();
        let map = |bytes: usize| {
            // SAFETY: an anonymous private mapping, unmapped at once when it succeeds.
            unsafe {
                let at = libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if at == libc::MAP_FAILED {
                    false
                } else {
                    libc::munmap(at, bytes);
                    true
                }
            }
        };
        assert!(cap > 64 << 20);
        assert!(map(16 << 20));
        assert!(!map(128 << 20));
        std::process::exit(0);
    });
}

#[test]
fn landlock_and_namespaces_report_what_the_kernel_gave() {
    exits_cleanly("confine::landlock_and_namespaces_report_what_the_kernel_gave", || {
        // A process with a second thread cannot enter a new user namespace (EINVAL): reported as the
        // caller's mistake, never as "the kernel does not allow it".
        let (stop, parked) = std::sync::mpsc::channel::<()>();
        let second = std::thread::spawn(move || parked.recv());
        assert!(namespaces::enter().is_err());
        drop(stop);
        let _ = second.join();
        let enforced = filesystem::restrict().unwrap();
        if enforced != filesystem::Enforced::Not {
            assert!(std::fs::read("/etc/hostname").is_err());
        }
        std::process::exit(0);
    });
}

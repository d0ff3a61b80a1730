//! `daemonize yes` and `pidfile`, as redis-server does them: fork before
//! any thread exists, the parent exits, the child leaves the terminal
//! (setsid) with its standard streams on /dev/null; the PID file is written
//! once the configuration is read and removed when the server shuts down.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Where a daemon with no `pidfile` writes its PID (Redis writes
/// /var/run/redis.pid; this is slotcore's own name for it).
pub const DEFAULT_PIDFILE: &str = "/var/run/slotcore.pid";

static PIDFILE: OnceLock<PathBuf> = OnceLock::new();

/// Forks into the background. Must run before any thread is started: only
/// the calling thread survives a fork.
pub fn daemonize() -> Result<(), String> {
    // SAFETY: fork in a process with one thread; the child goes on with a
    // copy of this one thread's state.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            // SAFETY: plain system calls on descriptors this process owns.
            unsafe {
                libc::setsid();
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0);
                if null != -1 {
                    libc::dup2(null, libc::STDIN_FILENO);
                    libc::dup2(null, libc::STDOUT_FILENO);
                    libc::dup2(null, libc::STDERR_FILENO);
                    if null > libc::STDERR_FILENO {
                        libc::close(null);
                    }
                }
            }
            Ok(())
        }
        // The parent: the daemon goes on alone.
        _ => std::process::exit(0),
    }
}

/// Writes this process's PID to `path`; it is removed by `remove_pidfile`.
/// A failure is logged, not fatal, as in Redis.
pub fn write_pidfile(path: &str) {
    let path = PathBuf::from(path);
    match std::fs::write(&path, format!("{}\n", std::process::id())) {
        Ok(()) => {
            let _ = PIDFILE.set(path);
        }
        Err(error) => crate::warning!("Failed to write PID file '{}': {error}", path.display()),
    }
}

/// On shutdown: removes the PID file this process wrote, if any.
pub fn remove_pidfile() {
    if let Some(path) = PIDFILE.get() {
        let _ = std::fs::remove_file(path);
    }
}

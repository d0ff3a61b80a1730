//! Redis-style log lines: `PID:ROLE DD Mon YYYY HH:MM:SS.mmm LEVEL message`,
//! to stdout or to `logfile`. Not on any request path.

use std::io::Write;
use std::sync::Mutex;

static SINK: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Sends the log to `path` (appending); empty means stdout.
pub fn open(path: &str) -> std::io::Result<()> {
    if path.is_empty() {
        return Ok(());
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if let Ok(mut sink) = SINK.lock() {
        *sink = Some(file);
    }
    Ok(())
}

#[derive(Clone, Copy)]
pub enum Level {
    Debug,
    Verbose,
    Notice,
    Warning,
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

pub fn write(level: Level, message: &str) {
    let marker = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!(
        "{}:M {} {} {}\n",
        std::process::id(),
        timestamp(),
        marker,
        message
    );
    if let Ok(mut sink) = SINK.lock() {
        if let Some(file) = sink.as_mut() {
            let _ = file.write_all(line.as_bytes());
            return;
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
}

#[macro_export]
macro_rules! notice {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Notice, &format!($($arg)*)) };
}

#[macro_export]
macro_rules! warning {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warning, &format!($($arg)*)) };
}

#[macro_export]
macro_rules! verbose {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Verbose, &format!($($arg)*)) };
}

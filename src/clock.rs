//! A cheap monotonic clock for timing every command (INFO commandstats and
//! latencystats). On x86-64 with an invariant TSC it reads the time stamp
//! counter (a few cycles) instead of calling clock_gettime twice per
//! command; elsewhere it falls back to `Instant`.

use std::sync::OnceLock;
use std::time::Instant;

/// Nanoseconds per TSC tick, scaled by 2^32; None when the TSC can't be used.
fn tsc_scale() -> Option<u64> {
    static SCALE: OnceLock<Option<u64>> = OnceLock::new();
    *SCALE.get_or_init(calibrate)
}

#[cfg(target_arch = "x86_64")]
fn read_tsc() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn read_tsc() -> u64 {
    0
}

fn calibrate() -> Option<u64> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = cpuinfo.lines().find(|line| line.starts_with("flags"))?;
    if !(flags.contains(" constant_tsc") && flags.contains(" nonstop_tsc")) {
        return None;
    }
    let (wall, ticks) = (Instant::now(), read_tsc());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (nanos, ticks) = (
        wall.elapsed().as_nanos() as u64,
        read_tsc().wrapping_sub(ticks),
    );
    if ticks == 0 {
        return None;
    }
    Some(((nanos as u128) << 32).checked_div(ticks as u128)? as u64)
}

/// Measures the time since it was started.
#[derive(Clone, Copy)]
pub enum Stopwatch {
    Tsc(u64),
    Wall(Instant),
}

impl Stopwatch {
    #[inline]
    pub fn start() -> Stopwatch {
        match tsc_scale() {
            Some(_) => Stopwatch::Tsc(read_tsc()),
            None => Stopwatch::Wall(Instant::now()),
        }
    }

    #[inline]
    pub fn elapsed_nanos(&self) -> u64 {
        match (self, tsc_scale()) {
            (Stopwatch::Tsc(start), Some(scale)) => {
                ((read_tsc().wrapping_sub(*start) as u128 * scale as u128) >> 32) as u64
            }
            (Stopwatch::Wall(start), _) => start.elapsed().as_nanos() as u64,
            (Stopwatch::Tsc(_), None) => 0,
        }
    }
}

/// Calibrates up front, so no request pays the 20 ms.
pub fn init() {
    let _ = tsc_scale();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwatch_measures_a_sleep_roughly() {
        let watch = Stopwatch::start();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let nanos = watch.elapsed_nanos();
        assert!(nanos >= 25_000_000, "{nanos}");
        assert!(nanos < 5_000_000_000, "{nanos}");
    }
}

//! Memory accounting for INFO's used_memory: a thin wrapper over the
//! system allocator that counts bytes in per-thread counters, so cores never
//! contend on one cache line. Frees on another thread subtract there; the
//! sum over all counters is still exact.

use mimalloc::MiMalloc as System;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

const COUNTERS: usize = 64;

#[repr(align(64))]
struct Counter(AtomicI64);

static BYTES: [Counter; COUNTERS] = [const { Counter(AtomicI64::new(0)) }; COUNTERS];
static NEXT_COUNTER: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static MY_COUNTER: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn counter() -> &'static AtomicI64 {
    let index = MY_COUNTER
        .try_with(|slot| {
            if slot.get() == usize::MAX {
                slot.set(NEXT_COUNTER.fetch_add(1, Ordering::Relaxed) % COUNTERS);
            }
            slot.get()
        })
        .unwrap_or(0);
    &BYTES[index].0
}

pub struct CountingAllocator;

// SAFETY: every call is forwarded to the system allocator unchanged; we only
// add bookkeeping on the side.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            counter().fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        counter().fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            counter().fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            counter().fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        moved
    }
}

/// Bytes currently allocated by the whole process.
pub fn allocated_bytes() -> u64 {
    let total: i64 = BYTES.iter().map(|c| c.0.load(Ordering::Relaxed)).sum();
    let total = total.max(0);
    PEAK.fetch_max(total, Ordering::Relaxed);
    total as u64
}

pub fn peak_bytes() -> u64 {
    PEAK.load(Ordering::Relaxed).max(0) as u64
}

/// Hands the memory this thread's allocator holds free back to the system.
/// mimalloc purges freed memory only when the thread allocates or frees
/// again after `purge_delay` (10 ms), so a core that goes quiet after a
/// load would keep in VmRSS the tables its maps outgrew (a
/// 1,000,000-member sorted set: 144 bytes per member where 106 are in
/// use), or a flushed keyspace's pages. Redis's jemalloc has a background
/// thread for the first and purges after FLUSHALL; every core calls this
/// on its cron tick (10 to 25 µs with 6,000,000 keys on the core) and
/// after FLUSHALL.
pub fn release_free_memory() {
    // SAFETY: mi_collect has no preconditions; it only walks this thread's
    // heap and returns pages that hold no live allocation.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

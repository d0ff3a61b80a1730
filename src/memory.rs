//! Memory accounting for INFO's used_memory: a thin wrapper over mimalloc
//! (called directly, see `PLAIN_ALIGN_MAX`) that counts bytes in
//! per-thread counters, so cores never contend on one cache line. Frees on
//! another thread subtract there; the sum over all counters is still exact.

use libmimalloc_sys as mi;
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

/// The largest alignment a plain `mi_malloc` gives: every mimalloc block
/// size is a multiple of 8 bytes, carved from 8-aligned pages.
///
/// Layouts aligned to at most this go to `mi_malloc`, not to
/// `mi_malloc_aligned` as the mimalloc crate sends every layout. When the
/// page's free list is empty, `mi_malloc_aligned` takes a path that asks
/// for the size plus the alignment less one, which moves a request of
/// exactly a size class (80 bytes, 96...) into the next class: a keyspace
/// node of 80 bytes cost 96, and VmRSS after DEBUG POPULATE 1000000 grew
/// 115 bytes per key instead of 105.
const PLAIN_ALIGN_MAX: usize = 8;

/// A new block for `layout` from `plain` (size) or `aligned` (size,
/// alignment), counted.
///
/// # Safety
/// `layout` has a non-zero size; the functions are mimalloc's.
#[inline(always)]
unsafe fn allocate(
    layout: Layout,
    plain: unsafe extern "C" fn(usize) -> *mut std::ffi::c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut std::ffi::c_void,
) -> *mut u8 {
    let pointer = unsafe {
        if layout.align() <= PLAIN_ALIGN_MAX {
            plain(layout.size())
        } else {
            aligned(layout.size(), layout.align())
        }
    }
    .cast::<u8>();
    if !pointer.is_null() {
        counter().fetch_add(layout.size() as i64, Ordering::Relaxed);
    }
    pointer
}

// SAFETY: every call goes to mimalloc with the layout's size, and with its
// alignment where a plain call would not guarantee it; we only add
// bookkeeping on the side.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { allocate(layout, mi::mi_malloc, mi::mi_malloc_aligned) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { mi::mi_free(pointer.cast()) };
        counter().fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { allocate(layout, mi::mi_zalloc, mi::mi_zalloc_aligned) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe {
            if layout.align() <= PLAIN_ALIGN_MAX {
                mi::mi_realloc(pointer.cast(), new_size)
            } else {
                mi::mi_realloc_aligned(pointer.cast(), new_size, layout.align())
            }
        }
        .cast::<u8>();
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

thread_local! {
    /// This thread's view of the process total for `allocated_bytes_recent`:
    /// when it was taken (ms), the total then, and this thread's own counter
    /// then.
    static RECENT: Cell<(u64, i64, i64)> = const { Cell::new((u64::MAX, 0, 0)) };
}

/// Bytes allocated by the whole process, cheap enough to ask before every
/// command (maxmemory): the other threads' allocations as of the first
/// call at this `now_ms` (a millisecond old at most while commands run),
/// this thread's own as of now. `allocated_bytes` reads every counter,
/// most of them other cores' cache lines.
pub fn allocated_bytes_recent(now_ms: u64) -> u64 {
    let own = counter().load(Ordering::Relaxed);
    let (at, total, own_then) = RECENT.try_with(Cell::get).unwrap_or((u64::MAX, 0, 0));
    if at == now_ms {
        return (total + own - own_then).max(0) as u64;
    }
    refresh_recent(now_ms)
}

/// `allocated_bytes`, which `allocated_bytes_recent` then goes on from:
/// for a decision worth reading every counter (whether to evict).
pub fn refresh_recent(now_ms: u64) -> u64 {
    let own = counter().load(Ordering::Relaxed);
    let total = allocated_bytes() as i64;
    let _ = RECENT.try_with(|recent| recent.set((now_ms, total, own)));
    total as u64
}

/// This thread's own counter: what it allocated less what it freed (with
/// the other threads it shares the counter with, if more than 64).
pub fn thread_bytes() -> i64 {
    counter().load(Ordering::Relaxed)
}

pub fn peak_bytes() -> u64 {
    PEAK.load(Ordering::Relaxed).max(0) as u64
}

/// Runs before `main` and before the first allocation (an `.init_array`
/// entry), and turns transparent huge pages off for the process
/// (`PR_SET_THP_DISABLE`, which the kernel honours over `MADV_HUGEPAGE`).
/// mimalloc asks for them on the 1 GiB arena it reserves, and the kernel
/// then backs each touched 2 MiB stretch with a whole huge page: an idle
/// server's VmRSS was 18 MiB (redis-server: 15.6, without them 7.9), and
/// after `DEBUG POPULATE 1000000` 114.7 MiB (without them 105.0), with no
/// measurable gain in speed. Redis advises against huge pages too. An
/// operator who wants them sets mimalloc's own `MIMALLOC_ALLOW_THP=1`.
extern "C" fn turn_off_huge_pages() {
    // SAFETY: getenv reads the environment, which nothing writes this
    // early; the name is NUL-terminated.
    let value = unsafe { libc::getenv(c"MIMALLOC_ALLOW_THP".as_ptr()) };
    // SAFETY: a non-null getenv result is a NUL-terminated string.
    let allowed = !value.is_null() && unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes() == b"1";
    if !allowed {
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a
        // flag of this process. Should it fail, huge pages stay allowed.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

#[used]
#[link_section = ".init_array"]
static TURN_OFF_HUGE_PAGES: extern "C" fn() = turn_off_huge_pages;

/// Hands the memory this thread's allocator holds free back to the system.
/// mimalloc purges freed memory only when the thread allocates or frees
/// again after `purge_delay` (10 ms), so a core that goes quiet after a
/// load would keep in VmRSS the tables its maps outgrew (a
/// 1,000,000-member sorted set: 144 bytes per member where 106 are in
/// use), or a flushed keyspace's pages. Redis's jemalloc has a background
/// thread for the first and purges after FLUSHALL; every core calls this
/// on its cron tick (10 to 25 µs with 6,000,000 keys on the core) and
/// after FLUSHALL.
/// mimalloc's statistics report (MEMORY MALLOC-STATS).
pub fn allocator_report() -> String {
    unsafe extern "C" fn append(message: *const std::ffi::c_char, out: *mut std::ffi::c_void) {
        // SAFETY: mimalloc passes a NUL-terminated message, and `out` is the
        // String handed to mi_stats_print_out below, alive for the call.
        unsafe {
            let text = std::ffi::CStr::from_ptr(message).to_string_lossy();
            (*out.cast::<String>()).push_str(&text);
        }
    }
    let mut report = String::new();
    // SAFETY: `append` only writes into `report`, which outlives the call.
    unsafe {
        libmimalloc_sys::mi_stats_print_out(Some(append), (&mut report as *mut String).cast())
    };
    report
}

pub fn release_free_memory() {
    // SAFETY: mi_collect has no preconditions; it only walks this thread's
    // heap and returns pages that hold no live allocation.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

//! A hint to the CPU to start loading memory that will be read soon.
//!
//! The one `unsafe` block in the project. A workload's end reaches an instance record last
//! touched hours of simulated time earlier, so handling it starts with a cache miss, a large
//! share of a big run's time. Prefetching the record of the *next* event while the current one
//! is handled hides most of it (see README, Performance, for the measured effect).

/// Starts loading the cache lines holding `value` into the cache. A hint only: no effect on
/// results, and a no-op on targets other than x86_64.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = value as *const T as *const i8;
        let mut off = 0;
        while off < std::mem::size_of::<T>() {
            // SAFETY: PREFETCHT0 never faults and never writes; the address lies within a live
            // reference. The intrinsic is `unsafe` only as a target-feature function, and SSE is
            // part of the x86_64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

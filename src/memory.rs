//! Giving freed memory back to the system. glibc's allocator returns memory only from the top of each
//! arena, so after a run swap (the new run read while the old one is still served, then the old one
//! freed) or a burst of exports, the freed pages stay resident: a long-running server's memory would
//! follow its peaks, not what it holds. `malloc_trim(0)` hands every arena's free pages back.
//!
//! The only unsafe code of the project (tidy::unsafe_code_is_one_allocator_call_in_the_binary).

/// Asks the allocator to return its free pages to the system; whether it returned any. Does nothing
/// where the C library is not glibc (musl's and other allocators return memory themselves).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release() -> bool {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim takes no pointer and touches only the allocator's own state, under the
    // allocator's locks; it is safe to call from any thread at any time.
    unsafe { malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn freed_memory_is_given_back() {
        // 20 MB in small blocks, freed below a block still held: glibc keeps them until trimmed.
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 1000]).collect();
        let held = Box::new([1u8; 100]);
        drop(blocks);
        assert!(super::release(), "nothing was given back");
        assert_eq!(held[0], 1);
    }
}

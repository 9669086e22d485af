//! A program that links astrograd keeps its own allocator: the library installs none (a second
//! `#[global_allocator]` would make this file fail to link), and astrograd's tensors are
//! allocated through the program's.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use astrograd::Tensor;

/// The system allocator, counting the bytes it hands out.
struct Counting;

static BYTES_ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES_ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, address: *mut u8, layout: Layout) {
        System.dealloc(address, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_tensor_is_allocated_by_the_programs_own_allocator() {
    let before = BYTES_ALLOCATED.load(Ordering::Relaxed);
    let ones = Tensor::ones(&[256, 1024]);
    let sum = ones.sum_all().item().expect("one number");
    let after = BYTES_ALLOCATED.load(Ordering::Relaxed);
    assert_eq!(sum, 262_144.0);
    // 256 × 1024 floats: at least 1 MiB went through `Counting`.
    assert!(
        after - before >= 256 * 1024 * 4,
        "only {} bytes were counted",
        after - before
    );
}

//! An allocator a training program can choose: the system's, plus a small cache of big freed
//! blocks so that the next training step reuses them.
//!
//! The library does not install it: a program opts in, in its own `main.rs`, as the examples
//! and benches do (a program with an allocator of its own keeps it):
//!
//! ```text
//! #[global_allocator]
//! static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;
//! ```
//!
//! [`set_enabled`]`(false)` turns the cache off at run time (freed blocks go straight back to
//! the system), so that one binary can measure both; `bench_epochs --no-block-cache` does.
//!
//! # Why
//! A training step allocates the same big buffers every time — a conv layer's output, its ReLU,
//! their gradients, a Dense kernel's gradient: tens of megabytes each, a few hundred per step on
//! the cats-vs-dogs CNN — and frees them when the step ends. The C allocator hands such blocks
//! straight back to the operating system, so the next step asks for them again, and the kernel
//! maps and zeroes every 4 KiB page on first touch: on the cats-vs-dogs workload a third of the
//! time went to page faults; on the Fashion-MNIST CNN, whose 1 MB buffers were mapped and
//! unmapped every step, more than half went to the kernel (page faults, and the inter-processor
//! interrupts that unmapping memory under a second thread costs). Keeping the freed blocks bought
//! 1.5× on the cats-vs-dogs epoch time (4.0 s → 2.7 s) and 2.5× on the Fashion-MNIST CNN's
//! (9.5 s → 3.8 s).
//!
//! # How
//! Blocks of at least [`MIN_CACHED_BYTES`] are not freed but kept, up to [`MAX_CACHED_BLOCKS`]
//! blocks and [`MAX_CACHED_BYTES`] in all (the oldest is freed first when the cache is full).
//! An allocation of exactly the size and alignment of a kept block takes it back. Everything
//! smaller goes to the system allocator unchanged. A training loop asks for the same sizes every
//! step, so after the first step nearly every big allocation is a hit.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Blocks smaller than this (128 KiB, glibc's threshold for giving a block its own pages) go
/// straight to the system allocator, which reuses them well.
pub const MIN_CACHED_BYTES: usize = 1 << 17;

/// At most this many freed blocks are kept.
pub const MAX_CACHED_BLOCKS: usize = 256;

/// At most this many bytes (1 GiB) are kept in freed blocks.
pub const MAX_CACHED_BYTES: usize = 1 << 30;

/// One kept block: its address (as an integer, so the cache can live in a `static`) and layout.
#[derive(Clone, Copy)]
struct Block {
    address: usize,
    size: usize,
    align: usize,
}

/// The kept blocks, oldest first, in a fixed array: the allocator cannot allocate its own list.
struct Cache {
    blocks: [Block; MAX_CACHED_BLOCKS],
    len: usize,
    bytes: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    blocks: [Block {
        address: 0,
        size: 0,
        align: 0,
    }; MAX_CACHED_BLOCKS],
    len: 0,
    bytes: 0,
});

impl Cache {
    /// Takes back a kept block of exactly this layout.
    fn take(&mut self, layout: Layout) -> Option<*mut u8> {
        let i = self.blocks[..self.len]
            .iter()
            .rposition(|b| b.size == layout.size() && b.align == layout.align())?;
        let block = self.remove(i);
        Some(block.address as *mut u8)
    }

    /// Removes block `i`, keeping the others in age order.
    fn remove(&mut self, i: usize) -> Block {
        let block = self.blocks[i];
        self.blocks.copy_within(i + 1..self.len, i);
        self.len -= 1;
        self.bytes -= block.size;
        block
    }

    /// Keeps a freed block, freeing the oldest ones to make room.
    ///
    /// # Safety
    /// `address` was allocated by [`System`] with this layout and is no longer used.
    unsafe fn keep(&mut self, address: *mut u8, layout: Layout) {
        if layout.size() > MAX_CACHED_BYTES {
            System.dealloc(address, layout);
            return;
        }
        while self.len == MAX_CACHED_BLOCKS || self.bytes + layout.size() > MAX_CACHED_BYTES {
            let old = self.remove(0);
            System.dealloc(
                old.address as *mut u8,
                Layout::from_size_align_unchecked(old.size, old.align),
            );
        }
        self.blocks[self.len] = Block {
            address: address as usize,
            size: layout.size(),
            align: layout.align(),
        };
        self.len += 1;
        self.bytes += layout.size();
    }
}

/// The allocator: [`System`], with big freed blocks kept for reuse (see the module doc).
pub struct BlockCache;

/// Whether freed big blocks are kept (on unless [`set_enabled`]`(false)`).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the cache on or off. Off, freed blocks go straight back to the system; blocks already
/// kept stay available until taken, so turn it off before the work to be measured.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether the cache keeps freed big blocks.
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The cache, locked; a panic elsewhere while it was held cannot leave it inconsistent (every
/// update is finished before the lock is released), so a poisoned lock is used as it is.
fn cache() -> std::sync::MutexGuard<'static, Cache> {
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// SAFETY: every block handed out comes from `System` with the requested layout (a kept block is
// only reused for exactly its own size and alignment), and is given to one caller at a time.
unsafe impl GlobalAlloc for BlockCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_CACHED_BYTES {
            if let Some(address) = cache().take(layout) {
                return address;
            }
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_CACHED_BYTES {
            if let Some(address) = cache().take(layout) {
                // Zeroing a warm block is several times faster than faulting in fresh pages.
                address.write_bytes(0, layout.size());
                return address;
            }
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, address: *mut u8, layout: Layout) {
        if layout.size() >= MIN_CACHED_BYTES && is_enabled() {
            cache().keep(address, layout);
        } else {
            System.dealloc(address, layout);
        }
    }

    unsafe fn realloc(&self, address: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < MIN_CACHED_BYTES && new_size < MIN_CACHED_BYTES {
            return System.realloc(address, layout, new_size);
        }
        // Into or out of the cached sizes: a fresh block, a copy, and the old one kept.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new_address = self.alloc(new_layout);
        if !new_address.is_null() {
            std::ptr::copy_nonoverlapping(address, new_address, layout.size().min(new_size));
            self.dealloc(address, layout);
        }
        new_address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A freed big block comes back for the same size, zeroed when asked, and never for a
    /// different size; small blocks and the byte budget are respected.
    #[test]
    fn big_blocks_are_reused_for_the_same_layout_only() {
        let allocator = BlockCache;
        let big = Layout::from_size_align(3 * MIN_CACHED_BYTES + 8, 64).unwrap();
        unsafe {
            let a = allocator.alloc(big);
            assert!(!a.is_null());
            a.write_bytes(7, big.size());
            allocator.dealloc(a, big);
            let b = allocator.alloc_zeroed(big);
            assert_eq!(a, b, "the same layout reuses the kept block");
            let bytes = std::slice::from_raw_parts(b, big.size());
            assert!(
                bytes.iter().all(|&x| x == 0),
                "alloc_zeroed zeroes a reused block"
            );
            let other = Layout::from_size_align(3 * MIN_CACHED_BYTES + 16, 64).unwrap();
            let c = allocator.alloc(other);
            assert_ne!(b, c, "a block in use is never handed out twice");
            allocator.dealloc(c, other);
            allocator.dealloc(b, big);
            let grown = allocator.realloc(allocator.alloc(big), big, big.size() * 2);
            assert!(!grown.is_null());
            allocator.dealloc(grown, Layout::from_size_align(big.size() * 2, 64).unwrap());
        }
        let cache = cache();
        assert!(cache.len <= MAX_CACHED_BLOCKS && cache.bytes <= MAX_CACHED_BYTES);
    }
}

//! Fresh outputs that a kernel writes once, so that nothing zeroes them first.
//!
//! A training step allocates its big outputs anew (a convolution's `y`, a Dense kernel's
//! gradient); zeroing them, only for the kernel to overwrite every element, cost up to a tenth
//! of a step, all of it on the main thread. A kernel that writes every element takes its output
//! as `&mut [MaybeUninit<f32>]`, and [`vec_written_by`] turns that into a `Vec<f32>`.
use std::mem::MaybeUninit;

/// A `Vec` of `len` floats, every one of them written by `fill`, which receives the fresh,
/// uninitialised memory.
///
/// # Safety
/// `fill` must write every element of the slice it is given.
pub(crate) unsafe fn vec_written_by(
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<f32>]),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: `fill` wrote all `len` elements (the caller's contract).
    unsafe { out.set_len(len) };
    out
}

/// An initialised slice seen as possibly-uninitialised memory, for a kernel that takes either.
///
/// # Safety
/// Whoever writes through the result writes only initialised floats (never
/// `MaybeUninit::uninit()`), so that `s` stays initialised.
pub(crate) unsafe fn as_uninit_mut(s: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: MaybeUninit<f32> has the layout of f32; the caller keeps the contents initialised.
    unsafe { &mut *(s as *mut [f32] as *mut [MaybeUninit<f32>]) }
}

/// A slice whose elements have all been written, seen as `&mut [f32]`.
///
/// # Safety
/// Every element of `s` is initialised.
pub(crate) unsafe fn assume_init_mut(s: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    // SAFETY: MaybeUninit<f32> has the layout of f32, and every element is initialised.
    unsafe { &mut *(s as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

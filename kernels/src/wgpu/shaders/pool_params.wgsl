// The parameter block shared by the pooling shaders, put in front of each: the fields of
// cpu::pool::Pool2dGeometry (global pooling uses n, h, w, c and count only).

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    pool_h: u32,
    pool_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_top: u32,
    pad_left: u32,
    oh: u32,
    ow: u32,
    count: u32,   // threads with work
}

@group(0) @binding(0) var<storage, read> p: Params;

// The valid input rows of window row `oh` (padding clipped away), as [lo, hi).
fn window_rows(oh: u32) -> vec2<u32> {
    let start = oh * p.stride_h;
    let lo = max(start, p.pad_top) - p.pad_top;
    let hi = max(min(start + p.pool_h, p.pad_top + p.h), p.pad_top) - p.pad_top;
    return vec2<u32>(lo, max(lo, hi));
}

// The valid input columns of window column `ow`, as [lo, hi).
fn window_cols(ow: u32) -> vec2<u32> {
    let start = ow * p.stride_w;
    let lo = max(start, p.pad_left) - p.pad_left;
    let hi = max(min(start + p.pool_w, p.pad_left + p.w), p.pad_left) - p.pad_left;
    return vec2<u32>(lo, max(lo, hi));
}

// The windows that contain input row `ih`, as [lo, hi) of output rows: oh·sh ≤ ih + pad_top
// < oh·sh + pool_h.
fn covering_rows(ih: u32) -> vec2<u32> {
    let t = ih + p.pad_top;
    var lo = 0u;
    if t + 1u > p.pool_h {
        lo = (t + 1u - p.pool_h + p.stride_h - 1u) / p.stride_h;
    }
    let hi = min(t / p.stride_h + 1u, p.oh);
    return vec2<u32>(lo, max(lo, hi));
}

// The windows that contain input column `iw`, as [lo, hi) of output columns.
fn covering_cols(iw: u32) -> vec2<u32> {
    let t = iw + p.pad_left;
    var lo = 0u;
    if t + 1u > p.pool_w {
        lo = (t + 1u - p.pool_w + p.stride_w - 1u) / p.stride_w;
    }
    let hi = min(t / p.stride_w + 1u, p.ow);
    return vec2<u32>(lo, max(lo, hi));
}

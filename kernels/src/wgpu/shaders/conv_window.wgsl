// Where an output pixel reads x, for the implicit-GEMM convolutions (conv_implicit.wgsl,
// conv_implicit_square.wgsl, conv_implicit_weight.wgsl), put after the parameter block
// (conv_params.wgsl). Each of those declares the binding `x`: (N, H, W, C).

// Where output pixel `row` = (n, oh, ow) starts reading x: the first number of its image, and
// the input row and column of its window's top-left tap (negative in the padding).
struct Window {
    image: u32,
    ih: i32,
    iw: i32,
}

fn window_of(row: u32) -> Window {
    let ow = row % p.ow;
    let oh = (row / p.ow) % p.oh;
    let n = row / (p.ow * p.oh);
    return Window(n * p.h * p.w * p.c,
                  i32(oh * p.stride_h) - i32(p.pad_top),
                  i32(ow * p.stride_w) - i32(p.pad_left));
}

// Patch position `tap` = (kh, kw, ch), the im2col column order: its channel, and its offset in
// x from its window's top-left tap.
struct Tap {
    ch: u32,
    dh: i32,
    dw: i32,
}

fn tap_of(tap: u32) -> Tap {
    let ch = tap % p.c;
    let kw = (tap / p.c) % p.kw;
    let kh = tap / (p.c * p.kw);
    return Tap(ch, i32(kh * p.dilation_h), i32(kw * p.dilation_w));
}

// cols[row, tap]: x at `tap` of the window, 0 in the padding.
fn read_patch(window: Window, tap: Tap) -> f32 {
    let ih = window.ih + tap.dh;
    let iw = window.iw + tap.dw;
    if ih < 0 || ih >= i32(p.h) || iw < 0 || iw >= i32(p.w) {
        return 0.0;
    }
    return x[window.image + (u32(ih) * p.w + u32(iw)) * p.c + tap.ch];
}

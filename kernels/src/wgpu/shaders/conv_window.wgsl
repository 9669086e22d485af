// Where an output pixel reads x, for the implicit-GEMM convolutions (conv_implicit.wgsl,
// conv_implicit_weight.wgsl), put after the parameter block (conv_params.wgsl).

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

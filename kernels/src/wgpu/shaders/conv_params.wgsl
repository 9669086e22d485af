// The parameter block shared by the conv2d shaders (im2col.wgsl, col2im.wgsl, conv_bias.wgsl,
// conv_implicit.wgsl, conv_implicit_weight.wgsl),
// put in front of each: the fields of cpu::conv::Conv2dGeometry, for the images of one chunk.

struct Params {
    n: u32,           // images in this chunk
    h: u32,
    w: u32,
    c: u32,
    f: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    dilation_h: u32,
    dilation_w: u32,
    pad_top: u32,
    pad_left: u32,
    oh: u32,
    ow: u32,
    offset: u32,      // first number of the chunk in x (im2col), dx (col2im) or y (bias_rows)
    count: u32,       // threads with work: elements written
    rows: u32,        // sum_rows: rows of the input matrix
    has_bias: u32,    // conv_implicit: 1 to add bias[f] (epilogue.wgsl)
    relu: u32,        // conv_implicit: 1 to apply a ReLU after it
    splits: u32,      // conv_implicit_weight: slices of the pixel axis
    k_slice: u32,     // conv_implicit_weight: pixels per slice
}

@group(0) @binding(0) var<storage, read> p: Params;

// The epilogue of the products (matmul.wgsl, matmul_reduce.wgsl, matmul_narrow.wgsl,
// conv_implicit.wgsl), put after their parameter block: each of those declares `p.has_bias`,
// `p.relu` and a `bias` binding.
//
// y = relu(v + bias[col]), each part when asked: a Dense or Conv2D layer's forward pass is then
// one kernel, where a product, a bias addition and a ReLU would be three passes over y.
fn epilogue(v: f32, col: u32) -> f32 {
    var out = v;
    if p.has_bias == 1u {
        out += bias[col];
    }
    if p.relu == 1u {
        out = max(out, 0.0);
    }
    return out;
}

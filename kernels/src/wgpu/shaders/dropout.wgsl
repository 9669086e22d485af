// Inverted dropout with its mask from a counter-based hash: out[i] = x[i] · mask_i, mask_i = scale
// where u(seed, i) ≥ rate, else 0. The oracle is kernels/src/cpu/dropout.rs, whose numbers this
// one matches bit for bit:
// the hash is integer arithmetic (exact on any device), u is a 24-bit integer times 2⁻²⁴
// (exact in f32), and `scale` = 1/(1 − rate) is computed once on the host.
//
// Parallel scheme: one thread per element; element i's mask needs nothing but (seed, i), so no
// mask is stored: the backward draws it again from the seed.

struct Params {
    n: u32,       // elements P
    seed_lo: u32, // the seed's low 32 bits
    seed_hi: u32, // the seed's high 32 bits
    rate: f32,    // drop probability, in [0, 1)
    scale: f32,   // 1/(1 − rate)
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// lowbias32 (see cpu/dropout.rs).
fn mix32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    var h = mix32((i * 0x9E3779B9u) ^ p.seed_lo);
    h = mix32(h ^ p.seed_hi);
    h = mix32(h + p.seed_lo);
    let u = f32(h >> 8u) * (1.0 / 16777216.0);
    var mask = 0.0;
    if u >= p.rate {
        mask = p.scale;
    }
    out[i] = x[i] * mask;
}

// reduce_rows with subgroup operations (wgpu's `subgroups` feature; see reduce_common.wgsl,
// put in front of this file): one workgroup per output element, as reduce_rows.
//
// Parallel scheme: each thread folds a strided part of the reduced elements; each subgroup
// (the threads that run in lockstep: 32 on NVIDIA, 8 to 64 elsewhere) then folds its threads'
// numbers by a butterfly of register shuffles (lane i takes lane i XOR s, for s = width/2 … 1),
// with no workgroup memory and no barrier; lane 0 of each subgroup writes its number to
// workgroup memory, and after the one barrier every subgroup folds those numbers the same way
// (all of them do it, so the shuffles stay in uniform control flow); thread 0 writes the result.
// The portable reduce_rows needs 8 barriers for the same fold. `combine` keeps NaN winning.
// (wgpu's naga takes the subgroup functions with the device feature alone, without WGSL's
// `enable subgroups;`, which it does not parse yet.)

// One number per subgroup; a subgroup has at least one thread, so 256 is enough.
var<workgroup> subgroup_results: array<f32, 256>;

// The fold of v over the `width` lanes of this subgroup, in every lane.
fn subgroup_fold(v: f32, width: u32) -> f32 {
    var acc = v;
    for (var offset = width / 2u; offset > 0u; offset = offset / 2u) {
        acc = combine(p.op, acc, subgroupShuffleXor(acc, offset));
    }
    return acc;
}

@compute @workgroup_size(256)
fn reduce_rows_subgroup(@builtin(workgroup_id) wid: vec3<u32>,
                        @builtin(num_workgroups) groups: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32,
                        @builtin(subgroup_invocation_id) lane: u32,
                        @builtin(subgroup_size) width: u32,
                        @builtin(subgroup_id) subgroup: u32,
                        @builtin(num_subgroups) subgroups: u32) {
    let o = linear_group(wid, groups);
    let acc = subgroup_fold(fold_part(o, lid, 256u), width);
    if lane == 0u {
        subgroup_results[subgroup] = acc;
    }
    workgroupBarrier();
    var total = identity(p.op);
    for (var i = lane; i < subgroups; i += width) {
        total = combine(p.op, total, subgroup_results[i]);
    }
    total = subgroup_fold(total, width);
    if lid == 0u && o < p.n_out {
        y[o] = total;
    }
}

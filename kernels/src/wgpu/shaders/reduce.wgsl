// The reductions' two portable schedules (see reduce_common.wgsl, put in front of this file).

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let o = linear_group(wid, groups);
    partial[lid] = fold_part(o, lid, 256u);
    workgroupBarrier();
    for (var step = 128u; step > 0u; step = step / 2u) {
        if lid < step {
            partial[lid] = combine(p.op, partial[lid], partial[lid + step]);
        }
        workgroupBarrier();
    }
    if lid == 0u && o < p.n_out {
        y[o] = partial[0];
    }
}

@compute @workgroup_size(256)
fn reduce_small(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = linear_index(gid, groups);
    if o >= p.n_out { return; }
    y[o] = fold_part(o, 0u, 1u);
}

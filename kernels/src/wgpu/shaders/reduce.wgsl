// The reductions' two portable schedules (see reduce_common.wgsl, put in front of this file).

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let o = linear_group(wid, groups);
    // Every thread of the workgroup takes part in the barriers, even past the end.
    var acc = identity(p.op);
    if o < p.n_out {
        let base = strided(o, p.kept_dims, p.kept_strides);
        for (var j = lid; j < p.n_red; j += 256u) {
            acc = combine(p.op, acc, x[base + strided(j, p.red_dims, p.red_strides)]);
        }
    }
    partial[lid] = acc;
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
    let base = strided(o, p.kept_dims, p.kept_strides);
    var acc = identity(p.op);
    for (var j = 0u; j < p.n_red; j++) {
        acc = combine(p.op, acc, x[base + strided(j, p.red_dims, p.red_strides)]);
    }
    y[o] = acc;
}

//! Helpers shared by the ops' tests.
use astrograd_tensor::random::Rng;
use astrograd_tensor::Tensor;
use proptest::prelude::*;

/// Uniform random values in `[low, high)`, reproducible from `seed`.
pub fn random(shape: &[usize], low: f32, high: f32, seed: u64) -> Tensor {
    Tensor::rand_uniform_with(&mut Rng::new(seed), shape, low, high)
}

/// Random values whose magnitude is in `[margin, high)`, with random signs: for ops with a
/// kink at 0 (relu, abs), whose finite difference is wrong within ε of the kink.
pub fn random_away_from_zero(shape: &[usize], margin: f32, high: f32, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let data = (0..shape.iter().product::<usize>())
        .map(|_| {
            let m = rng.uniform_range(margin, high);
            if rng.uniform() < 0.5 {
                -m
            } else {
                m
            }
        })
        .collect();
    Tensor::from_vec(data, shape).unwrap()
}

/// A shape of rank 1 to `max_rank` with sizes 1 to `max_size`.
pub fn shape(max_rank: usize, max_size: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..=max_size, 1..=max_rank)
}

/// Two shapes that broadcast together: `b` is `a` with some axes set to 1 and some leading
/// axes dropped.
pub fn broadcastable_pair(
    max_rank: usize,
    max_size: usize,
) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(max_rank, max_size)
        .prop_flat_map(|a| {
            let rank = a.len();
            (
                Just(a),
                prop::collection::vec(any::<bool>(), rank),
                0..=rank,
            )
        })
        .prop_map(|(a, ones, drop)| {
            let b: Vec<usize> = a
                .iter()
                .zip(&ones)
                .map(|(&s, &one)| if one { 1 } else { s })
                .collect();
            (a, b[drop..].to_vec())
        })
}

/// Runs `graph` on `inputs` (made parameters) on the CPU and on the GPU, then checks that the
/// output and every input's gradient agree within `1e-5` relative and absolute, and that
/// everything stayed on its device. The gradients are those of `Σ out·u` for a fixed random `u`,
/// so that `dout = u` differs from element to element. Without a GPU the test says so and passes
/// (`ASTROGRAD_REQUIRE_GPU` makes that an error in CI).
#[cfg(feature = "wgpu")]
pub fn gpu_matches_cpu(what: &str, inputs: &[Tensor], graph: impl Fn(&[crate::Var]) -> crate::Var) {
    use astrograd_tensor::Device;
    let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() else {
        return;
    };
    let run = |device: Device| -> Vec<Tensor> {
        let vars: Vec<crate::Var> = inputs
            .iter()
            .map(|x| crate::Var::parameter(x.to(device).unwrap()))
            .collect();
        let out = graph(&vars);
        assert_eq!(
            out.value().device(),
            device,
            "{what}: the output left the {device}"
        );
        // u: (shape of out), the upstream gradient
        let u = crate::Var::constant(random(&out.shape(), 0.5, 1.5, 99).to(device).unwrap());
        out.mul(&u).unwrap().sum_all().unwrap().backward().unwrap();
        let mut results = vec![out.value().to(Device::Cpu).unwrap()];
        for v in &vars {
            let grad = v.grad().unwrap();
            assert_eq!(
                grad.device(),
                device,
                "{what}: a gradient left the {device}"
            );
            results.push(grad.to(Device::Cpu).unwrap());
        }
        results
    };
    let (cpu, on_gpu) = (run(Device::Cpu), run(gpu));
    for (i, (c, g)) in cpu.iter().zip(&on_gpu).enumerate() {
        let which = if i == 0 {
            "output".to_string()
        } else {
            format!("gradient {}", i - 1)
        };
        assert!(
            g.all_close(c, 1e-5, 1e-5),
            "{what} {which}: gpu {g} vs cpu {c}"
        );
    }
}

//! The distributions of the scenario model, drawn from a seeded `rand` generator. Normals come
//! from Box–Muller (no extra dependency), lognormals are parameterized by mean and standard
//! deviation (as the scenarios state them).

use rand::Rng;

/// Lognormal with the given mean and standard deviation (both > 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    mu: f64,
    sigma: f64,
}

impl LogNormal {
    pub fn from_mean_sd(mean: f64, sd: f64) -> Self {
        let s2 = (1.0 + (sd / mean).powi(2)).ln();
        LogNormal {
            mu: mean.ln() - s2 / 2.0,
            sigma: s2.sqrt(),
        }
    }

    pub fn from_mean_cv(mean: f64, cv: f64) -> Self {
        Self::from_mean_sd(mean, mean * cv)
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        (self.mu + self.sigma * std_normal(rng)).exp()
    }
}

/// One standard normal draw (Box–Muller; the second value is discarded so each draw uses a
/// fixed number of uniforms, which keeps common random numbers aligned).
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u is in (0, 1], so the log is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Uniform on [lo, hi].
pub fn uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A stream seed for item `index` of stream `stream` under `seed` (SplitMix64 finalizer), so
/// dial k and connect j draw the same numbers whatever policy placed them.
pub fn stream_seed(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, SeedableRng};

    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, v.sqrt())
    }

    #[test]
    fn lognormal_mean_and_sd() {
        let mut rng = SmallRng::seed_from_u64(42);
        for (mean, sd) in [(9.0, 5.0), (20.0, 5.0), (120.0, 120.0)] {
            let d = LogNormal::from_mean_sd(mean, sd);
            let xs: Vec<f64> = (0..400_000).map(|_| d.sample(&mut rng)).collect();
            let (m, s) = moments(&xs);
            assert!((m - mean).abs() / mean < 0.01, "mean {m} vs {mean}");
            assert!((s - sd).abs() / sd < 0.05, "sd {s} vs {sd}");
        }
    }

    #[test]
    fn uniform_and_normal() {
        let mut rng = SmallRng::seed_from_u64(7);
        let xs: Vec<f64> = (0..200_000).map(|_| uniform(&mut rng, 2.0, 6.0)).collect();
        let (m, _) = moments(&xs);
        assert!((m - 4.0).abs() < 0.02);
        assert!(xs.iter().all(|&x| (2.0..=6.0).contains(&x)));
        let zs: Vec<f64> = (0..200_000).map(|_| std_normal(&mut rng)).collect();
        let (m, s) = moments(&zs);
        assert!(m.abs() < 0.01 && (s - 1.0).abs() < 0.01);
    }

    #[test]
    fn stream_seeds_differ() {
        assert_ne!(stream_seed(1, 0, 0), stream_seed(1, 0, 1));
        assert_ne!(stream_seed(1, 0, 0), stream_seed(1, 1, 0));
        assert_eq!(stream_seed(3, 2, 1), stream_seed(3, 2, 1));
    }
}

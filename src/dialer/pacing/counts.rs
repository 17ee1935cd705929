//! Integer count distributions for the planner: a sum of independent Bernoullis (answers in a
//! second, agents freeing in a second) is represented by a distribution with the same mean and
//! variance, `C + P`: `C` is `floor(c)` or `ceil(c)` (the near-certain part, e.g. agents whose
//! fixed-length wrap-up ends in that second) and `P` is Poisson (the uncertain part). A plain
//! Poisson would give a wrap-up that surely ends the variance of a coin flip; a normal would
//! give counts below zero.

/// Probabilities below this are dropped from the tails.
const TAIL: f64 = 1e-7;
/// Longest pmf built (a second with more than this many answers is not plausible).
const MAX_SUPPORT: usize = 256;

/// Fill `out` with the pmf (index = count) of a count with `mean` and `var` (`var ≤ mean` for
/// Bernoulli sums; larger values are capped at `mean`).
pub fn bernoulli_sum_pmf(mean: f64, var: f64, out: &mut Vec<f64>) {
    out.clear();
    let mean = mean.max(0.0);
    let var = var.clamp(0.0, mean);
    // Poisson part lambda, certain part c = mean - lambda split between floor and ceil (the
    // mean stays exact); the split carries frac (1 - frac) of the variance, so lambda gives up
    // that much (two rounds settle it well enough).
    let mut lambda = var;
    for _ in 0..2 {
        let c = mean - lambda;
        let frac = c - c.floor();
        lambda = (var - frac * (1.0 - frac)).max(0.0);
    }
    let c = mean - lambda;
    let frac = c - c.floor();
    let base = c.floor() as usize;
    // Poisson pmf of `lambda`.
    let mut pois = [0.0f64; MAX_SUPPORT];
    let mut len = 0;
    let mut p = (-lambda).exp();
    let mut cum = 0.0;
    for (k, slot) in pois.iter_mut().enumerate() {
        *slot = p;
        cum += p;
        len = k + 1;
        if cum > 1.0 - TAIL && k as f64 >= lambda {
            break;
        }
        p *= lambda / (k as f64 + 1.0);
    }
    let total = (base + len + 1).min(MAX_SUPPORT);
    out.resize(total, 0.0);
    for (k, &pk) in pois[..len].iter().enumerate() {
        if let Some(o) = out.get_mut(base + k) {
            *o += pk * (1.0 - frac);
        }
        if let Some(o) = out.get_mut(base + k + 1) {
            *o += pk * frac;
        }
    }
    while out.len() > 1 && out.last().is_some_and(|&x| x < TAIL) {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(p: &[f64]) -> (f64, f64, f64) {
        let s: f64 = p.iter().sum();
        let m: f64 = p.iter().enumerate().map(|(k, x)| k as f64 * x).sum();
        let v: f64 = p
            .iter()
            .enumerate()
            .map(|(k, x)| (k as f64 - m).powi(2) * x)
            .sum();
        (s, m, v)
    }

    #[test]
    fn matches_mean_and_variance() {
        let mut out = Vec::new();
        for (mean, var) in [(0.0, 0.0), (0.3, 0.27), (2.0, 2.0), (3.0, 0.0), (4.6, 1.2)] {
            bernoulli_sum_pmf(mean, var, &mut out);
            let (s, m, v) = moments(&out);
            assert!((s - 1.0).abs() < 1e-5, "{mean} {var}: sum {s}");
            assert!((m - mean).abs() < 1e-4, "{mean} {var}: mean {m}");
            assert!((v - var).abs() < 0.26, "{mean} {var}: var {v}");
        }
        // Certain count: all mass on 3.
        bernoulli_sum_pmf(3.0, 0.0, &mut out);
        assert!((out[3] - 1.0).abs() < 1e-9);
    }
}

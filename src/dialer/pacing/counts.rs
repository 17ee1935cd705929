//! Integer count distributions for the planner: a sum of independent Bernoullis (answers in a
//! second, agents freeing in a second) is represented by a distribution with the same mean and
//! variance, `C + P`: `C` is `floor(c)` or `ceil(c)` (the near-certain part, e.g. agents whose
//! fixed-length wrap-up ends in that second) and `P` is Poisson (the uncertain part). A plain
//! Poisson would give a wrap-up that surely ends the variance of a coin flip; a normal would
//! give counts below zero.
//!
//! The support is sized to the count: a pmf is stored from its lowest kept count (`lo`), so
//! 1,500 ready agents cost one entry, not 1,500. Tails too thin to matter are cut, and their
//! mass is folded into the nearest kept count, so every pmf sums to 1: a fixed support of 256
//! used to drop every count above it, and with a few hundred agents the planner then saw no
//! agents and no answers at all, and lost nothing whatever it dialed.

/// Counts whose probability is below this are cut from the tails (their mass is kept).
pub const TAIL: f64 = 1e-10;

/// A count's pmf over `lo .. lo + p.len()`; sums to 1.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pmf {
    pub lo: usize,
    pub p: Vec<f64>,
}

impl Pmf {
    /// A count that is surely `k`.
    pub fn set_certain(&mut self, k: usize) {
        self.lo = k;
        self.p.clear();
        self.p.push(1.0);
    }

    pub fn hi(&self) -> usize {
        self.lo + self.p.len() - 1
    }

    pub fn mass(&self) -> f64 {
        self.p.iter().sum()
    }

    pub fn mean(&self) -> f64 {
        self.p
            .iter()
            .enumerate()
            .map(|(k, x)| (self.lo + k) as f64 * x)
            .sum()
    }

    /// Cut entries below `eps` from both ends, folding their mass into the nearest kept
    /// entry (the total stays exact; each count moves by at most the cut width).
    pub fn trim(&mut self, eps: f64) {
        let Some(first) = self.p.iter().position(|&x| x >= eps) else {
            // Everything is thin: keep the whole mass on its mean (rounded).
            let (m, s) = (self.mean(), self.mass());
            self.lo = m.max(0.0).round() as usize;
            self.p.clear();
            self.p.push(s);
            return;
        };
        // `first` exists, so some last index ≥ first does too.
        let last = self.p.iter().rposition(|&x| x >= eps).unwrap_or(first);
        let low: f64 = self.p[..first].iter().sum();
        let high: f64 = self.p[last + 1..].iter().sum();
        self.p.truncate(last + 1);
        self.p.drain(..first);
        self.lo += first;
        self.p[0] += low;
        let n = self.p.len();
        self.p[n - 1] += high;
    }
}

/// ln k! (exact sum below 32, Stirling's series above: relative error < 1e-14).
fn ln_factorial(k: usize) -> f64 {
    if k < 32 {
        return (2..=k).map(|i| (i as f64).ln()).sum();
    }
    let x = k as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
}

/// Poisson(`lambda`) pmf into `out`, built outward from the mode in log space (so a large
/// `lambda` does not underflow `exp(-lambda)`), cut where entries fall below [`TAIL`] and
/// normalized so the cut tails' mass stays in (it sits on the end entries).
fn poisson(lambda: f64, out: &mut Pmf) {
    if lambda <= 0.0 {
        out.set_certain(0);
        return;
    }
    let mode = lambda.floor() as usize;
    let pm = (-lambda + mode as f64 * lambda.ln() - ln_factorial(mode)).exp();
    // Downwards from the mode (p[k-1] = p[k] k / lambda), then upwards.
    out.p.clear();
    let mut p = pm;
    let mut k = mode;
    out.p.push(p);
    while k > 0 {
        p *= k as f64 / lambda;
        if p < TAIL {
            break;
        }
        out.p.push(p);
        k -= 1;
    }
    out.lo = mode + 1 - out.p.len();
    out.p.reverse();
    let mut p = pm;
    let mut k = mode;
    loop {
        p *= lambda / (k as f64 + 1.0);
        k += 1;
        if p < TAIL {
            break;
        }
        out.p.push(p);
    }
    // The cut tails (each below TAIL per entry, geometric beyond) join the end entries.
    let s = out.mass();
    let n = out.p.len();
    let rest = (1.0 - s).max(0.0);
    if out.lo > 0 && n > 1 {
        out.p[0] += rest / 2.0;
        out.p[n - 1] += rest / 2.0;
    } else {
        out.p[n - 1] += rest;
    }
    let s = out.mass();
    for x in &mut out.p {
        *x /= s;
    }
}

/// Fill `out` with the pmf of a count with `mean` and `var` (`var ≤ mean` for Bernoulli
/// sums; larger values are capped at `mean`). Any size: the support follows the count.
pub fn bernoulli_sum_pmf(mean: f64, var: f64, out: &mut Pmf, scratch: &mut Pmf) {
    let mean = if mean.is_finite() { mean.max(0.0) } else { 0.0 };
    let var = if var.is_finite() {
        var.clamp(0.0, mean)
    } else {
        0.0
    };
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
    poisson(lambda, scratch);
    out.lo = base + scratch.lo;
    out.p.clear();
    out.p.resize(scratch.p.len() + 1, 0.0);
    for (k, &pk) in scratch.p.iter().enumerate() {
        out.p[k] += pk * (1.0 - frac);
        out.p[k + 1] += pk * frac;
    }
    out.trim(TAIL);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(p: &Pmf) -> (f64, f64, f64) {
        let s = p.mass();
        let m = p.mean();
        let v: f64 =
            p.p.iter()
                .enumerate()
                .map(|(k, x)| ((p.lo + k) as f64 - m).powi(2) * x)
                .sum();
        (s, m, v)
    }

    #[test]
    fn matches_mean_and_variance() {
        let (mut out, mut s) = (Pmf::default(), Pmf::default());
        for (mean, var) in [(0.0, 0.0), (0.3, 0.27), (2.0, 2.0), (3.0, 0.0), (4.6, 1.2)] {
            bernoulli_sum_pmf(mean, var, &mut out, &mut s);
            let (sum, m, v) = moments(&out);
            assert!((sum - 1.0).abs() < 1e-9, "{mean} {var}: sum {sum}");
            assert!((m - mean).abs() < 1e-4, "{mean} {var}: mean {m}");
            assert!((v - var).abs() < 0.26, "{mean} {var}: var {v}");
        }
        // Certain count: all mass on 3.
        bernoulli_sum_pmf(3.0, 0.0, &mut out, &mut s);
        assert_eq!((out.lo, out.p.as_slice()), (3, &[1.0][..]));
    }

    /// The old model had a fixed support of 256: 300 ready agents, or 400 answers expected
    /// in a second, came out as a pmf of zeros, and the planner lost nothing whatever it
    /// dialed. No mass may go missing at any size.
    #[test]
    fn large_counts_keep_their_mass_and_moments() {
        let (mut out, mut s) = (Pmf::default(), Pmf::default());
        for (mean, var) in [
            (300.0, 0.0),
            (400.0, 300.0),
            (1500.0, 1500.0),
            (2000.0, 120.0),
            (900.5, 800.0),
            (20_000.0, 15_000.0),
        ] {
            bernoulli_sum_pmf(mean, var, &mut out, &mut s);
            let (sum, m, v) = moments(&out);
            assert!((sum - 1.0).abs() < 1e-9, "{mean} {var}: sum {sum}");
            assert!(
                (m - mean).abs() < 1e-3 * mean.max(1.0),
                "{mean} {var}: mean {m}"
            );
            assert!((v - var).abs() < 0.26 + 1e-3 * var, "{mean} {var}: var {v}");
            // Sized to the count: about ±6.4 sd, not the whole range from 0.
            assert!(
                out.p.len() < 20 + (14.0 * var.sqrt()) as usize,
                "{}",
                out.p.len()
            );
        }
    }

    #[test]
    fn trim_keeps_the_mass() {
        let mut p = Pmf {
            lo: 5,
            p: vec![1e-12, 0.5, 1e-13, 0.5, 1e-11],
        };
        p.trim(1e-10);
        assert_eq!(p.lo, 6);
        assert_eq!(p.p.len(), 3);
        assert!((p.mass() - (1.0 + 1e-12 + 1e-13 + 1e-11)).abs() < 1e-15);
    }

    #[test]
    fn non_finite_inputs_are_a_certain_zero() {
        let (mut out, mut s) = (Pmf::default(), Pmf::default());
        bernoulli_sum_pmf(f64::NAN, 1.0, &mut out, &mut s);
        assert_eq!((out.lo, out.p.as_slice()), (0, &[1.0][..]));
        bernoulli_sum_pmf(f64::INFINITY, f64::NAN, &mut out, &mut s);
        assert_eq!((out.lo, out.p.as_slice()), (0, &[1.0][..]));
    }
}

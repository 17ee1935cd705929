//! The predictive planner: how many new dials to place now so that the live answers they bring
//! meet free agents, under a bound on the expected share of answers that find none.
//!
//! For a set of horizons `h` (0 s up to the ring timeout) it forms two random counts:
//!
//! - `X_h`: live answers arriving within `h`: the answers already waiting for an agent
//!   (certain), plus each outstanding dial's chance of a person answering within `h` given it
//!   has rung `e` seconds unresolved (from the exact window of resolved dials), plus `n` new
//!   dials each with `P(live answer within h)`.
//! - `Y_h`: agents free by `h + agent_reach`: the ready agents, plus each agent in wrap-up
//!   (`P(wrap ends | elapsed)`) and in talk (`P(talk + mean wrap ends | elapsed)`), from the
//!   exact windows of recent talk and wrap durations; scaled by `1 - inbound pressure`.
//!
//! Both are sums of independent Bernoullis, approximated as normal; answers that find no agent
//! within the reach time are about `A_h = E[(X_h - Y_h)+]`, and the planner takes
//! `risk(n) = max_h A_h(n)` (answers are served first come first served, so a shortfall at any
//! horizon is lost). It returns the largest `n` with `risk(n) ≤ budget * L(n)`, where `L(n)` is
//! the expected number of live answers among all calls in flight and `budget` comes from the
//! abandon controller. More dials means more answers meeting agents the moment they free up,
//! so the largest feasible `n` maximizes expected connects subject to the abandon bound.

use super::window::{DialWindow, DurationWindow};

/// What the planner sees at one decision.
pub struct PlanState<'a> {
    /// Ready agents (already scaled by `1 - pressure`).
    pub ready: f64,
    /// Live answers waiting for an agent now.
    pub waiting: u32,
    /// Seconds each outstanding dial has rung (requested-not-placed ones count as 0).
    pub dials: &'a [f64],
    /// Seconds each agent in talk has talked.
    pub talking: &'a [f64],
    /// Seconds each agent in wrap-up has wrapped.
    pub wrapping: &'a [f64],
    /// `1 - inbound pressure`: the share of freed agents the campaign may count on.
    pub supply_scale: f64,
    pub agent_reach_secs: f64,
    pub budget: f64,
    /// At most this many new dials.
    pub max_new: u32,
}

/// Scratch buffers, reused between decisions (no allocation per decision once warm).
#[derive(Debug, Default, Clone)]
pub struct Planner {
    horizons: Vec<f64>,
    mu_x: Vec<f64>,
    var_x: Vec<f64>,
    mu_y: Vec<f64>,
    var_y: Vec<f64>,
    f_new: Vec<f64>,
}

impl Planner {
    pub fn new(ring_timeout_secs: f64) -> Self {
        let mut horizons = Vec::new();
        let mut h = 0.0;
        while h <= ring_timeout_secs {
            horizons.push(h);
            h += if h < 6.0 {
                1.0
            } else if h < 14.0 {
                2.0
            } else {
                3.0
            };
        }
        Planner {
            horizons,
            ..Planner::default()
        }
    }

    pub fn plan(
        &mut self,
        st: &PlanState<'_>,
        dialw: &DialWindow,
        talk: &DurationWindow,
        wrap: &DurationWindow,
    ) -> u32 {
        let k = self.horizons.len();
        for v in [
            &mut self.mu_x,
            &mut self.var_x,
            &mut self.mu_y,
            &mut self.var_y,
            &mut self.f_new,
        ] {
            v.clear();
            v.resize(k, 0.0);
        }
        let mean_wrap = wrap.mean().unwrap_or(0.0);
        let reach = st.agent_reach_secs;
        let mut lives_in_flight = f64::from(st.waiting);
        let full = dialw.buckets() as f64 + 1.0;
        for &e in st.dials {
            lives_in_flight += dialw.q_live(e, full);
            for (j, &h) in self.horizons.iter().enumerate() {
                let q = dialw.q_live(e, h);
                self.mu_x[j] += q;
                self.var_x[j] += q * (1.0 - q);
            }
        }
        for (j, &h) in self.horizons.iter().enumerate() {
            self.mu_x[j] += f64::from(st.waiting);
            self.f_new[j] = dialw.q_live(0.0, h);
            let x = h + reach;
            let mut mu = st.ready;
            let mut var = 0.0;
            for &e in st.wrapping {
                let p = wrap.p_end_within(e, x) * st.supply_scale;
                mu += p;
                var += p * (1.0 - p);
            }
            for &e in st.talking {
                let p = talk.p_end_within(e, x - mean_wrap) * st.supply_scale;
                mu += p;
                var += p * (1.0 - p);
            }
            self.mu_y[j] = mu;
            self.var_y[j] = var;
        }
        let p = dialw.p_live();
        let feasible = |n: u32| {
            let nf = f64::from(n);
            let mut risk: f64 = 0.0;
            for j in 0..k {
                let f = self.f_new[j];
                let mu = self.mu_x[j] + nf * f - self.mu_y[j];
                let var = self.var_x[j] + nf * f * (1.0 - f) + self.var_y[j];
                risk = risk.max(expected_positive_part(mu, var.sqrt()));
            }
            risk <= st.budget * (lives_in_flight + nf * p)
        };
        if st.max_new == 0 || !feasible(0) {
            return 0;
        }
        // Largest feasible n: risk grows faster than the budget line (monotone in practice).
        let (mut lo, mut hi) = (0u32, 1u32);
        while hi < st.max_new && feasible(hi) {
            lo = hi;
            hi = (hi * 2).min(st.max_new);
        }
        if hi == st.max_new && feasible(hi) {
            return hi;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if feasible(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// E[max(D, 0)] for D ~ Normal(mu, sigma²).
pub fn expected_positive_part(mu: f64, sigma: f64) -> f64 {
    if sigma < 1e-9 {
        return mu.max(0.0);
    }
    let z = mu / sigma;
    sigma * std_normal_pdf(z) + mu * std_normal_cdf(z)
}

fn std_normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Φ(z) via the complementary error function (Numerical Recipes' erfc, |error| < 1.2e-7).
pub fn std_normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_helpers() {
        assert!((std_normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((std_normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((expected_positive_part(0.0, 1.0) - 0.398_942).abs() < 1e-5);
        assert_eq!(expected_positive_part(-3.0, 0.0), 0.0);
        assert!((expected_positive_part(10.0, 0.1) - 10.0).abs() < 1e-6);
    }
}

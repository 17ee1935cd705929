//! The predictive planner: how many new dials to place now so that the live answers they bring
//! meet free agents, while the chance that the last of them finds none stays within a budget.
//!
//! Time from now is cut into slots (slot 0 = now, then 1 s slots up to `FINE_SECS`, 2 s after,
//! to the ring timeout). Per slot `j` the planner forms two random counts, each a sum of
//! independent Bernoullis represented with its exact mean and variance by
//! [`super::counts::bernoulli_sum_pmf`]:
//!
//! - `A_j`: live answers in the slot: the answers waiting now (slot 0, certain), each
//!   outstanding dial's chance of a person answering in the slot given it has rung `e` s
//!   unresolved (from the exact window of resolved dials, dials grouped by whole seconds
//!   rung), plus `n` new dials each with `P(live answer in the slot)`.
//! - `B_j`: agents those answers can reach within the reach time: ready agents (slot 0), and
//!   each agent in wrap-up (`P(wrap ends in (t_{j-1} + reach, t_j + reach] | elapsed)`) or in
//!   talk (the same for talk + mean wrap), from the exact windows of recent talk and wrap
//!   durations (the empirical hazard, not a mean); scaled by `1 - inbound pressure`.
//!
//! The idle-agent count is then a reflected walk, `I_j = max(I_{j-1} + B_j - A_j, 0)`, whose
//! distribution is carried slot by slot; the shortfall `E[(A_j - I_{j-1} - B_j)+]` summed over
//! the horizon is `lost(n)`, the expected answers that find nobody (answers that abandoned do
//! not keep claiming agents later, unlike a comparison of cumulative counts).
//!
//! The planner returns the largest `n` whose last dial still passes the marginal test
//! `lost(n) - lost(n - 1) ≤ budget · p_live`: the `n`-th dial's live answer is lost with at
//! most `budget` chance. Equalizing that marginal chance across states, rather than bounding
//! the average share of the calls in flight, puts the abandons where they buy the most
//! connects (the Lagrangian optimum); the abandon controller turns the measured rate into the
//! budget. `lost` is convex in `n`, so galloping then bisecting finds `n` in
//! `O(log n)` walks of `O(slots × counts)` each.
//!
//! Before that, with `cancel_after_secs`, dials that have rung that long are tested the
//! same way from the other side: while the worst of them (its marginal `lost` over its own
//! chance of a live answer) exceeds the budget, it is hung up ([`Planner::cancels`]) and
//! taken out of the answers in flight; one walk per age group per hang-up.

use super::counts::{bernoulli_sum_pmf, Pmf};
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
    /// Dials that have rung at least this long may be hung up when they are surplus (None:
    /// never; regulators require 15 s of ringing before giving up).
    pub cancel_after_secs: Option<f64>,
    /// How precious a lead is: a surplus dial is hung up only when its risk exceeds
    /// `(1 + lead_cost) × budget`.
    pub lead_cost: f64,
}

/// Scratch buffers, reused between decisions (no allocation per decision once warm).
#[derive(Debug, Default, Clone)]
pub struct Planner {
    slots: usize,
    /// Slot ends, seconds from now.
    bounds: Vec<f64>,
    /// Outstanding dials per whole second rung.
    by_age: Vec<u32>,
    /// Per second `j` (0 = now): answers from calls already in flight (mean, variance).
    a_mu: Vec<f64>,
    a_var: Vec<f64>,
    /// Per second: a new dial's chance of a live answer in that second.
    f_new: Vec<f64>,
    /// Per second: agents the answers of that second can reach (mean, variance).
    b_mu: Vec<f64>,
    b_var: Vec<f64>,
    /// DP scratch: distribution of idle agents, pmfs of answers and their scratch.
    idle: Pmf,
    next: Pmf,
    pa: Pmf,
    scratch: Pmf,
    /// Agents' pmf per slot: the same for every `n`.
    pb: Vec<Pmf>,
    /// `B - A` per slot, from `d_lo` (may be negative).
    pd: Vec<f64>,
    /// `(n, expected lost)` evaluated in this decision.
    memo: Vec<(u32, f64)>,
    /// Per slot: one dial's chance of a live answer in it (scratch for cancellations).
    one: Vec<f64>,
    /// Whole seconds rung of each dial the last `plan` chose to hang up.
    cancels: Vec<usize>,
}

/// At most this many surplus dials hung up per decision.
const MAX_CANCELS: usize = 16;

/// Idle-agent counts less likely than this are folded into their neighbours (their mass is
/// kept, so the walk never loses probability; it keeps the DP to the counts that matter).
const EPS: f64 = 1e-9;
/// Slots are 1 s wide up to here, 2 s after.
const FINE_SECS: f64 = 12.0;

impl Planner {
    pub fn new(ring_timeout_secs: f64) -> Self {
        // Slot j covers (bounds[j - 1], bounds[j]] seconds from now (slot 0: now): 1 s wide
        // while most answers come, 2 s after (half the work, little lost precision).
        let mut bounds = vec![0.0];
        let end = ring_timeout_secs.ceil() + 1.0;
        let mut t = 0.0;
        while t < end {
            t += if t < FINE_SECS { 1.0 } else { 2.0 };
            bounds.push(t);
        }
        Planner {
            slots: bounds.len(),
            bounds,
            ..Planner::default()
        }
    }

    /// Per-slot expectations of answers and agents freeing (independent of `n`).
    fn prepare(
        &mut self,
        st: &PlanState<'_>,
        dialw: &DialWindow,
        talk: &DurationWindow,
        wrap: &DurationWindow,
    ) {
        let k = self.slots;
        for v in [
            &mut self.a_mu,
            &mut self.a_var,
            &mut self.f_new,
            &mut self.b_mu,
            &mut self.b_var,
        ] {
            v.clear();
            v.resize(k, 0.0);
        }
        let mean_wrap = wrap.mean().unwrap_or(0.0);
        let reach = st.agent_reach_secs;
        // Slot 0: the answers waiting now. A dial's chances depend only on the whole seconds
        // it has rung, so dials are grouped by that.
        self.a_mu[0] = f64::from(st.waiting);
        self.by_age.clear();
        self.by_age.resize(dialw.buckets() + 1, 0);
        for &e in st.dials {
            let b = (e.max(0.0).floor() as usize).min(self.by_age.len() - 1);
            self.by_age[b] += 1;
        }
        for (age, &count) in self.by_age.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let c = f64::from(count);
            let e = age as f64;
            let mut prev = 0.0;
            for j in 1..k {
                let q = dialw.q_live(e, self.bounds[j] - 1.0);
                let d = (q - prev).max(0.0);
                prev = q;
                self.a_mu[j] += c * d;
                self.a_var[j] += c * d * (1.0 - d);
            }
        }
        let mut prev = 0.0;
        for j in 1..k {
            let q = dialw.q_live(0.0, self.bounds[j] - 1.0);
            self.f_new[j] = (q - prev).max(0.0);
            prev = q;
        }
        // Slot 0's answers can reach the ready agents and those freeing within the reach
        // time; slot j's, those freeing within (bounds[j - 1] + reach, bounds[j] + reach].
        self.b_mu[0] = st.ready;
        let bounds = &self.bounds;
        let add = |p_by: &dyn Fn(f64) -> f64, mu: &mut [f64], var: &mut [f64]| {
            let mut prev = 0.0;
            for j in 0..k {
                let p = p_by(bounds[j] + reach) * st.supply_scale;
                let d = (p - prev).max(0.0);
                prev = p;
                mu[j] += d;
                var[j] += d * (1.0 - d);
            }
        };
        for &e in st.wrapping {
            add(
                &|x| wrap.p_end_within(e, x),
                &mut self.b_mu,
                &mut self.b_var,
            );
        }
        for &e in st.talking {
            add(
                &|x| talk.p_end_within(e, x - mean_wrap),
                &mut self.b_mu,
                &mut self.b_var,
            );
        }
        self.pb.resize_with(k, Pmf::default);
        for j in 0..k {
            bernoulli_sum_pmf(
                self.b_mu[j],
                self.b_var[j],
                &mut self.pb[j],
                &mut self.scratch,
            );
        }
    }

    /// Expected answers that find no agent within the reach time if `n` new dials are placed
    /// now: the idle-agent count is a reflected walk, second by second (`idle' = max(idle + B
    /// - A, 0)`, the shortfall is lost), over the whole answer-time horizon.
    fn expected_lost(&mut self, n: f64) -> f64 {
        self.idle.set_certain(0);
        let mut lost = 0.0;
        for j in 0..self.slots {
            let f = self.f_new[j];
            bernoulli_sum_pmf(
                self.a_mu[j] + n * f,
                self.a_var[j] + n * f * (1.0 - f),
                &mut self.pa,
                &mut self.scratch,
            );
            let pb = &self.pb[j];
            // D = B - A over d_lo ..= d_lo + len - 1.
            let na = self.pa.p.len();
            let d_lo = pb.lo as i64 - self.pa.hi() as i64;
            self.pd.clear();
            self.pd.resize(na + pb.p.len() - 1, 0.0);
            for (ia, &pa) in self.pa.p.iter().enumerate() {
                for (ib, &pbv) in pb.p.iter().enumerate() {
                    self.pd[ib + (na - 1 - ia)] += pa * pbv;
                }
            }
            // idle' = max(idle + D, 0); the shortfall below 0 is lost.
            let lo = (self.idle.lo as i64 + d_lo).max(0);
            let hi = (self.idle.hi() as i64 + d_lo + self.pd.len() as i64 - 1).max(0);
            self.next.lo = lo as usize;
            self.next.p.clear();
            self.next.p.resize((hi - lo + 1) as usize, 0.0);
            for (ii, &pi) in self.idle.p.iter().enumerate() {
                let base = (self.idle.lo + ii) as i64 + d_lo;
                for (id, &pd) in self.pd.iter().enumerate() {
                    let v = base + id as i64;
                    let w = pi * pd;
                    if v < 0 {
                        lost += w * (-v) as f64;
                        self.next.p[0] += w;
                    } else {
                        self.next.p[(v - lo) as usize] += w;
                    }
                }
            }
            self.next.trim(EPS);
            std::mem::swap(&mut self.idle, &mut self.next);
        }
        lost
    }

    /// One dial that has rung `age` whole seconds: its chance of a live answer per slot (in
    /// `self.one`), and in all.
    fn one_dial(&mut self, dialw: &DialWindow, age: usize) -> f64 {
        self.one.clear();
        self.one.resize(self.slots, 0.0);
        let e = age as f64;
        let mut prev = 0.0;
        for j in 1..self.slots {
            let q = dialw.q_live(e, self.bounds[j] - 1.0);
            self.one[j] = (q - prev).max(0.0);
            prev = q;
        }
        prev
    }

    fn add_one(&mut self, sign: f64) {
        for j in 0..self.slots {
            let d = self.one[j];
            self.a_mu[j] += sign * d;
            self.a_var[j] += sign * d * (1.0 - d);
        }
    }

    /// Surplus dials to hang up: while some dial that has rung `min_secs` would see its
    /// live answer lost with more than `budget` chance (its marginal `lost` over its chance
    /// of a live answer), hang up the worst such. The same test a new dial must pass to be
    /// placed, so a dial is kept exactly when it would be placed again now. Removes them
    /// from the answers in flight.
    fn choose_cancels(&mut self, dialw: &DialWindow, min_secs: f64, budget: f64) {
        self.cancels.clear();
        let first = min_secs.max(0.0).ceil() as usize;
        if first >= self.by_age.len() || self.by_age[first..].iter().all(|&c| c == 0) {
            return;
        }
        while self.cancels.len() < MAX_CANCELS {
            let base = self.expected_lost(0.0);
            if base <= 0.0 {
                return;
            }
            let mut worst: Option<(usize, f64)> = None;
            for age in first..self.by_age.len() {
                if self.by_age[age] == 0 {
                    continue;
                }
                let q = self.one_dial(dialw, age);
                if q <= 0.0 {
                    continue;
                }
                self.add_one(-1.0);
                let without = self.expected_lost(0.0);
                self.add_one(1.0);
                let chance = (base - without) / q;
                if worst.is_none_or(|(_, c)| chance > c) {
                    worst = Some((age, chance));
                }
            }
            match worst {
                Some((age, chance)) if chance > budget => {
                    self.one_dial(dialw, age);
                    self.add_one(-1.0);
                    self.by_age[age] -= 1;
                    self.cancels.push(age);
                }
                _ => return,
            }
        }
    }

    /// Whole seconds rung of each dial the last `plan` chose to hang up.
    pub fn cancels(&self) -> &[usize] {
        &self.cancels
    }

    /// Expected lost answers with `n` new dials, memoized for this decision.
    fn lost(&mut self, n: u32) -> f64 {
        if let Some(&(_, l)) = self.memo.iter().find(|(m, _)| *m == n) {
            return l;
        }
        let l = self.expected_lost(f64::from(n));
        self.memo.push((n, l));
        l
    }

    /// The `n`-th new dial's live answer would be lost with at most `budget` chance: its
    /// marginal expected loss `lost(n) - lost(n - 1)` is at most `budget * p_live`.
    fn marginal_ok(&mut self, n: u32, budget_per_dial: f64) -> bool {
        self.lost(n) - self.lost(n - 1) <= budget_per_dial
    }

    /// How many new dials to place now: the largest `n` whose last dial passes
    /// [`Self::marginal_ok`] (the loss is convex in `n`, so the test is monotone).
    pub fn plan(
        &mut self,
        st: &PlanState<'_>,
        dialw: &DialWindow,
        talk: &DurationWindow,
        wrap: &DurationWindow,
    ) -> u32 {
        self.cancels.clear();
        let p = dialw.p_live();
        let may_dial = st.max_new > 0 && st.budget > 0.0;
        if p <= 0.0 || (!may_dial && st.cancel_after_secs.is_none()) {
            return 0;
        }
        self.prepare(st, dialw, talk, wrap);
        if let Some(min) = st.cancel_after_secs {
            self.choose_cancels(dialw, min, st.budget * (1.0 + st.lead_cost.max(0.0)));
        }
        if !may_dial {
            return 0;
        }
        self.memo.clear();
        let per_dial = st.budget * p;
        if !self.marginal_ok(1, per_dial) {
            return 0;
        }
        // Gallop, then bisect, between a passing `lo` and a failing `hi`.
        let (mut lo, mut hi) = (1u32, 2u32);
        while hi <= st.max_new && self.marginal_ok(hi, per_dial) {
            lo = hi;
            hi = hi.saturating_mul(2);
        }
        if hi > st.max_new {
            if self.marginal_ok(st.max_new, per_dial) {
                return st.max_new;
            }
            hi = st.max_new;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.marginal_ok(mid, per_dial) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// 25 % of dials answered by a person at 8 s, the rest no answer at 26 s; talks of
    /// 40–80 s; wrap-up 10 s.
    fn windows() -> (DialWindow, DurationWindow, DurationWindow) {
        let t = Instant::now();
        let mut d = DialWindow::new(28, 1e9, 10_000);
        let mut talk = DurationWindow::new(1e9, 10_000);
        let mut wrap = DurationWindow::new(1e9, 10_000);
        for i in 0..400 {
            if i % 4 == 0 {
                d.push(t, 8.0, true);
            } else {
                d.push(t, 26.0, false);
            }
            talk.push(t, 40.0 + f64::from(i % 41));
            wrap.push(t, 10.0);
        }
        d.refresh();
        talk.refresh();
        wrap.refresh();
        (d, talk, wrap)
    }

    fn state<'a>(ready: f64, dials: &'a [f64], talking: &'a [f64], budget: f64) -> PlanState<'a> {
        PlanState {
            ready,
            waiting: 0,
            dials,
            talking,
            wrapping: &[],
            supply_scale: 1.0,
            agent_reach_secs: 2.0,
            budget,
            max_new: 1000,
            cancel_after_secs: None,
            lead_cost: 0.0,
        }
    }

    #[test]
    fn lost_answers_follow_the_walk() {
        let (d, t, w) = windows();
        let mut pl = Planner::new(26.0);
        // Three answers waiting, nobody to take them: all three lost.
        let st = PlanState {
            waiting: 3,
            ..state(0.0, &[], &[], 0.1)
        };
        pl.prepare(&st, &d, &t, &w);
        assert!((pl.expected_lost(0.0) - 3.0).abs() < 1e-6);
        // Ten ready agents and 8 new dials (2 expected answers): almost surely none lost.
        let st = state(10.0, &[], &[], 0.1);
        pl.prepare(&st, &d, &t, &w);
        assert!(pl.expected_lost(8.0) < 1e-3);
        // One ready agent, 40 new dials (10 answers at 8 s): about 9 lost.
        let st = state(1.0, &[], &[], 0.1);
        pl.prepare(&st, &d, &t, &w);
        let l = pl.expected_lost(40.0);
        assert!((8.0..10.0).contains(&l), "{l}");
    }

    /// The planner's last dial stays within the budget and the next one would not.
    #[test]
    fn never_exceeds_the_abandon_budget() {
        let (d, t, w) = windows();
        let mut pl = Planner::new(26.0);
        let dials = [3.0, 5.0, 9.0, 12.0, 20.0];
        let talking: Vec<f64> = (0..15).map(|i| f64::from(i) * 5.0).collect();
        for budget in [0.01, 0.03, 0.1, 0.3] {
            let st = state(2.0, &dials, &talking, budget);
            let n = pl.plan(&st, &d, &t, &w);
            pl.prepare(&st, &d, &t, &w);
            let per_dial = budget * d.p_live();
            let step = |pl: &mut Planner, n: u32| {
                pl.expected_lost(f64::from(n)) - pl.expected_lost(f64::from(n - 1))
            };
            if n > 0 {
                assert!(
                    step(&mut pl, n) <= per_dial + 1e-12,
                    "budget {budget}: n {n}"
                );
            }
            assert!(
                step(&mut pl, n + 1) > per_dial,
                "budget {budget}: n {n} not the largest"
            );
        }
    }

    #[test]
    fn more_budget_more_dials_and_none_without() {
        let (d, t, w) = windows();
        let mut pl = Planner::new(26.0);
        let talking: Vec<f64> = (0..20).map(|i| f64::from(i) * 3.0).collect();
        let mut last = 0;
        for budget in [0.0, 0.02, 0.05, 0.2, 0.5] {
            let n = pl.plan(&state(3.0, &[], &talking, budget), &d, &t, &w);
            if budget == 0.0 {
                assert_eq!(n, 0);
            }
            assert!(n >= last, "budget {budget}: {n} < {last}");
            last = n;
        }
        // At least one expected answer per ready agent (p_live 0.25).
        assert!(
            last >= 12,
            "a generous budget over-dials 3 ready agents: {last}"
        );
    }

    /// Inbound pressure: counting on half the freeing agents asks for fewer dials.
    #[test]
    fn backs_off_under_inbound_pressure() {
        let (d, t, w) = windows();
        let mut pl = Planner::new(26.0);
        let talking: Vec<f64> = (0..30).map(|i| f64::from(i) * 2.0).collect();
        let free = pl.plan(&state(4.0, &[], &talking, 0.05), &d, &t, &w);
        let half = pl.plan(
            &PlanState {
                supply_scale: 0.5,
                ..state(2.0, &[], &talking, 0.05)
            },
            &d,
            &t,
            &w,
        );
        assert!(half < free, "pressure 0.5: {half} vs {free}");
        let none = pl.plan(
            &PlanState {
                supply_scale: 0.0,
                ..state(0.0, &[], &talking, 0.05)
            },
            &d,
            &t,
            &w,
        );
        assert_eq!(none, 0);
    }
}

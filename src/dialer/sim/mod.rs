//! A discrete-event simulator of an outbound campaign (virtual time, seeded RNG) that drives
//! the daemon's own pacing code, implementing the model of
//! `../shared/bench/dialer-scenarios.md`:
//!
//! - a dial ends as a person (p_human, which may drift), machine (p_machine), busy/invalid
//!   (p_busy) or no answer; a person answers after lognormal(9 s, sd 5 s), a machine after
//!   lognormal(20 s, sd 5 s), busy after uniform 2–6 s; whatever has not resolved by the ring
//!   timeout (26 s) is a no-answer then;
//! - a person waits `agent_reach_secs` (2 s) for an agent, else is abandoned; talk is
//!   lognormal (mean, CV), wrap-up fixed;
//! - AMD (optional): people hung up on as machines count as live answers and abandons;
//!   machines passed to agents occupy the agent for `machine_agent_secs` and look like people
//!   to the pacer;
//! - agents follow the schedule (leaving agents finish their call and wrap first);
//! - common random numbers: dial k and connected call j draw from their own streams seeded by
//!   (seed, k) and (seed, j), so every policy sees the same outcomes within a seed.

pub mod check;
pub mod dist;
mod run;
pub mod scenario;
pub mod stats;

pub use run::run;
pub use scenario::{Scenario, ScenarioError};
pub use stats::{PolicySummary, SeedStats};

/// Run every policy of `sc` over `seeds` seeds (`sc.first_seed ..`).
pub fn simulate(sc: &Scenario, seeds: u32) -> Result<Vec<PolicySummary>, String> {
    let mut out = Vec::new();
    for p in &sc.policies {
        let cfg = sc.pacing_config(p)?;
        let runs: Vec<SeedStats> = (0..u64::from(seeds))
            .map(|i| run(sc, cfg.clone(), sc.first_seed + i))
            .collect();
        out.push(PolicySummary::from_seeds(&sc.name, &p.name, &runs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

//! Virtual-clock tests of the engine: a harness that owns the clock and collects outputs.

mod external;
mod flows;
mod props;
mod steps;
mod strategies;

use std::time::{Duration, Instant};

use super::config::{AcdConfig, AgentConfig, MembershipConfig, QueueConfig};
use super::engine::Engine;
use super::event::{EventKind, Output};
use super::ids::{AgentId, CallId, OfferId, QueueId};

pub(super) const UNIX0: u64 = 1_700_000_000_000;

pub(super) fn agent(id: &str, skills: &[(&str, u8)], queues: &[(&str, u32)]) -> AgentConfig {
    AgentConfig {
        id: id.to_string(),
        name: format!("Agent {id}"),
        skills: skills.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
        queues: queues
            .iter()
            .map(|(q, p)| MembershipConfig {
                queue: q.to_string(),
                penalty: *p,
            })
            .collect(),
    }
}

pub(super) struct H {
    pub e: Engine,
    #[allow(dead_code)] // kept for tests that want elapsed time
    pub t0: Instant,
    pub now: Instant,
    /// Every output since the last `take`.
    pub out: Vec<Output>,
}

/// An offer as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    pub offer: OfferId,
    pub call: CallId,
    pub agent: AgentId,
    pub callback: bool,
}

impl H {
    pub fn new(queues: Vec<QueueConfig>, agents: Vec<AgentConfig>) -> H {
        let cfg = AcdConfig {
            agents,
            queues,
            ..AcdConfig::default()
        };
        H::with(cfg)
    }

    pub fn with(cfg: AcdConfig) -> H {
        let t0 = Instant::now();
        let e = Engine::new(&cfg, t0, UNIX0).expect("test config is valid");
        H {
            e,
            t0,
            now: t0,
            out: Vec::new(),
        }
    }

    pub fn a(&self, login: &str) -> AgentId {
        self.e.agent_id(login).expect("known agent")
    }

    pub fn q(&self, name: &str) -> QueueId {
        self.e.queue_id(name).expect("known queue")
    }

    pub fn collect(&mut self) {
        while let Some(o) = self.e.poll_output() {
            self.out.push(o);
        }
    }

    pub fn login(&mut self, logins: &[&str]) {
        for l in logins {
            let a = self.a(l);
            self.e.handle_agent_login(self.now, a).expect("login");
        }
        self.collect();
    }

    pub fn arrive(&mut self, call: u64, queue: &str, prio: u8) -> u32 {
        let q = self.q(queue);
        let p = self
            .e
            .handle_call_arrived(self.now, CallId(call), q, prio)
            .expect("join");
        self.collect();
        p
    }

    /// Advance the virtual clock by `secs`, firing each deadline at its own instant.
    pub fn advance(&mut self, secs: f64) {
        let end = self.now + Duration::from_secs_f64(secs);
        while let Some(t) = self.e.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.e.handle_timeout(self.now);
            self.collect();
        }
        self.now = end;
    }

    /// Offers emitted since the last call.
    pub fn offers(&mut self) -> Vec<Seen> {
        self.collect();
        let mut seen = Vec::new();
        self.out.retain(|o| match *o {
            Output::Offer {
                offer,
                call,
                agent,
                callback,
                ..
            } => {
                seen.push(Seen {
                    offer,
                    call,
                    agent,
                    callback,
                });
                false
            }
            _ => true,
        });
        seen
    }

    pub fn one_offer(&mut self) -> Seen {
        let o = self.offers();
        assert_eq!(o.len(), 1, "expected one offer, got {o:?}");
        o[0]
    }

    pub fn answer(&mut self, offer: OfferId) {
        self.e
            .handle_offer_answered(self.now, offer)
            .expect("answer");
        self.collect();
    }

    pub fn end(&mut self, call: u64) {
        self.e
            .handle_call_ended(self.now, CallId(call), super::event::Party::Caller)
            .expect("end");
        self.collect();
    }

    pub fn events(&self) -> Vec<EventKind> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.kind.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn state(&self, login: &str) -> super::agent::AgentState {
        self.e.agent_state(self.a(login)).expect("agent").clone()
    }
}

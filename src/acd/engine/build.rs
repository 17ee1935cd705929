//! Config → engine state: names resolved to dense ids, skills interned, stage masks computed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::Engine;
use crate::acd::agent::{Agent, AgentState, Member};
use crate::acd::clock::Clock;
use crate::acd::config::{AcdConfig, ConfigError, Target};
use crate::acd::ids::{AgentId, QueueId};
use crate::acd::queue::Queue;
use crate::acd::skills::{Level, Skills};
use crate::acd::step::{self, MAX_STAGES};
use crate::acd::timers::Timers;

impl Engine {
    /// Build from config. `now` and `now_unix_ms` anchor the clock mapping (see `clock`).
    /// Every agent starts LoggedOut and reachable.
    pub fn new(cfg: &AcdConfig, now: Instant, now_unix_ms: u64) -> Result<Engine, ConfigError> {
        let mut skills = Skills::default();
        let mut queues = Vec::with_capacity(cfg.queues.len());
        let mut queue_ids = HashMap::new();
        for (i, qc) in cfg.queues.iter().enumerate() {
            let id = QueueId(i as u32);
            if queue_ids.insert(qc.name.clone(), id).is_some() {
                return Err(ConfigError::DuplicateQueue(qc.name.clone()));
            }
            if qc.ring_timeout_secs == 0 || qc.ring_all_cap == 0 {
                return Err(ConfigError::Zero(qc.name.clone()));
            }
            let sorted = qc
                .steps
                .windows(2)
                .all(|w| w[0].after_secs <= w[1].after_secs);
            if !sorted || qc.steps.len() >= MAX_STAGES {
                return Err(ConfigError::StepsNotSorted(qc.name.clone()));
            }
            for s in &qc.steps {
                if let Some(l) = s.min_level.filter(|l| !(1..=10).contains(l)) {
                    return Err(ConfigError::BadLevel {
                        owner: qc.name.clone(),
                        skill: "(step min_level)".into(),
                        level: l,
                    });
                }
            }
            let required = skills.levels(&qc.name, &qc.skills)?;
            let stages = step::stages(&qc.steps);
            queues.push(Queue::new(
                qc.clone(),
                required,
                stages,
                cfg.handle_time_window,
            ));
        }
        for qc in &cfg.queues {
            let targets = qc.steps.iter().filter_map(|s| s.overflow.as_ref());
            for t in targets.chain(qc.timeout_target.as_ref()) {
                if let Target::Queue { queue } = t {
                    if !queue_ids.contains_key(queue) {
                        return Err(ConfigError::UnknownTarget {
                            queue: qc.name.clone(),
                            target: queue.clone(),
                        });
                    }
                }
            }
        }
        let mut agents = Vec::with_capacity(cfg.agents.len());
        let mut agent_ids = HashMap::new();
        for (i, ac) in cfg.agents.iter().enumerate() {
            let id = AgentId(i as u32);
            if agent_ids.insert(ac.id.clone(), id).is_some() {
                return Err(ConfigError::DuplicateAgent(ac.id.clone()));
            }
            let levels = skills.levels(&ac.id, &ac.skills)?;
            let mut seen = HashSet::new();
            let mut members = Vec::with_capacity(ac.queues.len());
            for m in &ac.queues {
                let unknown = || ConfigError::UnknownQueue {
                    agent: ac.id.clone(),
                    queue: m.queue.clone(),
                };
                let q = *queue_ids.get(&m.queue).ok_or_else(unknown)?;
                if !seen.insert(q) {
                    return Err(ConfigError::DuplicateMembership {
                        agent: ac.id.clone(),
                        queue: m.queue.clone(),
                    });
                }
                let queue = &mut queues[q.ix()];
                members.push(Member {
                    queue: q,
                    penalty: m.penalty,
                    member_ix: queue.members.len() as u32,
                    stages: step::stage_mask(&levels, &queue.required, &queue.stages),
                    skill_tenths: skill_tenths(&levels, &queue.required),
                    ready_key: None,
                });
                queue.members.push(id);
            }
            agents.push(Agent {
                login: ac.id.clone(),
                name: ac.name.clone(),
                skills: levels,
                members,
                state: AgentState::LoggedOut,
                since: now,
                reachable: true,
                busy_elsewhere: false,
                backoff_until: None,
                idle_since: now,
                calls: 0,
                talk_ms: 0,
                gen: 0,
                pending: None,
                wrapping: None,
                external: None,
            });
        }
        Ok(Engine {
            clock: Clock::new(now, now_unix_ms),
            skills,
            agents,
            agent_ids,
            queues,
            queue_ids,
            calls: HashMap::new(),
            offers: HashMap::new(),
            timers: Timers::default(),
            out: VecDeque::new(),
            next_offer: 1,
            seq: 0,
            backoff: Duration::from_secs(cfg.reject_backoff_secs),
            scratch: Vec::new(),
        })
    }
}

/// Mean proficiency over `required`, in tenths; 100 (level 10) when nothing is required.
fn skill_tenths(levels: &[Level], required: &[Level]) -> i64 {
    if required.is_empty() {
        return 100;
    }
    let sum: i64 = required
        .iter()
        .map(|&(s, _)| {
            levels
                .binary_search_by_key(&s, |&(id, _)| id)
                .map_or(0, |i| i64::from(levels[i].1))
        })
        .sum();
    sum * 10 / required.len() as i64
}

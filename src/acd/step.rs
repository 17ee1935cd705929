//! Routing steps as stages. Stage 0 is the queue's own skill requirement; stage `i` (for
//! `i >= 1`) applies once a caller has waited `steps[i-1].after_secs`. A step without
//! `min_level` or `any_with_skill` keeps the previous stage's requirement (it may only
//! overflow). Which stages an agent qualifies for is computed once per (agent, queue) as a
//! bitmask, so routing never re-evaluates skills: a waiting call sits in its stage's bucket and
//! meets only the ready agents indexed for that stage.

use std::time::Duration;

use super::config::Target;
use super::skills::{Level, SkillId};

/// At most this many stages (a `u64` bitmask per agent and queue).
pub const MAX_STAGES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Each required skill at the queue's own minimum.
    Base,
    /// Each required skill at least at this level.
    MinLevel(u8),
    /// Each required skill at any level.
    AnySkill,
}

#[derive(Debug, Clone)]
pub(crate) struct Stage {
    pub after: Duration,
    pub req: Requirement,
    pub overflow: Option<Target>,
}

pub(crate) fn stages(steps: &[super::config::StepConfig]) -> Vec<Stage> {
    let mut out = vec![Stage {
        after: Duration::ZERO,
        req: Requirement::Base,
        overflow: None,
    }];
    for s in steps {
        let prev = out[out.len() - 1].req;
        let req = if s.any_with_skill {
            Requirement::AnySkill
        } else if let Some(l) = s.min_level {
            Requirement::MinLevel(l)
        } else {
            prev
        };
        out.push(Stage {
            after: Duration::from_secs(s.after_secs),
            req,
            overflow: s.overflow.clone(),
        });
    }
    out
}

/// Does an agent with `skills` (sorted by id) meet `required` under `req`?
pub(crate) fn qualifies(skills: &[Level], required: &[Level], req: Requirement) -> bool {
    required.iter().all(|&(skill, min)| {
        let have = level(skills, skill);
        match req {
            Requirement::Base => have >= min && have > 0,
            Requirement::MinLevel(l) => have >= l.max(1),
            Requirement::AnySkill => have > 0,
        }
    })
}

/// Bit `s` set when the agent qualifies at stage `s`.
pub(crate) fn stage_mask(skills: &[Level], required: &[Level], stages: &[Stage]) -> u64 {
    stages
        .iter()
        .enumerate()
        .filter(|(_, st)| qualifies(skills, required, st.req))
        .fold(0u64, |m, (i, _)| m | (1 << i))
}

fn level(skills: &[Level], skill: SkillId) -> u8 {
    skills
        .binary_search_by_key(&skill, |&(s, _)| s)
        .map_or(0, |i| skills[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::config::StepConfig;

    fn step(after: u64, min: Option<u8>, any: bool) -> StepConfig {
        StepConfig {
            after_secs: after,
            min_level: min,
            any_with_skill: any,
            overflow: None,
        }
    }

    #[test]
    fn stages_widen_and_inherit() {
        let st = stages(&[
            step(30, Some(5), false),
            step(60, None, true),
            step(90, None, false),
        ]);
        let req: Vec<_> = st.iter().map(|s| s.req).collect();
        assert_eq!(
            req,
            vec![
                Requirement::Base,
                Requirement::MinLevel(5),
                Requirement::AnySkill,
                Requirement::AnySkill
            ]
        );
        let required = [(SkillId(0), 8)];
        assert_eq!(stage_mask(&[(SkillId(0), 9)], &required, &st), 0b1111);
        assert_eq!(stage_mask(&[(SkillId(0), 6)], &required, &st), 0b1110);
        assert_eq!(stage_mask(&[(SkillId(0), 2)], &required, &st), 0b1100);
        assert_eq!(stage_mask(&[(SkillId(1), 9)], &required, &st), 0);
    }
}

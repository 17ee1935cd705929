//! Skill names interned to small ids, so an agent's skills are a short sorted `Vec` and a
//! requirement check is a few binary searches, no string compares.

use std::collections::{BTreeMap, HashMap};

use super::config::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SkillId(pub u16);

/// (skill, proficiency 1–10), kept sorted by skill.
pub(crate) type Level = (SkillId, u8);

#[derive(Debug, Default)]
pub(crate) struct Skills {
    ids: HashMap<String, SkillId>,
}

impl Skills {
    pub fn intern(&mut self, name: &str) -> SkillId {
        let next = SkillId(self.ids.len() as u16);
        *self.ids.entry(name.to_string()).or_insert(next)
    }

    /// Resolve a name → level map, checking levels are 1–10.
    pub fn levels(
        &mut self,
        owner: &str,
        map: &BTreeMap<String, u8>,
    ) -> Result<Vec<Level>, ConfigError> {
        let mut out = Vec::with_capacity(map.len());
        for (name, &level) in map {
            if !(1..=10).contains(&level) {
                return Err(ConfigError::BadLevel {
                    owner: owner.to_string(),
                    skill: name.clone(),
                    level,
                });
            }
            out.push((self.intern(name), level));
        }
        out.sort_unstable();
        Ok(out)
    }
}

//! Numbers blocked at runtime (the API's BlockNumber), beside the config's static
//! `[dialplan] blocked` patterns: an INVITE whose caller (From user or P-Asserted-Identity)
//! is blocked is refused with 603 Decline and leaves a CDR with end cause `blocked`; a user
//! dialling a blocked number gets 403. The driver persists every change (`Output::Blocklist`)
//! and restores them at start, so a block survives a crash.

use std::collections::BTreeMap;
use std::time::Instant;

use super::CdrWrite;
use crate::call::cdr::Cdr;
use crate::sip::endpoint::{Endpoint, Output, SecurityEvent};

/// The CDR end cause of a call refused because its caller is blocked.
pub const BLOCKED_CAUSE: &str = "blocked";

/// One block in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    pub number: String,
    pub reason: String,
    pub created_unix_ms: i64,
    /// None: until unblocked.
    pub expires_unix_ms: Option<i64>,
}

impl BlockEntry {
    fn lapsed(&self, now_ms: i64) -> bool {
        self.expires_unix_ms.is_some_and(|e| e <= now_ms)
    }
}

/// A change for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockChange {
    Put(BlockEntry),
    Remove(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("`{0}` is not a number: digits with an optional leading +, at most 32")]
    BadNumber(String),
    #[error("`expires_unix_ms` {0} is in the past")]
    ExpiresInPast(i64),
    #[error("`{0}` is not blocked (ListBlocked shows the blocks in force)")]
    NotBlocked(String),
}

/// Digits with an optional leading `+` (what caller numbers look like once sanitized).
pub fn valid_number(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or(n);
    !digits.is_empty() && digits.len() <= 32 && digits.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Debug, Default)]
pub(super) struct Blocklist {
    by_number: BTreeMap<String, BlockEntry>,
}

impl Endpoint {
    /// Block `number` (replacing an earlier block of it).
    pub fn block_number(
        &mut self,
        now: Instant,
        number: &str,
        reason: &str,
        expires_unix_ms: Option<i64>,
    ) -> Result<BlockEntry, BlockError> {
        let number = number.trim();
        if !valid_number(number) {
            return Err(BlockError::BadNumber(number.to_string()));
        }
        let now_ms = self.calls.unix_ms(now);
        let expires = expires_unix_ms.filter(|e| *e != 0);
        if let Some(e) = expires.filter(|e| *e <= now_ms) {
            return Err(BlockError::ExpiresInPast(e));
        }
        let entry = BlockEntry {
            number: number.to_string(),
            reason: reason.trim().to_string(),
            created_unix_ms: now_ms,
            expires_unix_ms: expires,
        };
        tracing::info!(number, reason = %entry.reason, expires = ?expires, "number blocked");
        self.calls
            .blocked
            .by_number
            .insert(entry.number.clone(), entry.clone());
        self.out
            .push_back(Output::Blocklist(BlockChange::Put(entry.clone())));
        Ok(entry)
    }

    pub fn unblock_number(&mut self, now: Instant, number: &str) -> Result<(), BlockError> {
        let now_ms = self.calls.unix_ms(now);
        let number = number.trim();
        match self.calls.blocked.by_number.remove(number) {
            Some(e) => {
                tracing::info!(number, "number unblocked");
                self.out
                    .push_back(Output::Blocklist(BlockChange::Remove(e.number.clone())));
                if e.lapsed(now_ms) {
                    Err(BlockError::NotBlocked(number.to_string()))
                } else {
                    Ok(())
                }
            }
            None => Err(BlockError::NotBlocked(number.to_string())),
        }
    }

    /// Blocks in force at `now`, by number.
    pub fn blocked_numbers(&self, now: Instant) -> Vec<BlockEntry> {
        let now_ms = self.calls.unix_ms(now);
        self.calls
            .blocked
            .by_number
            .values()
            .filter(|e| !e.lapsed(now_ms))
            .cloned()
            .collect()
    }

    /// Blocks from the store at start (lapsed ones are dropped from memory and the store).
    pub fn restore_blocked(&mut self, now: Instant, entries: Vec<BlockEntry>) {
        let now_ms = self.calls.unix_ms(now);
        for e in entries {
            if e.lapsed(now_ms) {
                self.out
                    .push_back(Output::Blocklist(BlockChange::Remove(e.number)));
            } else {
                self.calls.blocked.by_number.insert(e.number.clone(), e);
            }
        }
    }

    /// The block in force on the first of `numbers` that has one.
    pub(super) fn blocked_entry<'a>(
        &self,
        now: Instant,
        numbers: impl IntoIterator<Item = &'a str>,
    ) -> Option<BlockEntry> {
        let now_ms = self.calls.unix_ms(now);
        numbers.into_iter().find_map(|n| {
            self.calls
                .blocked
                .by_number
                .get(n)
                .filter(|e| !e.lapsed(now_ms))
                .cloned()
        })
    }

    /// The caller is blocked: log it as a security event and leave a CDR saying so (the
    /// refused call is otherwise invisible in reports).
    pub(super) fn note_blocked_call(
        &mut self,
        now: Instant,
        entry: &BlockEntry,
        source: std::net::IpAddr,
        cdr: Cdr,
    ) {
        let at = self.calls.unix_ms(now);
        self.out.push_back(Output::Security(SecurityEvent::Blocked {
            ip: source,
            number: entry.number.clone(),
            reason: entry.reason.clone(),
        }));
        let id = format!("{:016x}", rand::Rng::random::<u64>(&mut self.rng));
        let cdr = Cdr {
            id,
            start_unix_ms: at,
            end_unix_ms: Some(at),
            end_cause: Some(BLOCKED_CAUSE.to_string()),
            hangup_side: Some("system".to_string()),
            a_sip_code: Some(603),
            ..cdr
        };
        // Complete already: written as is (there is no media to wait for).
        self.out
            .push_back(Output::Cdr(CdrWrite::Start(Box::new(cdr))));
    }
}

#[cfg(test)]
mod tests {
    use super::valid_number;

    #[test]
    fn numbers_are_digits_with_an_optional_plus() {
        assert!(valid_number("+15550001"));
        assert!(valid_number("1001"));
        assert!(!valid_number(""));
        assert!(!valid_number("+"));
        assert!(!valid_number("555-0001"));
        assert!(!valid_number("anonymous"));
        assert!(!valid_number(&"1".repeat(33)));
    }
}

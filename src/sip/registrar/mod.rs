//! The registrar (RFC 3261 §10.3), sans-IO: bindings per AOR with expiry, refresh, removal,
//! a cap per AOR, and the changes the daemon must make durable before answering.

mod contact;

pub use contact::{parse as parse_contact, user_and_host, ContactValue};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::sip::message::{header_value, list_values};
use crate::sip::rsip;
use crate::sip::Peer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarLimits {
    pub min_expires: u32,
    pub default_expires: u32,
    pub max_expires: u32,
    pub max_contacts_per_aor: usize,
}

impl Default for RegistrarLimits {
    fn default() -> Self {
        RegistrarLimits {
            min_expires: 60,
            default_expires: 3600,
            max_expires: 7200,
            max_contacts_per_aor: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub aor: String,
    /// The contact URI as the phone sent it.
    pub contact: String,
    pub instance: Option<String>,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: Instant,
    /// Where the REGISTER came from: the phone is reached there (NAT-friendly).
    pub source: Peer,
    pub user_agent: Option<String>,
}

impl Binding {
    pub fn remaining(&self, now: Instant) -> Duration {
        self.expires_at.saturating_duration_since(now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    Upsert(Binding),
    Remove { aor: String, contact: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterOk {
    pub aor: String,
    /// The AOR's bindings after the request.
    pub bindings: Vec<Binding>,
    /// What changed, for the store.
    pub changes: Vec<BindingChange>,
}

impl RegisterOk {
    /// Contact header values for the 200 OK, each with its remaining expiry.
    pub fn contact_headers(&self, now: Instant) -> Vec<String> {
        self.bindings
            .iter()
            .map(|b| {
                format!(
                    "<{}>;expires={}",
                    b.contact,
                    b.remaining(now).as_secs().max(1)
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("the authenticated user does not own this address")]
    Forbidden,
    #[error("registration interval below {min} s")]
    IntervalTooBrief { min: u32 },
    #[error("too many contacts for this address")]
    TooManyContacts,
    #[error("bad REGISTER: {0}")]
    BadRequest(&'static str),
    /// Same Call-ID with a CSeq not above the stored one (RFC 3261 §10.3 step 7).
    #[error("out-of-order REGISTER")]
    OutOfOrder,
}

impl RegisterError {
    /// Status and extra headers for the answer.
    pub fn response(&self) -> (u16, Vec<(&'static str, String)>) {
        match self {
            RegisterError::Forbidden => (403, vec![]),
            RegisterError::IntervalTooBrief { min } => {
                (423, vec![("Min-Expires", min.to_string())])
            }
            // Like Kamailio: the registrar is full for this user right now.
            RegisterError::TooManyContacts => (503, vec![]),
            RegisterError::BadRequest(_) | RegisterError::OutOfOrder => (400, vec![]),
        }
    }
}

pub struct Registrar {
    limits: RegistrarLimits,
    aors: HashMap<String, Vec<Binding>>,
    /// Expiry schedule; entries whose binding changed since are skipped when they fire.
    expiries: BTreeMap<(Instant, u64), (String, String)>,
    seq: u64,
    changes: VecDeque<BindingChange>,
}

impl Registrar {
    pub fn new(limits: RegistrarLimits) -> Self {
        Registrar {
            limits,
            aors: HashMap::new(),
            expiries: BTreeMap::new(),
            seq: 0,
            changes: VecDeque::new(),
        }
    }

    pub fn set_limits(&mut self, limits: RegistrarLimits) {
        self.limits = limits;
    }

    /// Bindings loaded at start (already converted to monotonic time by the daemon).
    pub fn restore(&mut self, now: Instant, bindings: impl IntoIterator<Item = Binding>) {
        for b in bindings {
            if b.expires_at > now {
                self.schedule(&b);
                self.aors.entry(b.aor.clone()).or_default().push(b);
            }
        }
    }

    pub fn lookup(&self, aor: &str) -> &[Binding] {
        self.aors.get(aor).map_or(&[], Vec::as_slice)
    }

    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }

    pub fn binding_count(&self) -> usize {
        self.aors.values().map(Vec::len).sum()
    }

    /// The canonical AOR of a user in our domain.
    pub fn aor_of(user: &str, domain: &str) -> String {
        format!("{user}@{domain}")
    }

    pub fn handle_register(
        &mut self,
        now: Instant,
        req: &rsip::Request,
        authenticated_user: &str,
        domain: &str,
        source: Peer,
    ) -> Result<RegisterOk, RegisterError> {
        let to = header_value(&req.headers, "To").ok_or(RegisterError::BadRequest("no To"))?;
        let (user, _host) = user_and_host(to).ok_or(RegisterError::BadRequest("To has no user"))?;
        // Phones address us by domain or by IP: the user part decides whose AOR it is.
        if user != authenticated_user {
            return Err(RegisterError::Forbidden);
        }
        let aor = Self::aor_of(&user, domain);
        let call_id = header_value(&req.headers, "Call-ID")
            .unwrap_or_default()
            .to_string();
        let cseq: u32 = header_value(&req.headers, "CSeq")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or(RegisterError::BadRequest("bad CSeq"))?;
        let header_expires: Option<u32> = match header_value(&req.headers, "Expires") {
            Some(v) => Some(
                v.trim()
                    .parse()
                    .map_err(|_| RegisterError::BadRequest("bad Expires"))?,
            ),
            None => None,
        };
        let user_agent = header_value(&req.headers, "User-Agent").map(str::to_string);
        let mut contacts = Vec::new();
        let mut star = false;
        for v in list_values(&req.headers, "Contact") {
            match parse_contact(v).map_err(RegisterError::BadRequest)? {
                None => star = true,
                Some(c) => contacts.push(c),
            }
        }
        let current = self.aors.get(&aor).cloned().unwrap_or_default();
        if star {
            if !contacts.is_empty() || header_expires != Some(0) {
                return Err(RegisterError::BadRequest(
                    "Contact: * needs Expires: 0 and no other contact",
                ));
            }
            // Step 6/7 ordering applies to each binding removed.
            if current
                .iter()
                .any(|b| b.call_id == call_id && cseq <= b.cseq)
            {
                return Err(RegisterError::OutOfOrder);
            }
            let changes: Vec<BindingChange> = current
                .iter()
                .map(|b| BindingChange::Remove {
                    aor: aor.clone(),
                    contact: b.contact.clone(),
                })
                .collect();
            self.aors.remove(&aor);
            return Ok(RegisterOk {
                aor,
                bindings: vec![],
                changes,
            });
        }
        let mut next = current.clone();
        let mut changes = Vec::new();
        for c in &contacts {
            let requested = c
                .expires
                .or(header_expires)
                .unwrap_or(self.limits.default_expires);
            if requested != 0 && requested < self.limits.min_expires {
                return Err(RegisterError::IntervalTooBrief {
                    min: self.limits.min_expires,
                });
            }
            let expires = requested.min(self.limits.max_expires);
            let existing = next.iter().position(|b| {
                b.contact == c.uri || (c.instance.is_some() && b.instance == c.instance)
            });
            if let Some(i) = existing {
                if next[i].call_id == call_id && cseq <= next[i].cseq {
                    return Err(RegisterError::OutOfOrder);
                }
            }
            if expires == 0 {
                if let Some(i) = existing {
                    let gone = next.remove(i);
                    changes.push(BindingChange::Remove {
                        aor: aor.clone(),
                        contact: gone.contact,
                    });
                }
                continue;
            }
            let binding = Binding {
                aor: aor.clone(),
                contact: c.uri.clone(),
                instance: c.instance.clone(),
                call_id: call_id.clone(),
                cseq,
                expires_at: now + Duration::from_secs(expires as u64),
                source,
                user_agent: user_agent.clone(),
            };
            match existing {
                Some(i) => {
                    if next[i].contact != binding.contact {
                        // Same device (instance) under a new URI: the old row goes.
                        changes.push(BindingChange::Remove {
                            aor: aor.clone(),
                            contact: next[i].contact.clone(),
                        });
                    }
                    next[i] = binding.clone();
                }
                None => next.push(binding.clone()),
            }
            changes.push(BindingChange::Upsert(binding));
        }
        if next.len() > self.limits.max_contacts_per_aor {
            return Err(RegisterError::TooManyContacts);
        }
        for b in &next {
            if !current.contains(b) {
                self.schedule(b);
            }
        }
        if next.is_empty() {
            self.aors.remove(&aor);
        } else {
            self.aors.insert(aor.clone(), next.clone());
        }
        Ok(RegisterOk {
            aor,
            bindings: next,
            changes,
        })
    }

    fn schedule(&mut self, b: &Binding) {
        self.seq += 1;
        self.expiries
            .insert((b.expires_at, self.seq), (b.aor.clone(), b.contact.clone()));
    }

    /// Expire bindings whose time has come; each removal is queued for `poll_change`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), (aor, contact)) = entry.remove_entry();
            let Some(list) = self.aors.get_mut(&aor) else {
                continue;
            };
            // A refreshed binding has a later expiry: this schedule entry is stale.
            if let Some(i) = list
                .iter()
                .position(|b| b.contact == contact && b.expires_at == at)
            {
                list.remove(i);
                if list.is_empty() {
                    self.aors.remove(&aor);
                }
                self.changes
                    .push_back(BindingChange::Remove { aor, contact });
            }
        }
    }

    pub fn poll_change(&mut self) -> Option<BindingChange> {
        self.changes.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expiries.keys().next().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests;

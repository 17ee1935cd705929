//! Registering to carriers (we act as a UA): REGISTER with digest when challenged, refresh
//! before expiry, retry after failures.

use std::time::{Duration, Instant};

use super::Endpoint;
use crate::call::dialog::RequestText;
use crate::call::sipstr;
use crate::sip::message::{header_value, list_values};
use crate::sip::transaction::TxKey;
use crate::sip::{rsip, Peer, TransportKind};

pub(super) struct TrunkReg {
    trunk: usize,
    call_id: String,
    tag: String,
    cseq: u32,
    /// The Contact of our last REGISTER (to find our binding in the registrar's 2xx).
    contact: String,
    next: Instant,
    pending: Option<TxKey>,
    /// Challenged once for the current attempt (a second challenge means bad credentials).
    challenged: bool,
    pub registered: bool,
}

const RETRY: Duration = Duration::from_secs(30);

/// When to refresh a registration granted for `granted_secs`: well before expiry (80 %),
/// like most UAs, however short the grant (a floor above it would let the binding lapse).
/// None for a grant of 0 (the carrier removed the binding): that is a failure, not a
/// refresh loop.
fn refresh_after(granted_secs: u64) -> Option<Duration> {
    (granted_secs > 0).then(|| Duration::from_millis(granted_secs.saturating_mul(800)))
}

/// How long the registrar granted our binding, from its 2xx (RFC 3261 §10.2.4): the
/// `expires` parameter of our own Contact (the 2xx lists every binding of the AOR, and the
/// parameter overrides the Expires header), else the Expires header, else the first
/// Contact's `expires`.
fn granted_expires(headers: &rsip::Headers, our_contact: &str) -> Option<u64> {
    let expires = |c: &str| sipstr::param(c, "expires").and_then(|e| e.parse().ok());
    let ours = sipstr::uri(our_contact);
    list_values(headers, "Contact")
        .find(|c| sipstr::uri(c).eq_ignore_ascii_case(ours))
        .and_then(expires)
        .or_else(|| header_value(headers, "Expires").and_then(|e| e.trim().parse().ok()))
        .or_else(|| list_values(headers, "Contact").next().and_then(expires))
}

impl Endpoint {
    pub(super) fn init_trunk_regs(&mut self, now: Instant) {
        let with_reg: Vec<usize> = self
            .cfg
            .trunks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.register.is_some())
            .map(|(i, _)| i)
            .collect();
        self.trunk_regs = with_reg
            .into_iter()
            .map(|i| TrunkReg {
                trunk: i,
                call_id: format!("{}@switchboard", self.new_tag()),
                tag: self.new_tag(),
                cseq: 0,
                contact: String::new(),
                next: now,
                pending: None,
                challenged: false,
                registered: false,
            })
            .collect();
    }

    /// Is trunk `name` registered right now? (For tests and status.)
    pub fn trunk_registered(&self, name: &str) -> bool {
        self.trunk_regs
            .iter()
            .any(|r| r.registered && self.cfg.trunks.get(r.trunk).is_some_and(|t| t.name == name))
    }

    pub(super) fn trunk_regs_poll_timeout(&self) -> Option<Instant> {
        self.trunk_regs
            .iter()
            .filter(|r| r.pending.is_none())
            .map(|r| r.next)
            .min()
    }

    pub(super) fn trunk_regs_handle_timeout(&mut self, now: Instant) {
        for i in 0..self.trunk_regs.len() {
            let r = &self.trunk_regs[i];
            if r.pending.is_none() && r.next <= now {
                self.trunk_regs[i].challenged = false;
                self.send_register(now, i, None);
            }
        }
    }

    fn send_register(&mut self, now: Instant, i: usize, authorization: Option<(&str, String)>) {
        let branch = self.new_branch();
        let local = self.local;
        let ua = self.cfg.user_agent.clone();
        let r = &mut self.trunk_regs[i];
        let Some(t) = self.cfg.trunks.get(r.trunk) else {
            return;
        };
        let Some(reg) = &t.register else { return };
        r.cseq += 1;
        let aor = format!("sip:{}@{}", reg.username, reg.domain);
        let ruri = format!("sip:{}", reg.domain);
        let contact = format!(
            "<sip:{}@{}:{}>",
            reg.username,
            crate::call::dialog::host(local.udp),
            local.udp.port()
        );
        let mut text = RequestText::new("REGISTER", &ruri, &local, TransportKind::Udp, &branch)
            .header("From", &format!("<{aor}>;tag={}", r.tag))
            .header("To", &format!("<{aor}>"))
            .header("Call-ID", &r.call_id)
            .header("CSeq", &format!("{} REGISTER", r.cseq))
            .header("Contact", &contact)
            .header("Expires", &reg.expires_secs.to_string())
            .header("User-Agent", &ua);
        if let Some((name, value)) = &authorization {
            text = text.header(name, value);
        }
        r.contact = contact;
        let dest = Peer::udp(t.address);
        let Some(req) = text.build(None, b"") else {
            return;
        };
        match self.txns.send_request(now, req, dest) {
            Ok(key) => self.trunk_regs[i].pending = Some(key),
            Err(e) => {
                tracing::warn!(error = %e, "trunk REGISTER not sent");
                self.trunk_regs[i].next = now + RETRY;
            }
        }
    }

    /// A response to one of our REGISTERs. False: not ours.
    pub(super) fn trunk_regs_handle_response(
        &mut self,
        now: Instant,
        key: &TxKey,
        resp: &rsip::Response,
    ) -> bool {
        let Some(i) = self
            .trunk_regs
            .iter()
            .position(|r| r.pending.as_ref() == Some(key))
        else {
            return false;
        };
        let code = resp.status_code.code();
        if code < 200 {
            return true;
        }
        self.trunk_regs[i].pending = None;
        let trunk = self.trunk_regs[i].trunk;
        let Some(t) = self.cfg.trunks.get(trunk).cloned() else {
            return true;
        };
        let Some(reg) = t.register.clone() else {
            return true;
        };
        match code {
            200..=299 => {
                let granted = granted_expires(&resp.headers, &self.trunk_regs[i].contact)
                    .unwrap_or(reg.expires_secs as u64);
                let r = &mut self.trunk_regs[i];
                r.challenged = false;
                let Some(refresh) = refresh_after(granted) else {
                    tracing::warn!(trunk = %t.name, "carrier granted Expires: 0; retrying");
                    r.registered = false;
                    r.next = now + RETRY;
                    return true;
                };
                if !r.registered {
                    tracing::info!(trunk = %t.name, expires = granted, "registered to the carrier");
                }
                r.registered = true;
                r.next = now + refresh;
            }
            401 | 407 if !self.trunk_regs[i].challenged => {
                let header = if code == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let answer_name = if code == 401 {
                    "Authorization"
                } else {
                    "Proxy-Authorization"
                };
                let challenge = header_value(&resp.headers, header).map(str::to_string);
                let cnonce = self.new_tag();
                let uri = format!("sip:{}", reg.domain);
                let answer = challenge.and_then(|c| {
                    crate::sip::auth::client::answer(
                        &c,
                        "REGISTER",
                        &uri,
                        &reg.username,
                        &reg.password,
                        &cnonce,
                        1,
                    )
                });
                self.trunk_regs[i].challenged = true;
                match answer {
                    Some(a) => self.send_register(now, i, Some((answer_name, a))),
                    None => {
                        tracing::warn!(trunk = %t.name, "carrier's challenge cannot be answered");
                        self.trunk_regs[i].next = now + RETRY;
                    }
                }
            }
            _ => {
                tracing::warn!(trunk = %t.name, code, "registration to the carrier failed; retrying");
                let r = &mut self.trunk_regs[i];
                r.registered = false;
                r.next = now + RETRY;
            }
        }
        true
    }

    pub(super) fn trunk_regs_handle_tx_timeout(&mut self, now: Instant, key: &TxKey) -> bool {
        let Some(r) = self
            .trunk_regs
            .iter_mut()
            .find(|r| r.pending.as_ref() == Some(key))
        else {
            return false;
        };
        r.pending = None;
        r.registered = false;
        r.next = now + RETRY;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_the_grant_runs_out_however_short() {
        assert_eq!(refresh_after(600), Some(Duration::from_secs(480)));
        assert_eq!(refresh_after(3), Some(Duration::from_millis(2400)));
        assert_eq!(refresh_after(1), Some(Duration::from_millis(800)));
        assert_eq!(refresh_after(0), None);
    }

    fn headers(list: &[(&str, &str)]) -> rsip::Headers {
        let mut h = rsip::Headers::default();
        for (n, v) in list {
            h.push(rsip::headers::make_header(n, v.to_string()));
        }
        h
    }

    #[test]
    fn our_contacts_expires_wins_over_the_expires_header_and_other_bindings() {
        let ours = "<sip:acme@192.0.2.1:5060>";
        let resp = headers(&[
            (
                "Contact",
                "<sip:acme@198.51.100.7:5060>;expires=3000, <sip:acme@192.0.2.1:5060>;expires=120",
            ),
            ("Expires", "600"),
        ]);
        assert_eq!(granted_expires(&resp, ours), Some(120));
        let other_only = headers(&[
            ("Contact", "<sip:acme@198.51.100.7>;expires=90"),
            ("Expires", "600"),
        ]);
        assert_eq!(granted_expires(&other_only, ours), Some(600));
        let contact_only = headers(&[("Contact", "<sip:acme@198.51.100.7>;expires=90")]);
        assert_eq!(granted_expires(&contact_only, ours), Some(90));
        assert_eq!(granted_expires(&headers(&[]), ours), None);
    }
}

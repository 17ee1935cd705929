//! Blind transfer from the API: the customer's leg stays, the other leg gets BYE, and the
//! customer is routed anew to an extension (its devices ring; the customer hears ringback),
//! an ACD queue (`queue:NAME`: they wait as a new caller, keeping caller data and IVR
//! variables) or an outside number (the dial plan's routes, like a phone dialling it). The
//! call keeps its id and its one CDR; `transferred_to` lists each target, and the journal is
//! rewritten at once so a crash keeps it. If the new destination fails, the customer is hung
//! up with that failure's cause (as Asterisk does for a blind transfer).

use std::time::Instant;

use super::control::{customer_side, CallControlError};
use super::local::App;
use super::{CallEvent, CallRef, CallTimer, CdrWrite, MediaCommand, Side};
use crate::call::dialplan::Target;
use crate::sdp::Direction;
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::Peer;

/// Where a transfer goes, checked before anything is torn down.
pub(super) enum Destination {
    Extension(String, Vec<(String, Peer)>),
    Queue(String),
    Number {
        trunk: String,
        number: String,
        contact: (String, Peer),
    },
}

impl Destination {
    fn kind(&self) -> &'static str {
        match self {
            Destination::Extension(..) => "extension",
            Destination::Queue(_) => "queue",
            Destination::Number { .. } => "number",
        }
    }
}

impl Endpoint {
    /// Blind-transfer call `uuid`: keep `keep` (None: the customer), hang up the other leg,
    /// route the kept one to `target`. Returns the kind of destination.
    pub fn transfer(
        &mut self,
        now: Instant,
        uuid: &str,
        target: &str,
        keep: Option<Side>,
    ) -> Result<&'static str, CallControlError> {
        let call = self.connected_call(uuid)?;
        let Some(c) = self.calls.calls.get(&call) else {
            return Err(CallControlError::NoCall(uuid.to_string()));
        };
        if c.consult.is_some() {
            return Err(CallControlError::Unsupported {
                call: uuid.to_string(),
                what: "transferred now",
                why: "a consultation is under way: CompleteTransfer or CancelConsult it",
            });
        }
        if keep.unwrap_or_else(|| customer_side(c)) != Side::A {
            return Err(CallControlError::Unsupported {
                call: uuid.to_string(),
                what: "transferred keeping its B side",
                why: "only the caller's leg can be kept (a callback's customer is our B leg)",
            });
        }
        if c.reinvite.is_some() {
            // Its answer would come from a leg about to go: let the offer/answer finish.
            return Err(CallControlError::Unsupported {
                call: uuid.to_string(),
                what: "transferred right now",
                why: "a re-INVITE between its sides is in progress: retry in a moment",
            });
        }
        let dest = self.destination(target)?;
        let kind = dest.kind();
        tracing::info!(call = %uuid, target, kind, "blind transfer through the API");
        self.release_b(now, call);
        if let Some(c) = self.calls.calls.get_mut(&call) {
            let list = c.cdr.transferred_to.get_or_insert_with(String::new);
            if !list.is_empty() {
                list.push(',');
            }
            list.push_str(target);
        }
        self.out.push_back(Output::Event(CallEvent::Transferred {
            call: uuid.to_string(),
            target: target.to_string(),
            destination: kind,
            kind: "blind",
        }));
        match dest {
            Destination::Extension(ext, contacts) => {
                let t = Target::Extension(ext.clone());
                self.connect_to(now, call, contacts, &ext, t);
            }
            Destination::Queue(q) => self.enter_queue(now, call, &q),
            Destination::Number {
                trunk,
                number,
                contact,
            } => {
                let t = Target::Trunk {
                    trunk,
                    number: number.clone(),
                };
                self.connect_to(now, call, vec![contact], &number, t);
            }
        }
        // The journal learns of the transfer and the new callee now (kill -9 keeps them);
        // a destination refused at once has already ended the call and written its CDR.
        if let Some(c) = self.calls.calls.get(&call) {
            let journal = Box::new(c.cdr.clone());
            self.out.push_back(Output::Cdr(CdrWrite::Start(journal)));
        }
        self.drain_transactions(now);
        Ok(kind)
    }

    /// What `target` names, if it can be reached now.
    pub(super) fn destination(&self, target: &str) -> Result<Destination, CallControlError> {
        let target = target.trim();
        if let Some(q) = target.strip_prefix("queue:") {
            let known = self.acd.engine.as_ref().and_then(|e| e.queue_id(q));
            return match known {
                Some(_) => Ok(Destination::Queue(q.to_string())),
                None => Err(CallControlError::NoTarget(target.to_string())),
            };
        }
        if self.cfg.users.contains_key(target) {
            let contacts = self.contacts_of(target);
            if contacts.is_empty() {
                return Err(CallControlError::Unreachable {
                    target: target.to_string(),
                    why: "the extension has no registered device".into(),
                });
            }
            return Ok(Destination::Extension(target.to_string(), contacts));
        }
        // An outside number: the first route whose pattern matches. The API's control scope
        // stands in for a user's route permissions.
        let route = self
            .cfg
            .dialplan
            .routes
            .iter()
            .find(|r| r.pattern.matches(target))
            .ok_or_else(|| CallControlError::NoTarget(target.to_string()))?;
        let t = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.name == route.trunk)
            .ok_or_else(|| CallControlError::Unreachable {
                target: target.to_string(),
                why: format!("route trunk `{}` is not configured", route.trunk),
            })?;
        let rest = target.get(route.strip.min(target.len())..).unwrap_or("");
        let number = format!("{}{rest}", route.prepend);
        let ruri = format!(
            "sip:{number}@{}:{}",
            crate::call::dialog::host(t.address),
            t.address.port()
        );
        Ok(Destination::Number {
            trunk: t.name.clone(),
            number,
            contact: (ruri, Peer::udp(t.address)),
        })
    }

    /// Hang up the B leg and forget it, leaving the caller answered by us, unbridged (what
    /// a call we answered looks like before its destination is rung).
    pub(super) fn release_b(&mut self, now: Instant, call: CallRef) {
        self.stop_hold(now, call);
        // The agent's part is over: the ACD counts it ended by the agent (wrap-up follows).
        self.acd_call_over(now, call, "callee");
        if let Some(s) = self.monitor_over(call) {
            self.end_supervisor(now, s);
        }
        self.bye(now, call, Side::B);
        // The old leg's session timer goes with it (the new leg arms its own on answer).
        self.clear_call_timer(call, CallTimer::RefreshB);
        self.clear_call_timer(call, CallTimer::ExpireB);
        let Some(c) = self.calls.calls.get_mut(&call) else {
            return;
        };
        for f in c.forks.drain(..) {
            self.calls
                .dialogs
                .remove(&(f.dialog.call_id, f.dialog.local_tag));
        }
        c.b.dialog = None;
        c.b.last_answer = None;
        c.session[Side::B as usize] = None;
        c.local = true;
        c.app = App::Bridge;
        if let Some(codec) = c.codec {
            c.b.offered = vec![codec];
        }
        let old_callee = c.cdr.callee.clone();
        let was_busy = c.busy_exts.iter().rposition(|e| *e == old_callee);
        if let Some(i) = was_busy {
            c.busy_exts.remove(i);
            self.ext_call(now, &old_callee, -1);
        }
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: false }));
        // Nothing more goes to the old leg's address; the new leg's answer sets the next.
        self.media_remote(call, Side::B, Direction::SendRecv, None, None, None);
        self.acd_pump(now);
    }
}

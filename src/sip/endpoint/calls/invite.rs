//! A new INVITE: who calls (trunk source or digest), blocked numbers, the dial plan, SDP,
//! then the B legs (one per registered device, or the trunk).

use std::collections::HashMap;
use std::time::Instant;

use super::{
    ALeg, BSide, Call, CallEvent, CallRef, CdrWrite, Fork, ForkState, MediaCommand, Purpose, Side,
    State,
};
use crate::call::cdr::Cdr;
use crate::call::dialog::Dialog;
use crate::call::dialplan::{Dialplan, Origin, Target};
use crate::call::sipstr;
use crate::sdp::{self, LocalMedia, OriginState};
use crate::sip::endpoint::digest::Authn;
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::message::{header_value, header_values, list_values};
use crate::sip::registrar::Registrar;
use crate::sip::transaction::TxKey;
use crate::sip::{rsip, Peer};

impl Endpoint {
    pub(in crate::sip::endpoint) fn handle_invite(
        &mut self,
        now: Instant,
        key: TxKey,
        req: rsip::Request,
        source: Peer,
        dest: Peer,
    ) {
        // RFC 3261 §8.2.6.1: a 100 at once stops the caller's retransmissions.
        let trying = crate::sip::message::response_to(&req, 100, None);
        self.send_response(now, &key, trying);

        let origin = match self.identify_caller(now, &key, &req, source) {
            Some(o) => o,
            None => return,
        };
        let from = header_value(&req.headers, "From").unwrap_or("").to_string();
        let caller_number = match &origin {
            Origin::User(u) => u.clone(),
            Origin::Trunk(_) => {
                sipstr::number(sipstr::user(sipstr::uri(&from)).unwrap_or("anonymous"))
            }
        };
        let raw_dialled = req.uri.auth.as_ref().map(|a| a.user.as_str()).unwrap_or("");
        let dialled = match sipstr::dial_string(raw_dialled) {
            Ok(d) => d,
            Err(why) => {
                tracing::info!(caller = %caller_number, dialled = %sipstr::sanitize(raw_dialled), error = %why, "call refused: not a dial string");
                return self.refuse(now, &key, &req, why.code(), &[]);
            }
        };
        let users = &self.cfg.users;
        let permissions = &self.cfg.permissions;
        let ivr_ext = &self.cfg.ivr.extensions;
        let dp = Dialplan {
            plan: &self.cfg.dialplan,
            is_extension: &|e| users.contains_key(e),
            permissions: &|u| permissions.get(u).cloned().unwrap_or_default(),
            ivr_extensions: &|e| ivr_ext.get(e).cloned(),
        };
        if dp.is_blocked(&caller_number) {
            tracing::info!(caller = %caller_number, "call refused: caller is on the blocked list");
            return self.refuse(now, &key, &req, 603, &[]);
        }
        // Runtime blocks (BlockNumber): the From user or the asserted identity.
        let asserted = header_value(&req.headers, "P-Asserted-Identity")
            .and_then(|v| sipstr::user(sipstr::uri(v)))
            .map(sipstr::number);
        let numbers = std::iter::once(caller_number.as_str()).chain(asserted.as_deref());
        if let Some(entry) = self.blocked_entry(now, numbers) {
            tracing::warn!(security = true, caller = %caller_number, blocked = %entry.number, reason = %entry.reason, source = %source.addr, "call refused with 603: caller is blocked");
            let trunk = match &origin {
                Origin::Trunk(t) => Some(t.clone()),
                Origin::User(_) => None,
            };
            let cdr = Cdr {
                a_call_id: header_value(&req.headers, "Call-ID")
                    .unwrap_or("")
                    .to_string(),
                direction: if trunk.is_some() {
                    "inbound"
                } else {
                    "internal"
                }
                .to_string(),
                caller: caller_number.clone(),
                callee: dialled.clone(),
                trunk,
                ..Default::default()
            };
            self.note_blocked_call(now, &entry, source.addr.ip(), cdr);
            return self.refuse(now, &key, &req, 603, &[]);
        }
        let feature = match &origin {
            Origin::User(u) => self.feature_code(u, &dialled),
            Origin::Trunk(_) => None,
        };
        let routed = match &feature {
            Some(_) => Ok(Target::Feature),
            None => dp.route(&origin, &dialled),
        };
        let target = match routed {
            Ok(t) => t,
            Err(no) => {
                tracing::info!(caller = %caller_number, dialled = %dialled, code = no.code, "call refused: {}", no.why);
                return self.refuse(now, &key, &req, no.code, &[]);
            }
        };
        // A blocked destination (as dialled, or as routed to a trunk) is refused with 403.
        let routed_number = match &target {
            Target::Trunk { number, .. } => Some(number.as_str()),
            _ => None,
        };
        let dests = std::iter::once(dialled.as_str()).chain(routed_number);
        if let Some(entry) = self.blocked_entry(now, dests) {
            tracing::warn!(security = true, caller = %caller_number, dialled = %dialled, blocked = %entry.number, "call refused with 403: destination is blocked");
            return self.refuse(now, &key, &req, 403, &[]);
        }
        if self.calls.len() >= self.cfg.max_calls {
            tracing::warn!(max = self.cfg.max_calls, "call refused: max_calls reached");
            return self.refuse(now, &key, &req, 503, &[("Retry-After", "5".into())]);
        }

        // RFC 4028 §8: refuse an interval below our minimum.
        let se = header_value(&req.headers, "Session-Expires").and_then(sipstr::session_expires);
        if let (Some((n, _)), Some(_)) = (se, self.cfg.session_expires) {
            if n < self.cfg.min_se {
                return self.refuse(
                    now,
                    &key,
                    &req,
                    422,
                    &[("Min-SE", self.cfg.min_se.to_string())],
                );
            }
        }

        // SDP: we need the caller's offer (late-offer INVITEs are refused, documented).
        let prefs = self.cfg.codecs.clone();
        let negotiated = match sdp::parse(&req.body) {
            Err(e) => Err((
                e.to_string(),
                "399 switchboard \"an SDP offer is required\"",
            )),
            Ok(offer) => match sdp::offered_audio(&offer, &prefs) {
                Ok(o) => Ok((offer, o)),
                Err(e) => Err((e.to_string(), e.warning())),
            },
        };
        let (offer, offered) = match negotiated {
            Ok(x) => x,
            Err((why, warning)) => {
                tracing::info!(error = %why, "call refused with 488");
                return self.refuse(now, &key, &req, 488, &[("Warning", warning.into())]);
            }
        };

        // The B side: one fork per registered device, or the trunk.
        let (targets, direction, trunk_name, callee) = match &target {
            Target::Ivr(_) | Target::Queue(_) | Target::Feature => {
                let (dir, trunk) = match &origin {
                    Origin::Trunk(t) => ("inbound", Some(t.clone())),
                    Origin::User(_) => ("internal", None),
                };
                let callee = match &target {
                    Target::Ivr(menu) => format!("ivr:{menu}"),
                    Target::Queue(q) => format!("queue:{q}"),
                    _ => dialled.clone(),
                };
                (Vec::new(), dir, trunk, callee)
            }
            Target::Extension(ext) => {
                let contacts = self.contacts_of(ext);
                if contacts.is_empty() {
                    tracing::info!(callee = %ext, "call refused: extension not registered");
                    return self.refuse(now, &key, &req, 480, &[]);
                }
                let dir = if matches!(origin, Origin::Trunk(_)) {
                    "inbound"
                } else {
                    "internal"
                };
                let trunk = match &origin {
                    Origin::Trunk(t) => Some(t.clone()),
                    Origin::User(_) => None,
                };
                (contacts, dir, trunk, ext.clone())
            }
            Target::Trunk { trunk, number } => {
                let Some(t) = self.cfg.trunks.iter().find(|t| t.name == *trunk) else {
                    return self.refuse(now, &key, &req, 404, &[]);
                };
                let ruri = format!(
                    "sip:{number}@{}:{}",
                    crate::call::dialog::host(t.address),
                    t.address.port()
                );
                (
                    vec![(ruri, Peer::udp(t.address))],
                    "outbound",
                    Some(trunk.clone()),
                    number.clone(),
                )
            }
        };

        let Some((a_port, b_port)) = self.calls.ports.take_pair() else {
            tracing::warn!("call refused: no free RTP ports");
            return self.refuse(now, &key, &req, 503, &[]);
        };

        let call = self.calls.next;
        self.calls.next += 1;
        let uuid = format!("{:016x}", rand::Rng::random::<u64>(&mut self.rng));
        let a_tag = self.new_tag();
        let a_dialog = Dialog {
            call_id: header_value(&req.headers, "Call-ID")
                .unwrap_or("")
                .to_string(),
            local_tag: a_tag.clone(),
            remote_tag: sipstr::tag(&from).map(str::to_string),
            local_uri: sipstr::without_tag(header_value(&req.headers, "To").unwrap_or("")),
            remote_uri: sipstr::without_tag(&from),
            local_cseq: 0,
            remote_target: header_value(&req.headers, "Contact")
                .map(|c| sipstr::uri(c).to_string())
                .unwrap_or_else(|| req.uri.to_string()),
            route_set: header_values(&req.headers, "Record-Route")
                .map(str::to_string)
                .collect(),
            peer: dest,
        };

        let media_ip = self.cfg.media_address;
        let mut b_origin =
            OriginState::new(rand::Rng::random::<u32>(&mut self.rng) as u64, media_ip);
        let b_local = LocalMedia {
            addr: media_ip,
            port: b_port,
            ptime: Some(self.cfg.ptime_ms),
        };
        let te = if self.cfg.telephone_event {
            offered.telephone_event
        } else {
            None
        };
        let b_offer = sdp::build_offer(
            &mut b_origin,
            &b_local,
            &offered.codecs,
            te,
            offered.direction,
        );
        let b_body = b_offer.to_bytes();

        let from_uri = self.presentation(&origin, &target, &caller_number, &from);
        let to_uri = |ruri: &str| match &target {
            Target::Extension(ext) => format!("<sip:{ext}@{}>", self.cfg.domain),
            _ => format!("<{ruri}>"),
        };
        let to_uris: Vec<String> = targets.iter().map(|(r, _)| to_uri(r)).collect();
        let (forks, fork_reqs) = self.make_forks(&targets, &to_uris, &from_uri, &b_body);

        let start_ms = self.calls.unix_ms(now);
        let cdr = Cdr {
            id: uuid.clone(),
            a_call_id: a_dialog.call_id.clone(),
            b_call_id: forks.first().map(|f| f.dialog.call_id.clone()),
            direction: direction.to_string(),
            caller: caller_number.clone(),
            callee: callee.clone(),
            trunk: trunk_name,
            start_unix_ms: start_ms,
            ..Default::default()
        };
        let a_origin = OriginState::new(rand::Rng::random::<u32>(&mut self.rng) as u64, media_ip);
        let session_a = match (self.cfg.session_expires, se) {
            (Some(ours), Some((theirs, uas_refreshes))) => Some((theirs.min(ours), uas_refreshes)),
            (Some(ours), None)
                if list_values(&req.headers, "Supported")
                    .any(|v| v.eq_ignore_ascii_case("timer")) =>
            {
                Some((ours, false))
            }
            _ => None,
        };
        let c = Call {
            uuid: uuid.clone(),
            state: State::Ringing,
            a: ALeg {
                key: key.clone(),
                dialog: a_dialog.clone(),
                invite: Some(req),
                origin: a_origin,
                port: a_port,
                answer: None,
                remote_sdp_version: offer.origin.session_version,
                last_offer: Some(offer),
                ok_bytes: None,
                ok_interval: self.cfg.timers.t1,
            },
            b: BSide {
                port: b_port,
                origin: b_origin,
                offered: offered.codecs.clone(),
                telephone_event: te,
                dialog: None,
                last_answer: None,
            },
            forks,
            codec: None,
            reinvite: None,
            session: [session_a, None],
            deadlines: HashMap::new(),
            cdr: cdr.clone(),
            // Set from each side's SDP by media_remote.
            hold: [false; 2],
            local_sdp: [None, Some(b_body.clone())],
            app: super::local::App::Bridge,
            local: false,
            vars: Vec::new(),
            play_id: 0,
            busy_exts: Vec::new(),
            monitored_by: None,
            present: None,
            acd_id: None,
            api_hold: None,
            consult: None,
            rec: super::recording::CallRecording::routed(match (&origin, &target) {
                (Origin::User(_), Target::Trunk { .. }) => self
                    .cfg
                    .dialplan
                    .routes
                    .iter()
                    .find(|r| r.pattern.matches(&dialled))
                    .and_then(|r| r.recording),
                _ => None,
            }),
            priority: match &origin {
                Origin::Trunk(_) => self
                    .cfg
                    .dialplan
                    .inbound
                    .iter()
                    .find(|i| i.number.matches(&dialled))
                    .map_or(0, |i| i.priority),
                Origin::User(_) => 0,
            },
        };
        self.calls
            .dialogs
            .insert((a_dialog.call_id.clone(), a_tag), (call, Side::A));
        for f in &c.forks {
            self.calls.dialogs.insert(
                (f.dialog.call_id.clone(), f.dialog.local_tag.clone()),
                (call, Side::B),
            );
        }
        self.calls.invites.insert(key, call);
        self.calls.calls.insert(call, c);
        tracing::info!(call = %uuid, caller = %caller_number, callee = %callee, forks = fork_reqs.len(), "call started");
        self.out
            .push_back(Output::Cdr(CdrWrite::Start(Box::new(cdr))));
        self.out.push_back(Output::Event(CallEvent::Created {
            call: uuid,
            caller: caller_number,
            callee,
        }));
        self.out.push_back(Output::Media(MediaCommand::Open {
            call,
            a_port,
            b_port,
        }));
        self.media_remote(
            call,
            Side::A,
            offered.direction,
            offered.remote,
            offered.remote_rtcp,
            offered.telephone_event,
        );
        if let Origin::User(u) = &origin {
            if let Some(c) = self.calls.calls.get_mut(&call) {
                c.busy_exts.push(u.clone());
            }
            self.ext_call(now, u, 1);
        }
        let local = match target {
            Target::Ivr(menu) => Some(super::local::Local::Ivr(menu)),
            Target::Queue(q) => Some(super::local::Local::Queue(q)),
            Target::Feature => {
                let ext = match &origin {
                    Origin::User(u) => u.clone(),
                    Origin::Trunk(_) => String::new(),
                };
                let f = feature.expect("Target::Feature comes only from a feature code");
                if let crate::sip::endpoint::acd::Feature::Monitor(agent) = &f {
                    let target = self
                        .may_monitor(&ext)
                        .then(|| self.call_of_agent(agent))
                        .flatten();
                    if target.is_none() {
                        tracing::info!(supervisor = %ext, agent = %agent, "monitoring refused (no permission, or the agent is on no call)");
                    }
                    Some(super::local::Local::Monitor(target))
                } else {
                    let prompt = self.apply_feature(now, &ext, &f);
                    Some(super::local::Local::Feature(prompt))
                }
            }
            _ => None,
        };
        if let Some(what) = local {
            // We answer it ourselves; a B side comes later (an extension or an agent).
            return self.answer_locally(now, call, what);
        }
        self.send_forks(now, call, fork_reqs);
        let ring = self.cfg.ring_timeout;
        self.set_call_timer(call, super::CallTimer::Ring, now + ring);
    }

    /// Every registered device of an extension: (request URI, where to send).
    pub(super) fn contacts_of(&self, ext: &str) -> Vec<(String, Peer)> {
        let aor = Registrar::aor_of(ext, &self.cfg.domain);
        self.registrar
            .lookup(&aor)
            .iter()
            .map(|b| (sipstr::uri(&b.contact).to_string(), b.source))
            .collect()
    }

    /// The From we present to the callee: a trunk's caller ID for users calling out, the
    /// user's own number and name inside, the carrier's caller for inbound calls.
    pub(super) fn presentation(
        &self,
        origin: &Origin,
        target: &Target,
        caller_number: &str,
        from: &str,
    ) -> String {
        let (from_number, from_name) = match (origin, target) {
            (Origin::User(u), Target::Trunk { trunk, .. }) => {
                let t = self.cfg.trunks.iter().find(|t| t.name == *trunk);
                (
                    t.and_then(|t| t.caller_id.clone())
                        .unwrap_or_else(|| u.clone()),
                    t.and_then(|t| t.caller_name.clone())
                        .or_else(|| self.cfg.display_names.get(u).cloned()),
                )
            }
            (Origin::User(u), _) => (u.clone(), self.cfg.display_names.get(u).cloned()),
            (Origin::Trunk(_), _) => (
                caller_number.to_string(),
                sipstr::display_name(from).map(sipstr::sanitize),
            ),
        };
        let domain = &self.cfg.domain;
        match &from_name {
            Some(n) if !n.is_empty() => format!("\"{n}\" <sip:{from_number}@{domain}>"),
            _ => format!("<sip:{from_number}@{domain}>"),
        }
    }

    /// One INVITE per target (its own Call-ID and tags), offering `body`.
    pub(super) fn make_forks(
        &mut self,
        targets: &[(String, Peer)],
        to_uris: &[String],
        from_uri: &str,
        body: &[u8],
    ) -> (Vec<Fork>, Vec<(usize, rsip::Request, Peer)>) {
        let mut forks = Vec::new();
        let mut fork_reqs = Vec::new();
        for (i, ((ruri, peer), to_uri)) in targets.iter().zip(to_uris).enumerate() {
            let branch = self.new_branch();
            let call_id = format!("{}-{i}@switchboard", self.new_tag());
            let dialog = Dialog {
                call_id,
                local_tag: self.new_tag(),
                remote_tag: None,
                local_uri: from_uri.to_string(),
                remote_uri: to_uri.clone(),
                local_cseq: 0,
                remote_target: ruri.clone(),
                route_set: Vec::new(),
                peer: *peer,
            };
            let mut dialog = dialog;
            let mut text = dialog.request("INVITE", &self.local, &branch, &self.cfg.user_agent);
            text = text
                .header("Allow", &crate::sip::uas::allow_header())
                .header("Supported", "timer");
            if let Some(se) = self.cfg.session_expires {
                text = text
                    .header("Session-Expires", &format!("{se};refresher=uac"))
                    .header("Min-SE", &self.cfg.min_se.to_string());
            }
            let Some(invite) = text.build(Some("application/sdp"), body) else {
                continue;
            };
            fork_reqs.push((forks.len(), invite.clone(), *peer));
            forks.push(Fork {
                key: TxKey(std::sync::Arc::from("")),
                dialog,
                invite,
                state: ForkState::Calling,
                cancel_pending: false,
                final_code: None,
                auth_tried: false,
            });
        }
        (forks, fork_reqs)
    }

    /// Send the forks' INVITEs and remember their transactions.
    pub(super) fn send_forks(
        &mut self,
        now: Instant,
        call: CallRef,
        fork_reqs: Vec<(usize, rsip::Request, Peer)>,
    ) {
        for (i, invite, peer) in fork_reqs {
            if let Some(k) = self.send_client(now, call, Purpose::Invite(i), invite, peer) {
                if let Some(f) = self
                    .calls
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.forks.get_mut(i))
                {
                    f.key = k;
                }
            }
        }
    }

    /// Trunk by source address, else a local user by digest (407 challenge first).
    fn identify_caller(
        &mut self,
        now: Instant,
        key: &TxKey,
        req: &rsip::Request,
        source: Peer,
    ) -> Option<Origin> {
        if let Some(t) = self.cfg.trunks.iter().find(|t| t.accepts_from(source.addr)) {
            return Some(Origin::Trunk(t.name.clone()));
        }
        match self.authenticate(now, req, "Proxy-Authorization", source) {
            Authn::User(u) => Some(Origin::User(u)),
            Authn::Challenge { stale } => {
                let challenges =
                    self.challenges(now, stale, "Proxy-Authenticate", source.addr.ip());
                // Statelessly, like REGISTER's 401: a source that never ACKs (a forged or
                // scanning one) gets one answer, not a retransmission train.
                let resp = self.answer(req, 407, &challenges);
                if let Err(e) = self.txns.respond_statelessly(key, resp) {
                    tracing::debug!(error = %e, "challenge not sent");
                }
                None
            }
            Authn::Refused => {
                self.refuse(now, key, req, 403, &[]);
                None
            }
        }
    }

    /// A final non-2xx answer to a new INVITE (the transaction absorbs the ACK).
    pub(in crate::sip::endpoint) fn refuse(
        &mut self,
        now: Instant,
        key: &TxKey,
        req: &rsip::Request,
        code: u16,
        extra: &[(&str, String)],
    ) {
        let resp = self.answer(req, code, extra);
        self.send_response(now, key, resp);
    }
}

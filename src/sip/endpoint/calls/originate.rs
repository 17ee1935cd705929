//! Calls we place ourselves to a phone (we are the UAC of the call's A side): the agent
//! leg of a queued callback or of a click-to-call, and a supervisor's phone rung for
//! monitoring started from the API. Once the phone answers, `agent_first_response` hands the call to what it is for.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;

use super::local::App;
use super::{ALeg, BSide, Call, CallRef, MediaCommand, Purpose, Side, State};
use crate::call::cdr::Cdr;
use crate::sdp::{self, Codec, Direction, LocalMedia, OriginState};
use crate::sip::endpoint::{Endpoint, Output};
use crate::sip::Peer;

/// What to place.
pub(super) struct Origination {
    /// The extension rung (for the CDR) and the device to ring.
    pub phone: String,
    pub contact: (String, Peer),
    /// Who the phone is shown as calling.
    pub from_number: String,
    pub app: App,
    pub direction: &'static str,
    pub trunk: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub acd_id: Option<u64>,
    pub priority: u8,
    /// Offer only these (a leg that will be bridged to a call with its codec agreed);
    /// None: every configured codec.
    pub codecs: Option<Vec<Codec>>,
    /// The CDR's caller and callee when they are not (`from_number`, `phone`): a
    /// click-to-call is the agent calling the customer.
    pub cdr_parties: Option<(String, String)>,
    /// Ask the phone to pick up by itself (an agent-first campaign dial: the agent is
    /// logged in waiting for exactly this).
    pub auto_answer: bool,
}

impl Endpoint {
    /// Ring a phone with our offer of every configured codec; the call's A side is it.
    pub(super) fn originate(
        &mut self,
        now: Instant,
        o: Origination,
    ) -> Result<CallRef, &'static str> {
        self.originate_with(now, o, None, Purpose::AgentFirst)
            .map(|(call, _)| call)
    }

    /// `originate` with our own To (None: the phone at our domain) and the purpose its
    /// responses go to; also returns the INVITE sent (for a later CANCEL or auth retry).
    pub(super) fn originate_with(
        &mut self,
        now: Instant,
        o: Origination,
        to: Option<String>,
        purpose: Purpose,
    ) -> Result<(CallRef, crate::sip::rsip::Request), &'static str> {
        let first = o.contact.clone();
        let phone = o.phone.clone();
        let Some((a_port, b_port)) = self.calls.ports.take_pair() else {
            return Err("no free RTP ports");
        };
        let media_ip = self.cfg.media_address;
        let codecs: Vec<Codec> = o.codecs.clone().unwrap_or_else(|| {
            self.cfg
                .codecs
                .iter()
                .map(|n| Codec {
                    name: *n,
                    pt: n.static_pt(),
                })
                .collect()
        });
        let te = self.cfg.telephone_event.then_some(101);
        let mut a_origin =
            OriginState::new(rand::Rng::random::<u32>(&mut self.rng) as u64, media_ip);
        let local = LocalMedia {
            addr: media_ip,
            port: a_port,
            ptime: Some(self.cfg.ptime_ms),
        };
        let body =
            sdp::build_offer(&mut a_origin, &local, &codecs, te, Direction::SendRecv).to_bytes();
        let from_uri = format!("<sip:{}@{}>", o.from_number, self.cfg.domain);
        let to_uri = to.unwrap_or_else(|| format!("<sip:{phone}@{}>", self.cfg.domain));
        let (mut forks, mut reqs) =
            self.make_forks(std::slice::from_ref(&first), &[to_uri], &from_uri, &body);
        let (Some(fork), Some((_, mut invite, peer))) = (forks.pop(), reqs.pop()) else {
            self.calls.ports.give_back(a_port);
            self.calls.ports.give_back(b_port);
            return Err("INVITE not built");
        };
        if o.auto_answer {
            for (name, value) in super::campaign::AUTO_ANSWER {
                invite.headers.push(crate::sip::rsip::headers::make_header(
                    name,
                    value.to_string(),
                ));
            }
        }
        let call = self.calls.next;
        self.calls.next += 1;
        let uuid = format!("{:016x}", rand::Rng::random::<u64>(&mut self.rng));
        let b_origin = OriginState::new(rand::Rng::random::<u32>(&mut self.rng) as u64, media_ip);
        let (caller, callee) = o
            .cdr_parties
            .clone()
            .unwrap_or_else(|| (o.from_number.clone(), phone.clone()));
        let cdr = Cdr {
            id: uuid.clone(),
            a_call_id: fork.dialog.call_id.clone(),
            direction: o.direction.into(),
            caller,
            callee,
            trunk: o.trunk.clone(),
            start_unix_ms: self.calls.unix_ms(now),
            queue: o.queue.clone(),
            agent: o.agent.clone(),
            ..Default::default()
        };
        let c = Call {
            uuid: uuid.clone(),
            state: State::Ringing,
            a: ALeg {
                key: fork.key.clone(),
                dialog: fork.dialog.clone(),
                invite: None,
                origin: a_origin,
                port: a_port,
                answer: Some(Bytes::from(body.to_vec())),
                remote_sdp_version: 0,
                last_offer: None,
                ok_bytes: None,
                ok_interval: self.cfg.timers.t1,
            },
            b: BSide {
                port: b_port,
                origin: b_origin,
                offered: codecs,
                telephone_event: te,
                dialog: None,
                last_answer: None,
            },
            forks: Vec::new(),
            codec: None,
            reinvite: None,
            session: [None, None],
            deadlines: HashMap::new(),
            cdr: cdr.clone(),
            hold: [false; 2],
            local_sdp: [Some(Bytes::from(body.to_vec())), None],
            app: o.app,
            local: true,
            vars: Vec::new(),
            play_id: 0,
            busy_exts: Vec::new(),
            monitored_by: None,
            present: None,
            acd_id: o.acd_id,
            api_hold: None,
            consult: None,
            priority: o.priority,
            rec: Default::default(),
        };
        self.calls.dialogs.insert(
            (c.a.dialog.call_id.clone(), c.a.dialog.local_tag.clone()),
            (call, Side::A),
        );
        self.calls.calls.insert(call, c);
        self.out
            .push_back(Output::Cdr(super::CdrWrite::Start(Box::new(cdr))));
        self.out.push_back(Output::Media(MediaCommand::Open {
            call,
            a_port,
            b_port,
        }));
        self.out
            .push_back(Output::Media(MediaCommand::Bridge { call, on: false }));
        self.send_client(now, call, purpose, invite.clone(), peer);
        Ok((call, invite))
    }
}

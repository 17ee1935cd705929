//! The B2BUA on a virtual clock: a caller (user 1001, digest-authenticated) dials a number
//! the dial plan sends to a trunk; the test plays both the caller and the trunk, feeds the
//! endpoint bytes at chosen instants and fires its timers up to a chosen instant. Nothing
//! sleeps: `now` is whatever the test says it is.

mod agents;
mod answer;
mod callback;
mod campaign;
mod campaign_agent;
mod campaign_amd;
mod campaign_update;
mod consult;
mod control;
mod indialog;
mod ivr;
mod kpis;
mod limits;
mod monitor;
mod msg;
mod queue;
mod queue_waiting;
mod recording;
mod ringing;
mod session;
mod transfer;

use msg::param;
pub(super) use msg::{kinds, respond, Msg};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use md5::Digest;

use super::{CallEvent, CallRef, CdrWrite, MediaCommand};
use crate::call::cdr::Cdr;
use crate::config::{DigestAlgorithm, Route, TrunkConfig};
use crate::sip::auth::UserCredentials;
use crate::sip::endpoint::{Endpoint, EndpointConfig, Output};
use crate::sip::transaction::TimerConfig;
use crate::sip::Peer;

pub(super) const CALLER: &str = "192.0.2.7:5062";
pub(super) const TRUNK: &str = "198.51.100.1:5060";
/// The number the caller dials (the route `_0X.` sends it to the trunk unchanged).
const DIALLED: &str = "0123456";
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse()
        .expect("test addresses are literal socket addresses")
}

pub(super) fn cfg() -> EndpointConfig {
    let mut users = HashMap::new();
    users.insert(
        "1001".to_string(),
        UserCredentials {
            password: Some("pw".into()),
            ..Default::default()
        },
    );
    let mut permissions = HashMap::new();
    permissions.insert("1001".to_string(), vec!["national".to_string()]);
    EndpointConfig {
        domain: "d".into(),
        realm: "d".into(),
        user_agent: "switchboard".into(),
        force_rport: true,
        timers: TimerConfig::default(),
        registrar: Default::default(),
        rate_limit: Default::default(),
        nonce_ttl: Duration::from_secs(300),
        algorithms: vec![DigestAlgorithm::Md5],
        auth_secret: [3; 32],
        users,
        permissions,
        display_names: HashMap::new(),
        dialplan: crate::config::DialplanConfig {
            routes: vec![Route {
                pattern: "_0X.".parse().expect("a valid pattern"),
                trunk: "carrier".into(),
                class: "national".into(),
                strip: 0,
                prepend: String::new(),
                recording: None,
            }],
            ..Default::default()
        },
        trunks: vec![TrunkConfig {
            name: "carrier".into(),
            address: addr(TRUNK),
            inbound_from: Vec::new(),
            caller_id: None,
            caller_name: None,
            register: None,
            recording: None,
        }],
        max_calls: 100,
        ring_timeout: Duration::from_secs(60),
        hold_music: crate::media::tones::HOLD.to_string(),
        session_expires: Some(1800),
        min_se: 90,
        codecs: vec![crate::sdp::CodecName::Pcmu, crate::sdp::CodecName::Pcma],
        telephone_event: true,
        media_address: "127.0.0.1".parse().expect("literal IP"),
        ptime_ms: 20,
        port_min: 20000,
        port_max: 20100,
        ivr: Default::default(),
        acd: Default::default(),
        features: Default::default(),
        recording: Default::default(),
        dispositions: Vec::new(),
    }
}

/// An audio offer/answer at `ip:port`, o= version `version`, direction `dir`.
pub(super) fn sdp(ip: &str, port: u16, version: u64, dir: &str) -> String {
    format!(
        "v=0\r\no=- 100 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na={dir}\r\n"
    )
}

fn md5_hex(s: &str) -> String {
    hex::encode(md5::Md5::digest(s.as_bytes()))
}

/// The endpoint, the virtual clock, and everything the endpoint emitted not yet looked at.
pub(super) struct H {
    pub ep: Endpoint,
    /// When the test began (failure messages show offsets from it).
    t0: Instant,
    pub now: Instant,
    sent: Vec<(SocketAddr, Msg)>,
    outs: Vec<(Instant, Output)>,
    /// The call the endpoint opened media for (its CallRef).
    pub call: Option<CallRef>,
    branch: u32,
    caller_cseq: u32,
    trunk_cseq: u32,
    /// Our To tag towards the caller (from the 200), and the INVITE we got as the trunk.
    a_tag: Option<String>,
    b_invite: Option<Msg>,
    /// What the caller dials (default: a number the dial plan sends to the trunk).
    pub dialled: String,
}

impl H {
    pub fn new(cfg: EndpointConfig) -> H {
        let now = Instant::now();
        H {
            ep: Endpoint::new(now, cfg, 7),
            t0: now,
            now,
            sent: Vec::new(),
            outs: Vec::new(),
            call: None,
            branch: 0,
            caller_cseq: 0,
            trunk_cseq: 100,
            a_tag: None,
            b_invite: None,
            dialled: DIALLED.to_string(),
        }
    }

    pub fn collect(&mut self) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Transmit { dest, bytes } => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.sent.push((dest.addr, Msg { at: self.now, text }));
                }
                Output::Media(MediaCommand::Open { call, .. }) => {
                    self.call = Some(call);
                    self.outs.push((self.now, o));
                }
                o => self.outs.push((self.now, o)),
            }
        }
    }

    /// Fire every timeout due up to `to` (each at its own instant), then stand at `to`.
    pub fn step(&mut self, to: Instant) {
        for _ in 0..100_000 {
            match self.ep.poll_timeout() {
                Some(t) if t <= to => {
                    self.now = t.max(self.now);
                    self.ep.handle_timeout(self.now);
                    self.collect();
                    // A handled deadline handed back again is a driver at 100 % of a core.
                    if let Some(next) = self.ep.poll_timeout() {
                        assert!(
                            next > self.now,
                            "the endpoint asked to be woken at {:?} again after handling it",
                            next - self.t0
                        );
                    }
                }
                _ => {
                    self.now = to;
                    return;
                }
            }
        }
        panic!("timeouts never stop firing before {to:?}");
    }

    pub fn advance(&mut self, d: Duration) {
        self.step(self.now + d);
    }

    pub fn caller_sends(&mut self, text: &str) {
        self.ep
            .handle_message(self.now, text.as_bytes(), Peer::udp(addr(CALLER)));
        self.collect();
    }

    pub fn trunk_sends(&mut self, text: &str) {
        self.ep
            .handle_message(self.now, text.as_bytes(), Peer::udp(addr(TRUNK)));
        self.collect();
    }

    pub fn take_sent_to(&mut self, to: &str) -> Vec<Msg> {
        let to = addr(to);
        let (mine, rest) = std::mem::take(&mut self.sent)
            .into_iter()
            .partition(|(a, _)| *a == to);
        self.sent = rest;
        mine.into_iter().map(|(_, m)| m).collect()
    }

    /// Nothing was transmitted to anyone since the last look.
    #[track_caller]
    pub fn assert_quiet(&mut self) {
        let t0 = self.t0;
        let sent: Vec<(SocketAddr, String, Duration)> = self
            .sent
            .drain(..)
            .map(|(a, m)| (a, kinds(std::slice::from_ref(&m)).remove(0), m.at - t0))
            .collect();
        assert!(sent.is_empty(), "expected silence, got {sent:?}");
    }

    /// Everything sent anywhere, dropped (for tests that look only at what follows).
    pub fn clear(&mut self) {
        self.sent.clear();
        self.outs.clear();
    }

    pub fn take_outs(&mut self) -> Vec<(Instant, Output)> {
        std::mem::take(&mut self.outs)
    }

    pub fn take_events(&mut self) -> Vec<CallEvent> {
        self.take_outs()
            .into_iter()
            .filter_map(|(_, o)| match o {
                Output::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    /// The final CDRs written so far (and drops the other outputs).
    pub fn take_cdr_ends(&mut self) -> Vec<Cdr> {
        self.take_outs()
            .into_iter()
            .filter_map(|(_, o)| match o {
                Output::Cdr(CdrWrite::End(_, cdr)) => Some(*cdr),
                _ => None,
            })
            .collect()
    }

    fn next_branch(&mut self) -> String {
        self.branch += 1;
        format!("z9hG4bKt{}", self.branch)
    }

    /// A caller's INVITE outside any dialog.
    fn caller_invite(&mut self, call_id: &str, cseq: u32, branch: &str, extra: &str) -> String {
        let dialled = self.dialled.clone();
        let body = sdp("192.0.2.7", 40000, 1, "sendrecv");
        format!(
            "INVITE sip:{dialled}@d SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1001@d>;tag=ca\r\nTo: <sip:{dialled}@d>\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\nContact: <sip:1001@{CALLER}>\r\n\
             {extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// The caller's INVITE, challenged with 407 (ACKed), then sent again with the digest
    /// answer computed here. Returns what the caller got for the second INVITE.
    pub fn send_authed_invite(&mut self, call_id: &str, extra: &str) -> Vec<Msg> {
        let dialled = self.dialled.clone();
        let b1 = self.next_branch();
        let invite = self.caller_invite(call_id, 1, &b1, extra);
        self.caller_sends(&invite);
        let got = self.take_sent_to(CALLER);
        let challenge = got
            .iter()
            .find(|m| m.status() == Some(407))
            .unwrap_or_else(|| panic!("the first INVITE is challenged: {got:#?}"))
            .clone();
        let to_tag = challenge.to_tag().unwrap_or_default();
        self.caller_sends(&format!(
            "ACK sip:{dialled}@d SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={b1}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1001@d>;tag=ca\r\nTo: <sip:{dialled}@d>;tag={to_tag}\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        ));
        let pa = challenge
            .header("Proxy-Authenticate")
            .expect("a 407 carries Proxy-Authenticate");
        let (Some(nonce), Some(realm)) = (param(pa, "nonce"), param(pa, "realm")) else {
            panic!("challenge without nonce or realm: {pa}");
        };
        let uri = format!("sip:{dialled}@d");
        let ha1 = md5_hex(&format!("1001:{realm}:pw"));
        let ha2 = md5_hex(&format!("INVITE:{uri}"));
        let auth = if param(pa, "qop").is_some_and(|q| q.split(',').any(|q| q.trim() == "auth")) {
            let resp = md5_hex(&format!("{ha1}:{nonce}:00000001:cn0:auth:{ha2}"));
            format!(
                "Proxy-Authorization: Digest username=\"1001\", realm=\"{realm}\", \
                 nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", algorithm=MD5, \
                 cnonce=\"cn0\", qop=auth, nc=00000001\r\n"
            )
        } else {
            let resp = md5_hex(&format!("{ha1}:{nonce}:{ha2}"));
            format!(
                "Proxy-Authorization: Digest username=\"1001\", realm=\"{realm}\", \
                 nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", algorithm=MD5\r\n"
            )
        };
        let b2 = self.next_branch();
        let invite = self.caller_invite(call_id, 2, &b2, &format!("{auth}{extra}"));
        self.caller_cseq = 2;
        self.caller_sends(&invite);
        self.take_sent_to(CALLER)
    }

    /// Place the call and return the INVITE the trunk got (the caller's 100 is dropped).
    pub fn place_call(&mut self, extra: &str) -> Msg {
        let got = self.send_authed_invite("a1@caller", extra);
        assert!(
            got.iter().all(|m| m.status() == Some(100)),
            "only 100 Trying before the trunk answers: {got:#?}"
        );
        let mut to_trunk = self.take_sent_to(TRUNK);
        assert_eq!(to_trunk.len(), 1, "one INVITE to the trunk: {to_trunk:#?}");
        let invite = to_trunk.remove(0);
        assert_eq!(invite.method(), Some("INVITE"));
        self.b_invite = Some(invite.clone());
        invite
    }

    /// The trunk answers a request the endpoint sent it (To tag `tk`).
    pub fn trunk_replies(&mut self, req: &Msg, code: u16, extra: &str, body: Option<&str>) {
        let resp = respond(
            req,
            code,
            "tk",
            &format!("Contact: <sip:c@{TRUNK}>\r\n{extra}"),
            body,
        );
        self.trunk_sends(&resp);
    }

    /// The caller answers a request the endpoint sent it.
    pub fn caller_replies(&mut self, req: &Msg, code: u16) {
        let resp = respond(req, code, "ca", "", None);
        self.caller_sends(&resp);
    }

    /// Place the call; the trunk sends 100, 180 and 200 (with `trunk_extra` in the 200).
    /// Returns the endpoint's 200 to the caller (not yet ACKed).
    pub fn answered_with(&mut self, caller_extra: &str, trunk_extra: &str) -> Msg {
        let invite = self.place_call(caller_extra);
        self.trunk_replies(&invite, 100, "", None);
        self.trunk_replies(&invite, 180, "", None);
        let answer = sdp("198.51.100.1", 30000, 1, "sendrecv");
        self.trunk_replies(&invite, 200, trunk_extra, Some(&answer));
        let to_trunk = self.take_sent_to(TRUNK);
        assert!(
            matches!(&to_trunk[..], [ack] if ack.method() == Some("ACK")),
            "the trunk's 200 is ACKed: {to_trunk:#?}"
        );
        let got = self.take_sent_to(CALLER);
        let ok = got
            .iter()
            .find(|m| m.status() == Some(200))
            .unwrap_or_else(|| panic!("the caller gets a 200: {got:#?}"))
            .clone();
        self.a_tag = ok.to_tag();
        ok
    }

    /// ACK for the 2xx to the caller's latest INVITE.
    pub fn caller_acks(&mut self) {
        let dialled = self.dialled.clone();
        let branch = self.next_branch();
        let tag = self.a_tag.clone().unwrap_or_default();
        self.caller_sends(&format!(
            "ACK sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1001@d>;tag=ca\r\nTo: <sip:{dialled}@d>;tag={tag}\r\n\
             Call-ID: a1@caller\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            self.caller_cseq
        ));
    }

    /// A call answered and ACKed, with nothing left unread.
    pub fn call_up_with(&mut self, caller_extra: &str, trunk_extra: &str) {
        self.answered_with(caller_extra, trunk_extra);
        self.caller_acks();
        self.clear();
    }

    pub fn call_up(&mut self) {
        self.call_up_with("", "");
    }

    /// A request from the caller in its dialog with us.
    pub fn caller_request(&mut self, method: &str, extra: &str, body: Option<(&str, &str)>) {
        let dialled = self.dialled.clone();
        self.caller_cseq += 1;
        let branch = self.next_branch();
        let tag = self.a_tag.clone().unwrap_or_default();
        let (ct, body) = body.map_or((String::new(), ""), |(ct, b)| {
            (format!("Content-Type: {ct}\r\n"), b)
        });
        let text = format!(
            "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1001@d>;tag=ca\r\nTo: <sip:{dialled}@d>;tag={tag}\r\n\
             Call-ID: a1@caller\r\nCSeq: {} {method}\r\nContact: <sip:1001@{CALLER}>\r\n\
             {extra}{ct}Content-Length: {}\r\n\r\n{body}",
            self.caller_cseq,
            body.len()
        );
        self.caller_sends(&text);
    }

    /// A request from the trunk in its dialog with us.
    pub fn trunk_request(&mut self, method: &str, extra: &str, body: Option<(&str, &str)>) {
        self.trunk_cseq += 1;
        let branch = self.next_branch();
        let invite = self.b_invite.clone().expect("the call reached the trunk");
        let from = invite.header("From").unwrap_or("").to_string();
        let to = invite.header("To").unwrap_or("").to_string();
        let call_id = invite.header("Call-ID").unwrap_or("").to_string();
        let (ct, body) = body.map_or((String::new(), ""), |(ct, b)| {
            (format!("Content-Type: {ct}\r\n"), b)
        });
        let text = format!(
            "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {TRUNK};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: {to};tag=tk\r\nTo: {from}\r\nCall-ID: {call_id}\r\n\
             CSeq: {} {method}\r\nContact: <sip:c@{TRUNK}>\r\n{extra}{ct}Content-Length: {}\r\n\r\n{body}",
            self.trunk_cseq,
            body.len()
        );
        self.trunk_sends(&text);
    }
}

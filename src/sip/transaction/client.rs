//! Client transactions: INVITE (Calling → Proceeding → Completed | Accepted) and non-INVITE
//! (Trying → Proceeding → Completed).

use std::time::Instant;

use super::{key, to_bytes, Kind, State, Timer, TransactionLayer, Tx, TxError, TxEvent, TxKey};
use crate::sip::message::header_value;
use crate::sip::{rsip, Peer};

impl TransactionLayer {
    /// Start a client transaction for `req` (its top Via must carry a branch).
    pub fn send_request(
        &mut self,
        now: Instant,
        req: rsip::Request,
        dest: Peer,
    ) -> Result<TxKey, TxError> {
        if req.method == rsip::Method::Ack {
            return Err(TxError::Ack);
        }
        let key = key::client_key_of_request(&req)?;
        if self.txs.contains_key(&key) {
            return Err(TxError::Duplicate);
        }
        let invite = req.method == rsip::Method::Invite;
        let bytes = to_bytes(req.clone());
        let tx = Tx {
            kind: if invite {
                Kind::ClientInvite
            } else {
                Kind::ClientNonInvite
            },
            state: if invite {
                State::Calling
            } else {
                State::Trying
            },
            peer: dest,
            request: Some(req),
            request_bytes: Some(bytes.clone()),
            ack_bytes: None,
            response_bytes: None,
            interval: self.cfg.t1,
            timers: Vec::new(),
        };
        let reliable = tx.reliable();
        self.txs.insert(key.clone(), tx);
        self.send(dest, bytes);
        let (retransmit, timeout) = if invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        if !reliable {
            self.set_timer(&key, retransmit, now + self.cfg.t1);
        }
        self.set_timer(&key, timeout, now + self.cfg.t64());
        Ok(key)
    }

    pub fn handle_response(
        &mut self,
        now: Instant,
        resp: rsip::Response,
        _source: Peer,
    ) -> Result<(), TxError> {
        let key = key::client_key_of_response(&resp)?;
        let Some(tx) = self.txs.get(&key) else {
            // Stray response (§18.1.2): dropped.
            return Ok(());
        };
        let code = resp.status_code.code();
        let (kind, state, reliable) = (tx.kind, tx.state, tx.reliable());
        match (kind, state) {
            (Kind::ClientInvite, State::Calling | State::Proceeding) => match code {
                100..=199 => {
                    self.set_state(&key, State::Proceeding);
                    self.cancel_timers(&key, &[Timer::A, Timer::B]);
                    // Each provisional restarts Timer C (§16.6 step 11).
                    self.set_timer(&key, Timer::C, now + self.cfg.c());
                    self.events.push_back(TxEvent::Response {
                        key,
                        response: resp,
                    });
                }
                200..=299 => {
                    self.set_state(&key, State::Accepted);
                    self.cancel_timers(&key, &[Timer::A, Timer::B, Timer::C]);
                    self.set_timer(&key, Timer::M, now + self.cfg.t64());
                    self.events.push_back(TxEvent::Response {
                        key,
                        response: resp,
                    });
                }
                _ => {
                    let ack = self
                        .txs
                        .get(&key)
                        .and_then(|t| t.request.as_ref())
                        .map(|r| ack_for(r, &resp));
                    let peer = self.txs.get(&key).map(|t| t.peer);
                    if let (Some(ack), Some(peer)) = (ack, peer) {
                        let bytes = to_bytes(ack);
                        if let Some(t) = self.txs.get_mut(&key) {
                            t.state = State::Completed;
                            t.ack_bytes = Some(bytes.clone());
                        }
                        self.send(peer, bytes);
                    }
                    self.cancel_timers(&key, &[Timer::A, Timer::B, Timer::C]);
                    self.set_timer(&key, Timer::D, now + self.cfg.d(reliable));
                    self.events.push_back(TxEvent::Response {
                        key,
                        response: resp,
                    });
                }
            },
            // A retransmitted final response: the ACK again, nothing for the TU.
            (Kind::ClientInvite, State::Completed) if code >= 300 => {
                let resend = self
                    .txs
                    .get(&key)
                    .and_then(|t| Some((t.peer, t.ack_bytes.clone()?)));
                if let Some((peer, ack)) = resend {
                    self.send(peer, ack);
                }
            }
            (Kind::ClientInvite, State::Accepted) if (200..300).contains(&code) => {
                self.events.push_back(TxEvent::Response {
                    key,
                    response: resp,
                });
            }
            (Kind::ClientNonInvite, State::Trying | State::Proceeding) => {
                if code < 200 {
                    self.set_state(&key, State::Proceeding);
                } else {
                    self.set_state(&key, State::Completed);
                    self.cancel_timers(&key, &[Timer::E, Timer::F]);
                    self.set_timer(&key, Timer::K, now + self.cfg.t4_or_zero(reliable));
                }
                self.events.push_back(TxEvent::Response {
                    key,
                    response: resp,
                });
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn client_timer(&mut self, now: Instant, key: &TxKey, timer: Timer) {
        let Some(tx) = self.txs.get_mut(key) else {
            return;
        };
        match (timer, tx.state) {
            (Timer::A, State::Calling) => {
                tx.interval *= 2;
                let (peer, bytes, next) = (tx.peer, tx.request_bytes.clone(), now + tx.interval);
                if let Some(b) = bytes {
                    self.send(peer, b);
                }
                self.set_timer(key, Timer::A, next);
            }
            (Timer::E, State::Trying | State::Proceeding) => {
                tx.interval = if tx.state == State::Trying {
                    (tx.interval * 2).min(self.cfg.t2)
                } else {
                    self.cfg.t2
                };
                let (peer, bytes, next) = (tx.peer, tx.request_bytes.clone(), now + tx.interval);
                if let Some(b) = bytes {
                    self.send(peer, b);
                }
                self.set_timer(key, Timer::E, next);
            }
            (Timer::B, State::Calling)
            | (Timer::C, State::Proceeding)
            | (Timer::F, State::Trying | State::Proceeding) => {
                self.time_out(key);
            }
            (Timer::D | Timer::K | Timer::M, _) => self.terminate(key),
            _ => {}
        }
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): same branch, Request-URI, From,
/// Call-ID and CSeq number; To from the response; the request's Route headers.
fn ack_for(req: &rsip::Request, resp: &rsip::Response) -> rsip::Request {
    let mut headers = rsip::Headers::default();
    if let Some(via) = header_value(&req.headers, "Via") {
        headers.push(rsip::headers::make_header(
            "Via",
            via.split(',').next().unwrap_or(via).trim().to_string(),
        ));
    }
    for name in ["Route"] {
        for h in req
            .headers
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case(name))
        {
            headers.push(h.clone());
        }
    }
    for (name, from_resp) in [("From", false), ("To", true), ("Call-ID", false)] {
        let src = if from_resp {
            &resp.headers
        } else {
            &req.headers
        };
        if let Some(v) = header_value(src, name) {
            headers.push(rsip::headers::make_header(name, v.to_string()));
        }
    }
    let num = header_value(&req.headers, "CSeq")
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("1");
    headers.push(rsip::headers::make_header("CSeq", format!("{num} ACK")));
    headers.push(rsip::headers::make_header("Max-Forwards", "70".into()));
    headers.push(rsip::headers::make_header("Content-Length", "0".into()));
    rsip::Request {
        method: rsip::Method::Ack,
        uri: req.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

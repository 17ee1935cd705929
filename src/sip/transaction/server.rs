//! Server transactions: INVITE (Proceeding → Completed → Confirmed, or Accepted after a 2xx,
//! RFC 6026) and non-INVITE (Trying → Proceeding → Completed).

use std::time::Instant;

use super::{key, to_bytes, Kind, State, Timer, TransactionLayer, Tx, TxError, TxEvent, TxKey};
use crate::sip::{rsip, Peer};

impl TransactionLayer {
    /// A request from the network. New requests reach the TU as `TxEvent::Request`;
    /// retransmissions are absorbed (the last response is sent again).
    pub fn handle_request(
        &mut self,
        now: Instant,
        req: rsip::Request,
        source: Peer,
    ) -> Result<(), TxError> {
        let key = key::server_key(&req)?;
        let is_ack = req.method == rsip::Method::Ack;
        let Some(tx) = self.txs.get(&key) else {
            if is_ack {
                self.events.push_back(TxEvent::Ack {
                    request: req,
                    source,
                });
                return Ok(());
            }
            let invite = req.method == rsip::Method::Invite;
            let tx = Tx {
                kind: if invite {
                    Kind::ServerInvite
                } else {
                    Kind::ServerNonInvite
                },
                state: if invite {
                    State::Proceeding
                } else {
                    State::Trying
                },
                peer: source,
                request: None,
                request_bytes: None,
                ack_bytes: None,
                response_bytes: None,
                interval: self.cfg.t1,
                timers: Vec::new(),
            };
            self.txs.insert(key.clone(), tx);
            self.events.push_back(TxEvent::Request {
                key,
                request: req,
                source,
            });
            return Ok(());
        };
        let (kind, state, reliable, peer, last) = (
            tx.kind,
            tx.state,
            tx.reliable(),
            tx.peer,
            tx.response_bytes.clone(),
        );
        match (kind, state, is_ack) {
            (Kind::ServerInvite, State::Completed, true) => {
                self.set_state(&key, State::Confirmed);
                self.cancel_timers(&key, &[Timer::G, Timer::H]);
                self.set_timer(&key, Timer::I, now + self.cfg.t4_or_zero(reliable));
            }
            // The ACK for our 2xx belongs to the TU (RFC 6026 §8.7).
            (Kind::ServerInvite, State::Accepted, true) => {
                self.events.push_back(TxEvent::Ack {
                    request: req,
                    source,
                });
            }
            (_, _, true) => {}
            // A retransmitted request: re-send the last response where there is one.
            (Kind::ServerInvite, State::Proceeding | State::Completed, false)
            | (Kind::ServerNonInvite, State::Proceeding | State::Completed, false) => {
                if let Some(bytes) = last {
                    self.send(peer, bytes);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The TU answers the server transaction `key`.
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TxKey,
        resp: rsip::Response,
    ) -> Result<(), TxError> {
        let tx = self.txs.get(key).ok_or(TxError::Unknown)?;
        let code = resp.status_code.code();
        let (kind, state, reliable, peer) = (tx.kind, tx.state, tx.reliable(), tx.peer);
        let bytes = to_bytes(resp);
        match (kind, state) {
            (Kind::ServerInvite, State::Proceeding) => {
                self.send(peer, bytes.clone());
                let tx = self.txs.get_mut(key).ok_or(TxError::Unknown)?;
                tx.response_bytes = Some(bytes);
                match code {
                    100..=199 => {}
                    200..=299 => {
                        tx.state = State::Accepted;
                        self.set_timer(key, Timer::L, now + self.cfg.t64());
                    }
                    _ => {
                        tx.state = State::Completed;
                        if !reliable {
                            self.set_timer(key, Timer::G, now + self.cfg.t1);
                        }
                        self.set_timer(key, Timer::H, now + self.cfg.t64());
                    }
                }
            }
            // 2xx retransmissions are the TU's job while Accepted.
            (Kind::ServerInvite, State::Accepted) if (200..300).contains(&code) => {
                self.send(peer, bytes)
            }
            (Kind::ServerNonInvite, State::Trying | State::Proceeding) => {
                self.send(peer, bytes.clone());
                let tx = self.txs.get_mut(key).ok_or(TxError::Unknown)?;
                tx.response_bytes = Some(bytes);
                if code < 200 {
                    tx.state = State::Proceeding;
                } else {
                    tx.state = State::Completed;
                    let j = if reliable {
                        std::time::Duration::ZERO
                    } else {
                        self.cfg.t64()
                    };
                    self.set_timer(key, Timer::J, now + j);
                }
            }
            _ => return Err(TxError::State),
        }
        Ok(())
    }

    /// Answer a non-INVITE server transaction with a final response and forget it at once
    /// (like Kamailio's stateless replies). For digest challenges: a retransmitted request
    /// simply earns a fresh challenge, so keeping 32 s of state per challenge buys nothing.
    pub fn respond_statelessly(
        &mut self,
        key: &TxKey,
        resp: rsip::Response,
    ) -> Result<(), TxError> {
        let tx = self.txs.get(key).ok_or(TxError::Unknown)?;
        // An INVITE may be refused statelessly (a challenge): no retransmissions of the
        // answer towards a source that never ACKs it, so a forged INVITE reflects nothing.
        // A 2xx must be sent reliably.
        let code = resp.status_code.code();
        let allowed = match tx.kind {
            Kind::ServerNonInvite => code >= 200,
            Kind::ServerInvite => code >= 300,
            _ => false,
        };
        if !allowed {
            return Err(TxError::State);
        }
        let (peer, kind) = (tx.peer, tx.kind);
        self.txs.remove(key);
        self.stats.completed[kind as usize] += 1;
        self.send(peer, to_bytes(resp));
        Ok(())
    }

    /// The INVITE server transaction a CANCEL refers to (§9.2), if it is still live.
    pub fn find_invite_for_cancel(&self, cancel: &rsip::Request) -> Option<TxKey> {
        let key = key::server_key_as(cancel, &rsip::Method::Invite).ok()?;
        self.txs
            .get(&key)
            .filter(|t| t.kind == Kind::ServerInvite)
            .map(|_| key)
    }

    pub(super) fn server_timer(&mut self, now: Instant, key: &TxKey, timer: Timer) {
        let Some(tx) = self.txs.get_mut(key) else {
            return;
        };
        match (timer, tx.state) {
            (Timer::G, State::Completed) => {
                tx.interval = (tx.interval * 2).min(self.cfg.t2);
                let (peer, bytes, next) = (tx.peer, tx.response_bytes.clone(), now + tx.interval);
                if let Some(b) = bytes {
                    self.send(peer, b);
                }
                self.set_timer(key, Timer::G, next);
            }
            (Timer::H, State::Completed) => {
                // No ACK ever came: the TU learns of the failure.
                self.time_out(key);
            }
            (Timer::I | Timer::J | Timer::L, _) => self.terminate(key),
            _ => {}
        }
    }
}

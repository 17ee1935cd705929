//! Per-call timers: ring timeout, 2xx retransmission until ACK, RFC 4028 session timers.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::{CallRef, Side, State};
use crate::sip::endpoint::Endpoint;
use crate::sip::Peer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallTimer {
    /// Nobody answered in time.
    Ring,
    /// Resend our 2xx to the caller (UDP) until their ACK; give up at 64·T1.
    Retransmit2xx,
    AckTimeout,
    /// The caller's side must refresh by then (they are the refresher).
    ExpireA,
    /// The callee's side must refresh by then.
    ExpireB,
    /// Time for us to refresh a side (we are its refresher).
    RefreshA,
    RefreshB,
    /// The caller's silence in an IVR menu counts as a miss.
    Ivr,
    /// Time for a waiting caller's announcement.
    Announce,
    /// A campaign dial rang for the campaign's ring timeout.
    CampaignRing,
    /// A campaign's answered lead waited the reach time for an agent.
    CampaignReach,
    /// AMD's verdict on an answered lead is overdue.
    CampaignAmd,
}

impl Endpoint {
    pub(in crate::sip::endpoint) fn calls_handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, call, timer))) = self.calls.timers.peek().copied() {
            if at > now {
                break;
            }
            self.calls.timers.pop();
            let live = self
                .calls
                .calls
                .get(&call)
                .and_then(|c| c.deadlines.get(&timer))
                .is_some_and(|t| *t == at);
            if !live {
                continue;
            }
            self.clear_call_timer(call, timer);
            self.fire_call_timer(now, call, timer);
        }
    }

    fn fire_call_timer(&mut self, now: Instant, call: CallRef, timer: CallTimer) {
        match timer {
            CallTimer::Ring => {
                tracing::info!(call, "no answer before the ring timeout");
                self.cancel_forks(now, call);
                if self.is_connecting(call) {
                    self.bye(now, call, Side::A);
                } else {
                    self.final_to_caller(now, call, 480, &[]);
                }
                self.end_call(now, call, "no-answer", "system");
            }
            CallTimer::Ivr => self.on_ivr_timeout(now, call),
            CallTimer::Announce => self.on_announce(now, call),
            CallTimer::CampaignRing => self.campaign_ring_timeout(now, call),
            CallTimer::CampaignReach => self.campaign_reach_timeout(now, call),
            CallTimer::CampaignAmd => self.campaign_amd_timeout(now, call),
            CallTimer::Retransmit2xx => {
                let Some(c) = self.calls.calls.get_mut(&call) else {
                    return;
                };
                if c.state != State::Answered {
                    return;
                }
                let Some(bytes) = c.a.ok_bytes.clone() else {
                    return;
                };
                let dest: Peer = c.a.dialog.peer;
                c.a.ok_interval = (c.a.ok_interval * 2).min(self.cfg.timers.t2);
                let next = now + c.a.ok_interval;
                self.out
                    .push_back(crate::sip::endpoint::Output::Transmit { dest, bytes });
                self.set_call_timer(call, CallTimer::Retransmit2xx, next);
            }
            CallTimer::AckTimeout => {
                // §13.3.1.4: no ACK for our 2xx: the dialog is dead, end the call.
                let confirmed = self
                    .calls
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.state == State::Confirmed);
                if !confirmed {
                    tracing::info!(call, "caller never acknowledged the answer");
                    self.hangup_both(now, call, "no-ack", "system");
                }
            }
            CallTimer::ExpireA | CallTimer::ExpireB => {
                tracing::info!(call, ?timer, "session timer expired without a refresh");
                self.hangup_both(now, call, "session-timeout", "system");
            }
            CallTimer::RefreshA => self.refresh_side(now, call, Side::A),
            CallTimer::RefreshB => self.refresh_side(now, call, Side::B),
        }
    }

    /// RFC 4028 §10: the refresher refreshes at half the interval; the other side gives up
    /// slightly before the interval ends: at the interval minus min(32 s, interval/3).
    pub(super) fn arm_session(&mut self, now: Instant, call: CallRef, side: Side) {
        let Some(c) = self.calls.calls.get(&call) else {
            return;
        };
        let Some((interval, we_refresh)) = c.session[side as usize] else {
            return;
        };
        let interval = Duration::from_secs(interval as u64);
        if we_refresh {
            let timer = match side {
                Side::A => CallTimer::RefreshA,
                Side::B => CallTimer::RefreshB,
            };
            self.set_call_timer(call, timer, now + interval / 2);
        } else {
            let grace = Duration::from_secs(32).min(interval / 3);
            let timer = match side {
                Side::A => CallTimer::ExpireA,
                Side::B => CallTimer::ExpireB,
            };
            self.set_call_timer(
                call,
                timer,
                now + interval.saturating_sub(grace).max(Duration::from_secs(1)),
            );
        }
    }
}

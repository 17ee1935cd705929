//! Asterisk `queue_log` export, so existing wallboards and reporting tools (QueueMetrics,
//! Wazo-style loaders, home-grown SQL) can read our ACD history.
//!
//! One line per fact: `epoch|callid|queue|agent|EVENT|data1|data2|data3`, where `epoch` is
//! Unix seconds, `callid` our `CallId` (`NONE` for member events), `queue` the queue name and
//! `agent` the agent's login id (`NONE` for caller-only events). Field meanings follow the
//! Asterisk queue log documentation (docs.asterisk.org, Operation → Logging → Queue Logs):
//!
//! | event | data1 | data2 | data3 |
//! | --- | --- | --- | --- |
//! | ENTERQUEUE | url (empty) | caller id (empty: the engine does not know it) | position |
//! | CONNECT | hold time s (wait in queue) | member's channel uniqueid (our offer id) | ring time s |
//! | COMPLETECALLER / COMPLETEAGENT | hold time s | call time s | original position |
//! | ABANDON | position | original position | wait time s |
//! | RINGNOANSWER | ring time **ms** | | |
//! | RINGCANCELED | ring time ms (Asterisk 16+: offer withdrawn) | | |
//! | EXITWITHTIMEOUT / EXITEMPTY | position | original position | wait time s |
//! | PAUSE / UNPAUSE | reason | | |
//! | ADDMEMBER / REMOVEMEMBER | (empty) | | |
//!
//! Asterisk logs RINGNOANSWER for busy and declined members too (its `rna()` runs for BUSY),
//! so do we. An overflow step is a queue timeout routed elsewhere: EXITWITHTIMEOUT. PAUSE and
//! UNPAUSE are written once per queue the agent serves, as Asterisk does per member.

use super::engine::Directory;
use super::event::{AcdEvent, EventKind, ExitReason, OfferEnd, Party, StateKind};
use super::ids::{AgentId, CallId, QueueId};

/// The queue_log lines for one event (none for events Asterisk has no line for).
pub fn lines(ev: &AcdEvent, dir: &Directory) -> Vec<String> {
    let l = Line { ev, dir };
    let s = |ms: u64| (ms / 1000).to_string();
    match &ev.kind {
        EventKind::Queued {
            call,
            queue,
            position,
            ..
        } => vec![l.call(
            *call,
            *queue,
            None,
            "ENTERQUEUE",
            &["", "", &position.to_string()],
        )],
        EventKind::Connected {
            call,
            queue,
            agent,
            offer,
            wait_ms,
            ring_ms,
            ..
        } => vec![l.call(
            *call,
            *queue,
            Some(*agent),
            "CONNECT",
            &[&s(*wait_ms), &offer.0.to_string(), &s(*ring_ms)],
        )],
        EventKind::Ended {
            call,
            queue,
            agent,
            by,
            wait_ms,
            talk_ms,
            hold_ms,
            orig_position,
        } => {
            let name = match by {
                Party::Caller => "COMPLETECALLER",
                Party::Agent => "COMPLETEAGENT",
            };
            vec![l.call(
                *call,
                *queue,
                Some(*agent),
                name,
                &[
                    &s(*wait_ms),
                    &s(talk_ms + hold_ms),
                    &orig_position.to_string(),
                ],
            )]
        }
        EventKind::Abandoned {
            call,
            queue,
            wait_ms,
            position,
            orig_position,
            ..
        } => vec![l.call(
            *call,
            *queue,
            None,
            "ABANDON",
            &[
                &position.to_string(),
                &orig_position.to_string(),
                &s(*wait_ms),
            ],
        )],
        EventKind::OfferEnded {
            call,
            queue,
            agent,
            end,
            ring_ms,
            ..
        } => {
            let name = match end {
                OfferEnd::Cancelled => "RINGCANCELED",
                OfferEnd::NoAnswer | OfferEnd::Rejected | OfferEnd::Busy => "RINGNOANSWER",
            };
            vec![l.call(*call, *queue, Some(*agent), name, &[&ring_ms.to_string()])]
        }
        EventKind::Exited {
            call,
            queue,
            reason,
            wait_ms,
            position,
            orig_position,
        } => {
            let name = match reason {
                ExitReason::Timeout => "EXITWITHTIMEOUT",
                ExitReason::Empty => "EXITEMPTY",
            };
            vec![l.call(
                *call,
                *queue,
                None,
                name,
                &[
                    &position.to_string(),
                    &orig_position.to_string(),
                    &s(*wait_ms),
                ],
            )]
        }
        EventKind::Overflowed {
            call,
            queue,
            wait_ms,
            ..
        } => vec![l.call(
            *call,
            *queue,
            None,
            "EXITWITHTIMEOUT",
            &["", "", &s(*wait_ms)],
        )],
        EventKind::AgentState {
            agent,
            from,
            to,
            reason,
            ..
        } => {
            let pause = *to == StateKind::NotReady && *from != StateKind::LoggedOut;
            let unpause = *from == StateKind::NotReady && *to != StateKind::LoggedOut;
            if !(pause || unpause) || from == to {
                return Vec::new();
            }
            let name = if pause { "PAUSE" } else { "UNPAUSE" };
            let reason = reason.as_deref().unwrap_or("");
            dir.agent_queues
                .get(agent.0 as usize)
                .into_iter()
                .flatten()
                .map(|q| l.member(*agent, *q, name, reason))
                .collect()
        }
        EventKind::MemberAdded { agent, queue } => vec![l.member(*agent, *queue, "ADDMEMBER", "")],
        EventKind::MemberRemoved { agent, queue } => {
            vec![l.member(*agent, *queue, "REMOVEMEMBER", "")]
        }
        EventKind::JoinRefused { .. }
        | EventKind::Offered { .. }
        | EventKind::Hold { .. }
        | EventKind::WrapUpDone { .. }
        | EventKind::CallbackRequested { .. }
        | EventKind::StepReached { .. } => Vec::new(),
    }
}

struct Line<'a> {
    ev: &'a AcdEvent,
    dir: &'a Directory,
}

impl Line<'_> {
    fn head(&self, call: &str, queue: QueueId, agent: Option<AgentId>, name: &str) -> String {
        let q = self.dir.queues.get(queue.0 as usize).map_or("NONE", |s| s);
        let a = agent
            .and_then(|a| self.dir.agents.get(a.0 as usize))
            .map_or("NONE", |s| s);
        format!(
            "{}|{}|{}|{}|{}",
            self.ev.at_ms / 1000,
            call,
            clean(q),
            clean(a),
            name
        )
    }

    fn call(
        &self,
        call: CallId,
        queue: QueueId,
        agent: Option<AgentId>,
        name: &str,
        data: &[&str],
    ) -> String {
        let mut s = self.head(&call.0.to_string(), queue, agent, name);
        for d in data {
            s.push('|');
            s.push_str(&clean(d));
        }
        s
    }

    fn member(&self, agent: AgentId, queue: QueueId, name: &str, data1: &str) -> String {
        format!(
            "{}|{}",
            self.head("NONE", queue, Some(agent), name),
            clean(data1)
        )
    }
}

/// Free text must not break the line format.
fn clean(s: &str) -> String {
    s.replace(['|', '\n', '\r'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::ids::OfferId;

    fn dir() -> Directory {
        Directory {
            queues: vec!["sales".into(), "support".into()],
            agents: vec!["1001".into()],
            agent_names: vec!["Ann".into()],
            agent_queues: vec![vec![QueueId(0), QueueId(1)]],
        }
    }

    fn one(kind: EventKind) -> Vec<String> {
        lines(
            &AcdEvent {
                at_ms: 1_366_720_340_500,
                kind,
            },
            &dir(),
        )
    }

    const C: CallId = CallId(42);
    const Q: QueueId = QueueId(0);
    const A: AgentId = AgentId(0);

    #[test]
    fn enterqueue() {
        let l = one(EventKind::Queued {
            call: C,
            queue: Q,
            priority: 0,
            position: 3,
        });
        assert_eq!(l, vec!["1366720340|42|sales|NONE|ENTERQUEUE|||3"]);
    }

    #[test]
    fn connect() {
        let l = one(EventKind::Connected {
            call: C,
            queue: Q,
            agent: A,
            offer: OfferId(7),
            wait_ms: 12_900,
            ring_ms: 4_000,
            callback: false,
        });
        assert_eq!(l, vec!["1366720340|42|sales|1001|CONNECT|12|7|4"]);
    }

    #[test]
    fn completecaller_and_completeagent() {
        let ended = |by| EventKind::Ended {
            call: C,
            queue: Q,
            agent: A,
            by,
            wait_ms: 12_000,
            talk_ms: 100_000,
            hold_ms: 20_000,
            orig_position: 2,
        };
        assert_eq!(
            one(ended(Party::Caller)),
            vec!["1366720340|42|sales|1001|COMPLETECALLER|12|120|2"]
        );
        assert_eq!(
            one(ended(Party::Agent)),
            vec!["1366720340|42|sales|1001|COMPLETEAGENT|12|120|2"]
        );
    }

    #[test]
    fn abandon() {
        let l = one(EventKind::Abandoned {
            call: C,
            queue: Q,
            wait_ms: 33_000,
            position: 1,
            orig_position: 4,
            callback: false,
        });
        assert_eq!(l, vec!["1366720340|42|sales|NONE|ABANDON|1|4|33"]);
    }

    #[test]
    fn ringnoanswer_in_milliseconds() {
        let l = one(EventKind::OfferEnded {
            call: C,
            queue: Q,
            agent: A,
            offer: OfferId(7),
            end: OfferEnd::NoAnswer,
            ring_ms: 15_000,
        });
        assert_eq!(l, vec!["1366720340|42|sales|1001|RINGNOANSWER|15000"]);
    }

    #[test]
    fn exitwithtimeout_and_exitempty() {
        let exit = |reason| EventKind::Exited {
            call: C,
            queue: Q,
            reason,
            wait_ms: 90_000,
            position: 2,
            orig_position: 5,
        };
        assert_eq!(
            one(exit(ExitReason::Timeout)),
            vec!["1366720340|42|sales|NONE|EXITWITHTIMEOUT|2|5|90"]
        );
        assert_eq!(
            one(exit(ExitReason::Empty)),
            vec!["1366720340|42|sales|NONE|EXITEMPTY|2|5|90"]
        );
    }

    #[test]
    fn pause_and_unpause_per_queue_with_reason() {
        let st = |from, to, reason: Option<&str>| EventKind::AgentState {
            agent: A,
            from,
            to,
            duration_ms: 0,
            reason: reason.map(str::to_string),
        };
        assert_eq!(
            one(st(
                StateKind::Ready,
                StateKind::NotReady,
                Some("lunch|break")
            )),
            vec![
                "1366720340|NONE|sales|1001|PAUSE|lunch_break",
                "1366720340|NONE|support|1001|PAUSE|lunch_break"
            ]
        );
        assert_eq!(
            one(st(StateKind::NotReady, StateKind::Ready, None)),
            vec![
                "1366720340|NONE|sales|1001|UNPAUSE|",
                "1366720340|NONE|support|1001|UNPAUSE|"
            ]
        );
        assert!(one(st(StateKind::Ready, StateKind::OnCall, None)).is_empty());
    }

    #[test]
    fn addmember_and_removemember() {
        assert_eq!(
            one(EventKind::MemberAdded { agent: A, queue: Q }),
            vec!["1366720340|NONE|sales|1001|ADDMEMBER|"]
        );
        assert_eq!(
            one(EventKind::MemberRemoved {
                agent: A,
                queue: QueueId(1)
            }),
            vec!["1366720340|NONE|support|1001|REMOVEMEMBER|"]
        );
    }
}

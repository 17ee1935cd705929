//! The agent API (`Endpoint::agent_command`): the same effects as the feature codes.

use super::queue::{acd, queue_caller, queue_cfg, register, AGENT};
use super::*;
use crate::acd::{AgentState, Engine};
use crate::sip::endpoint::acd::{AgentCommand, AgentCommandError};

fn endpoint() -> H {
    let mut h = H::new(queue_cfg());
    let now = h.now;
    h.ep.set_acd(Engine::new(&acd(), now, 0).expect("valid ACD config"));
    register(&mut h, "1002", "pw2", AGENT);
    h.clear();
    h
}

#[test]
fn login_not_ready_ready_and_logout_through_the_api() {
    let mut h = endpoint();
    let now = h.now;
    assert_eq!(
        h.ep.agent_command(now, "9999", AgentCommand::Ready),
        Err(AgentCommandError::UnknownAgent("9999".into()))
    );
    assert_eq!(
        h.ep.agent_command(
            now,
            "1002",
            AgentCommand::Login {
                phone: "7777".into()
            }
        ),
        Err(AgentCommandError::UnknownPhone("7777".into()))
    );
    h.ep.agent_command(
        now,
        "1002",
        AgentCommand::Login {
            phone: "1002".into(),
        },
    )
    .expect("login");
    h.ep.agent_command(
        now,
        "1002",
        AgentCommand::NotReady {
            reason: "lunch".into(),
        },
    )
    .expect("not ready");
    assert!(matches!(
        h.ep.agent_state("1002"),
        Some(AgentState::NotReady { reason }) if reason == "lunch"
    ));
    h.collect();
    let stored: Vec<String> = h
        .take_outs()
        .into_iter()
        .filter_map(|(_, o)| match o {
            Output::AgentState(r) => Some(r.state),
            _ => None,
        })
        .collect();
    assert_eq!(stored.last().map(String::as_str), Some("not-ready"));
    // Not ready: a caller waits, nobody rings.
    let _call = queue_caller(&mut h);
    assert!(h.take_sent_to(AGENT).is_empty());
    let now = h.now;
    h.ep.agent_command(now, "1002", AgentCommand::Ready)
        .expect("ready");
    h.collect();
    assert_eq!(kinds(&h.take_sent_to(AGENT)), ["INVITE"], "offered at once");
}

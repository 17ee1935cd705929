//! A queue at run time: its resolved config, its callers and its ready agents.

use std::collections::BTreeSet;

use super::agent::ReadyKey;
use super::config::QueueConfig;
use super::ewt::HandleWindow;
use super::ids::AgentId;
use super::skills::Level;
use super::step::Stage;
use super::waiting::WaitingList;

#[derive(Debug)]
pub(crate) struct Queue {
    pub cfg: QueueConfig,
    pub required: Vec<Level>,
    pub stages: Vec<Stage>,
    /// Member agents in config order (round-robin order).
    pub members: Vec<AgentId>,
    pub waiting: WaitingList,
    /// Per stage: the available agents qualifying at that stage, in strategy order.
    pub ready: Vec<BTreeSet<ReadyKey>>,
    /// Round-robin memory: rank of the member offered last.
    pub rr_last: Option<i64>,
    pub logged_in: u32,
    pub staffed: u32,
    pub handle: HandleWindow,
}

impl Queue {
    pub fn new(cfg: QueueConfig, required: Vec<Level>, stages: Vec<Stage>, window: usize) -> Self {
        let n = stages.len();
        Queue {
            cfg,
            required,
            stages,
            members: Vec::new(),
            waiting: WaitingList::new(n),
            ready: (0..n).map(|_| BTreeSet::new()).collect(),
            rr_last: None,
            logged_in: 0,
            staffed: 0,
            handle: HandleWindow::new(window),
        }
    }
}

//! One caller's walk through the menus, sans-IO: digits and prompt completions come in with
//! the time, prompts to play and the final exit go out, and `poll_timeout` says when the
//! caller's silence counts as a miss.

use std::collections::VecDeque;
use std::time::Instant;

use super::menu::{Action, Menu, Menus};

/// Where the caller leaves the IVR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Queue(String),
    Extension(String),
    Hangup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrOutput {
    /// Play these prompts in order (stopping what is playing); a key press interrupts them.
    Play(Vec<String>),
    /// A collected value for the call (screen pop, routing).
    SetVariable { name: String, value: String },
    /// The caller chose (or failed into) this exit; the session is over.
    Exit(Exit),
}

pub struct IvrSession {
    menu: String,
    /// Digits gathered so far in a collecting menu.
    gathered: String,
    misses: u32,
    /// While a prompt plays no timeout runs: it starts when the prompt ends (or at the
    /// first digit).
    deadline: Option<Instant>,
    done: bool,
    /// Menus visited through `menu:` jumps without a key press in between, to stop loops.
    hops: u32,
    out: VecDeque<IvrOutput>,
}

/// A menu leading to itself through `on_failure = "menu:..."` chains forever otherwise.
const MAX_HOPS: u32 = 16;

impl IvrSession {
    /// Enter the IVR at `menu`. An unknown menu exits with a hang-up (config validation
    /// makes that impossible for configured names).
    pub fn new(menus: &Menus, menu: &str) -> Self {
        let mut s = IvrSession {
            menu: menu.to_string(),
            gathered: String::new(),
            misses: 0,
            deadline: None,
            done: false,
            hops: 0,
            out: VecDeque::new(),
        };
        s.enter(menus, menu, Vec::new());
        s
    }

    pub fn menu(&self) -> &str {
        &self.menu
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn poll_output(&mut self) -> Option<IvrOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The prompts asked for last have finished playing: the caller's time to answer runs.
    pub fn handle_prompt_done(&mut self, now: Instant, menus: &Menus) {
        if self.done || self.deadline.is_some() {
            return;
        }
        if let Some(m) = menus.get(&self.menu) {
            self.deadline = Some(now + m.timeout);
        }
    }

    pub fn handle_digit(&mut self, now: Instant, menus: &Menus, digit: char) {
        if self.done {
            return;
        }
        let Some(m) = menus.get(&self.menu).cloned() else {
            return self.exit(Exit::Hangup);
        };
        self.hops = 0;
        if let Some(c) = &m.collect {
            if c.terminator == Some(digit) {
                return self.finish_collect(now, menus, &m);
            }
            if !digit.is_ascii_digit() {
                return self.miss(menus, &m);
            }
            self.gathered.push(digit);
            // Inter-digit time: the next digit must follow within the menu's timeout.
            self.deadline = Some(now + m.timeout);
            if self.gathered.len() >= c.digits {
                self.finish_collect(now, menus, &m);
            }
            return;
        }
        match m.options.get(&digit).cloned() {
            Some(a) => self.act(menus, &m, a),
            None => self.miss(menus, &m),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, menus: &Menus) {
        if self.done || self.deadline.is_none_or(|d| now < d) {
            return;
        }
        let Some(m) = menus.get(&self.menu).cloned() else {
            return self.exit(Exit::Hangup);
        };
        if m.collect.is_some() && !self.gathered.is_empty() {
            // Some digits, then silence: what was typed is what the caller meant only if
            // it is complete; otherwise it is a miss.
            return self.finish_collect(now, menus, &m);
        }
        self.miss(menus, &m);
    }

    fn finish_collect(&mut self, _now: Instant, menus: &Menus, m: &Menu) {
        let Some(c) = &m.collect else { return };
        if self.gathered.len() != c.digits {
            return self.miss(menus, m);
        }
        let value = std::mem::take(&mut self.gathered);
        self.out.push_back(IvrOutput::SetVariable {
            name: c.variable.clone(),
            value,
        });
        self.act(menus, m, c.then.clone());
    }

    fn miss(&mut self, menus: &Menus, m: &Menu) {
        self.misses += 1;
        self.gathered.clear();
        if self.misses > m.max_invalid {
            return self.act(menus, m, m.on_failure.clone());
        }
        let mut prompts: Vec<String> = m.invalid_prompt.iter().cloned().collect();
        prompts.push(m.prompt.clone());
        self.deadline = None;
        self.out.push_back(IvrOutput::Play(prompts));
    }

    fn act(&mut self, menus: &Menus, m: &Menu, a: Action) {
        match a {
            Action::Queue(q) => self.exit(Exit::Queue(q)),
            Action::Extension(e) => self.exit(Exit::Extension(e)),
            Action::Hangup => self.exit(Exit::Hangup),
            Action::Repeat => {
                self.gathered.clear();
                self.deadline = None;
                self.out.push_back(IvrOutput::Play(vec![m.prompt.clone()]));
            }
            Action::Menu(next) => {
                self.hops += 1;
                if self.hops > MAX_HOPS {
                    return self.exit(Exit::Hangup);
                }
                self.enter(menus, &next, Vec::new());
            }
        }
    }

    fn enter(&mut self, menus: &Menus, name: &str, mut before: Vec<String>) {
        let Some(m) = menus.get(name) else {
            return self.exit(Exit::Hangup);
        };
        self.menu = name.to_string();
        self.gathered.clear();
        self.misses = 0;
        self.deadline = None;
        before.push(m.prompt.clone());
        self.out.push_back(IvrOutput::Play(before));
    }

    fn exit(&mut self, e: Exit) {
        self.done = true;
        self.deadline = None;
        self.out.push_back(IvrOutput::Exit(e));
    }
}

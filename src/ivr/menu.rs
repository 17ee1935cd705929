//! IVR menus as configured: what a menu plays, which digits it takes, where each leads.

use std::collections::HashMap;
use std::time::Duration;

/// Where a key press (or a finished collection) sends the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Queue(String),
    Menu(String),
    Extension(String),
    Hangup,
    /// Play this menu again (counts as neither valid nor invalid).
    Repeat,
}

impl Action {
    /// `queue:NAME`, `menu:NAME`, `extension:EXT`, `hangup`, `repeat`.
    pub fn parse(s: &str) -> Result<Action, String> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k.trim(), Some(a.trim())),
            None => (s.trim(), None),
        };
        let named = |a: Option<&str>| match a {
            Some(a) if !a.is_empty() => Ok(a.to_string()),
            _ => Err(format!("`{s}` needs a name after `{kind}:`")),
        };
        match kind {
            "queue" => Ok(Action::Queue(named(arg)?)),
            "menu" => Ok(Action::Menu(named(arg)?)),
            "extension" => Ok(Action::Extension(named(arg)?)),
            "hangup" if arg.is_none() => Ok(Action::Hangup),
            "repeat" if arg.is_none() => Ok(Action::Repeat),
            _ => Err(format!(
                "unknown IVR action `{s}` (expected queue:NAME, menu:NAME, extension:EXT, hangup or repeat)"
            )),
        }
    }
}

/// Digits gathered into a call variable (a customer or account number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collect {
    pub variable: String,
    /// Exactly this many digits end the input (unless the terminator comes first).
    pub digits: usize,
    /// Ends the input early (not part of the value). Usually '#'.
    pub terminator: Option<char>,
    /// Where the caller goes once the value is complete.
    pub then: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub name: String,
    /// Prompt name (the media layer maps it to loaded audio).
    pub prompt: String,
    /// Played after a wrong key or a timeout, before the menu's prompt again.
    pub invalid_prompt: Option<String>,
    /// Silence after the prompt (or between collected digits) that counts as a miss.
    pub timeout: Duration,
    /// Misses (wrong key, timeout) allowed before `on_failure`.
    pub max_invalid: u32,
    pub on_failure: Action,
    /// Digit → action. Empty for a collecting menu.
    pub options: HashMap<char, Action>,
    pub collect: Option<Collect>,
}

/// All menus by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Menus {
    pub menus: HashMap<String, Menu>,
}

impl Menus {
    pub fn get(&self, name: &str) -> Option<&Menu> {
        self.menus.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_actions_and_explains_mistakes() {
        assert_eq!(
            Action::parse("queue:billing"),
            Ok(Action::Queue("billing".into()))
        );
        assert_eq!(
            Action::parse("menu: main "),
            Ok(Action::Menu("main".into()))
        );
        assert_eq!(
            Action::parse("extension:1001"),
            Ok(Action::Extension("1001".into()))
        );
        assert_eq!(Action::parse("hangup"), Ok(Action::Hangup));
        assert_eq!(Action::parse("repeat"), Ok(Action::Repeat));
        assert!(Action::parse("queue:")
            .unwrap_err()
            .contains("needs a name"));
        assert!(Action::parse("voicemail:1")
            .unwrap_err()
            .contains("unknown IVR action"));
        assert!(Action::parse("hangup:now").is_err());
    }
}

//! Routing a new call: who is calling (a user or a trunk), where it goes (an extension, a
//! trunk), or why it may not.

use crate::config::{DialplanConfig, InboundTarget};

/// Who placed the call, as established before routing (digest auth or trunk source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An authenticated local user (their extension).
    User(String),
    /// A call arriving from a trunk (by name).
    Trunk(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Extension(String),
    /// An IVR menu (by name): answered by us, prompts played, digits collected.
    Ivr(String),
    /// An ACD queue (by name): answered by us, the caller waits for an agent.
    Queue(String),
    /// An agent's feature code (login, ready ...): recognised by the endpoint before the
    /// dial plan is asked, never returned by `route`.
    Feature,
    Trunk {
        trunk: String,
        /// The number as sent to the carrier (after strip/prepend).
        number: String,
    },
}

/// A refusal with the SIP status to send and the reason to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoute {
    pub code: u16,
    pub why: String,
}

pub struct Dialplan<'a> {
    pub plan: &'a DialplanConfig,
    /// Is this a configured (enabled) extension?
    pub is_extension: &'a dyn Fn(&str) -> bool,
    /// The route classes a user may dial.
    pub permissions: &'a dyn Fn(&str) -> Vec<String>,
    /// Extensions that lead to an IVR menu.
    pub ivr_extensions: &'a dyn Fn(&str) -> Option<String>,
}

impl Dialplan<'_> {
    pub fn is_blocked(&self, caller_number: &str) -> bool {
        self.plan.blocked.iter().any(|p| p.matches(caller_number))
    }

    pub fn route(&self, origin: &Origin, dialled: &str) -> Result<Target, NoRoute> {
        match origin {
            Origin::Trunk(trunk) => self
                .plan
                .inbound
                .iter()
                .find(|i| i.number.matches(dialled))
                .map(|i| match &i.target {
                    InboundTarget::Extension(e) => Target::Extension(e.clone()),
                    InboundTarget::Ivr(m) => Target::Ivr(m.clone()),
                    InboundTarget::Queue(q) => Target::Queue(q.clone()),
                })
                .ok_or_else(|| NoRoute {
                    code: 404,
                    why: format!(
                        "number {dialled} from trunk {trunk} matches no [[dialplan.inbound]] entry"
                    ),
                }),
            Origin::User(user) => {
                if (self.is_extension)(dialled) {
                    return Ok(Target::Extension(dialled.to_string()));
                }
                if let Some(menu) = (self.ivr_extensions)(dialled) {
                    return Ok(Target::Ivr(menu));
                }
                let Some(route) = self.plan.routes.iter().find(|r| r.pattern.matches(dialled))
                else {
                    return Err(NoRoute {
                        code: 404,
                        why: format!(
                            "{dialled} is no extension and matches no [[dialplan.routes]] pattern"
                        ),
                    });
                };
                if !(self.permissions)(user).contains(&route.class) {
                    return Err(NoRoute {
                        code: 403,
                        why: format!(
                            "user {user} may not dial {dialled}: route {} needs permission `{}`",
                            route.pattern, route.class
                        ),
                    });
                }
                let rest = dialled.get(route.strip.min(dialled.len())..).unwrap_or("");
                Ok(Target::Trunk {
                    trunk: route.trunk.clone(),
                    number: format!("{}{rest}", route.prepend),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Inbound, InboundTarget, Route};

    fn plan() -> DialplanConfig {
        DialplanConfig {
            blocked: vec!["_1900X.".parse().unwrap(), "+15550000001".parse().unwrap()],
            routes: vec![
                Route {
                    pattern: "_00X.".parse().unwrap(),
                    trunk: "carrier".into(),
                    class: "international".into(),
                    strip: 2,
                    prepend: "+".into(),
                    recording: None,
                },
                Route {
                    pattern: "_0X.".parse().unwrap(),
                    trunk: "carrier".into(),
                    class: "national".into(),
                    strip: 1,
                    prepend: "+44".into(),
                    recording: None,
                },
            ],
            inbound: vec![
                Inbound {
                    number: "+15551230001".parse().unwrap(),
                    target: InboundTarget::Extension("1001".into()),
                    priority: 0,
                },
                Inbound {
                    number: "+15551230002".parse().unwrap(),
                    target: InboundTarget::Ivr("main".into()),
                    priority: 5,
                },
            ],
        }
    }

    #[test]
    fn routes_extensions_trunks_and_dids() {
        let plan = plan();
        let dp = Dialplan {
            plan: &plan,
            is_extension: &|e| e == "1001" || e == "1002",
            permissions: &|u| {
                if u == "1001" {
                    vec!["national".into(), "international".into()]
                } else {
                    vec!["national".into()]
                }
            },
            ivr_extensions: &|e| (e == "500").then(|| "main".to_string()),
        };
        let alice = Origin::User("1001".into());
        let bob = Origin::User("1002".into());
        assert_eq!(
            dp.route(&alice, "1002"),
            Ok(Target::Extension("1002".into()))
        );
        assert_eq!(
            dp.route(&alice, "0049301234"),
            Ok(Target::Trunk {
                trunk: "carrier".into(),
                number: "+49301234".into()
            })
        );
        assert_eq!(
            dp.route(&bob, "02071234567"),
            Ok(Target::Trunk {
                trunk: "carrier".into(),
                number: "+442071234567".into()
            })
        );
        assert_eq!(dp.route(&bob, "0049301234").unwrap_err().code, 403);
        assert_eq!(dp.route(&bob, "9999").unwrap_err().code, 404);
        let trunk = Origin::Trunk("carrier".into());
        assert_eq!(
            dp.route(&trunk, "+15551230001"),
            Ok(Target::Extension("1001".into()))
        );
        assert_eq!(dp.route(&trunk, "1002").unwrap_err().code, 404);
        assert_eq!(
            dp.route(&trunk, "+15551230002"),
            Ok(Target::Ivr("main".into()))
        );
        assert_eq!(dp.route(&bob, "500"), Ok(Target::Ivr("main".into())));
        assert!(dp.is_blocked("19005551234"));
        assert!(dp.is_blocked("+15550000001"));
        assert!(!dp.is_blocked("+15550000002"));
    }
}

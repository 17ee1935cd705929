//! The shipped demo's dial plan (config/switchboard.toml) says what its classes mean: one
//! number of each class, dialled by users with and without that class. The defect: a
//! "national" user reached `011…` international numbers through the `_0X.` route.

use std::path::Path;

use switchboard::call::dialplan::{Dialplan, Origin, Target};
use switchboard::call::sipstr::dial_string;

fn route(user: &str, dialled: &str) -> Result<Target, u16> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/switchboard.toml");
    let cfg = switchboard::config::load(&path).expect("the shipped config loads");
    let dialled = dial_string(dialled).map_err(|e| e.code())?;
    let users = cfg.users.clone();
    let dp = Dialplan {
        plan: &cfg.dialplan,
        is_extension: &|e| users.iter().any(|u| u.extension == e),
        permissions: &|u| {
            users
                .iter()
                .find(|x| x.extension == u)
                .map(|x| x.permissions.clone())
                .unwrap_or_default()
        },
        ivr_extensions: &|_| None,
    };
    dp.route(&Origin::User(user.into()), &dialled)
        .map_err(|no| no.code)
}

fn trunk(number: &str) -> Result<Target, u16> {
    Ok(Target::Trunk {
        trunk: "carrier".into(),
        number: number.into(),
    })
}

// 1001 may dial national and international; 1003 national only (and monitor); nobody premium.

#[test]
fn international_needs_the_international_class() {
    assert_eq!(route("1001", "011442071234567"), trunk("+442071234567"));
    assert_eq!(route("1001", "+442071234567"), trunk("+442071234567"));
    assert_eq!(route("1003", "011442071234567"), Err(403));
    assert_eq!(route("1003", "+442071234567"), Err(403));
    // Escaped, it is the same number and the same refusal.
    assert_eq!(route("1003", "%30%31%31442071234567"), Err(403));
}

#[test]
fn national_is_open_to_national_users_in_every_form() {
    for dialled in ["12125551234", "2125551234", "+12125551234"] {
        assert_eq!(route("1003", dialled), trunk("+12125551234"), "{dialled}");
    }
    // NANP area and exchange codes never start with 0 or 1: those are not national numbers.
    assert_eq!(route("1003", "10125551234"), Err(404));
    assert_eq!(route("1003", "2121551234"), Err(404));
}

#[test]
fn premium_is_its_own_class_that_no_demo_user_has() {
    assert_eq!(route("1001", "19005551234"), Err(403));
    assert_eq!(route("1001", "+19005551234"), Err(403));
    assert_eq!(route("1003", "19005551234"), Err(403));
}

#[test]
fn numbers_of_no_class_are_not_routed() {
    for dialled in ["00442071234567", "0442071234567", "911", "5551234"] {
        assert_eq!(route("1001", dialled), Err(404), "{dialled}");
    }
    assert_eq!(route("1001", "1002"), Ok(Target::Extension("1002".into())));
}

//! Property tests for version ordering: for generated versions of every scheme the order is antisymmetric,
//! transitive and consistent with `Eq` (the loose scheme of CPE versions too, which has no external
//! oracle); strict SemVer agrees with the `semver` crate and PEP 440 with
//! `pep440_rs` (independent implementations); hostile input never panics. Failing cases are saved under
//! `crates/core/proptest-regressions/` and committed.

use std::cmp::Ordering;

use bulwark_core::{Version, VersionScheme};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// A generator of mostly-valid version text per scheme; invalid strings are filtered out by `parse`.
fn text(scheme: VersionScheme) -> &'static str {
    match scheme {
        VersionScheme::Semver => {
            r"v?(0|[1-9][0-9]?)(\.(0|[1-9][0-9]?)){0,2}(-([0-9a-c]{1,2}|0|[1-9])(\.([a-c]{1,2}|[0-9])){0,2})?(\+[a-z0-9]{1,3})?"
        }
        VersionScheme::Npm => {
            r"[v=]?[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}(-?[0-9a-c-]{1,2}(\.[0-9a-c]{1,2}){0,2})?(\+b[0-9])?"
        }
        VersionScheme::Go => {
            r"v?(0|[1-9])(\.(0|[1-9][0-9]?)(\.(0|[1-9])(-(pre|rc|0)(\.(0|1|2)(\.2019010100000[0-9]-abcdef[0-9]{6})?)?)?)?)?(\+incompatible)?"
        }
        VersionScheme::Pep440 => {
            r"v?([1-2]!)?[0-9]{1,2}(\.[0-9]{1,2}){0,3}((a|b|rc|c|alpha|beta|pre)[0-9]?)?(\.post[0-9]?|-[0-9])?(\.dev[0-9]?)?(\+[a-z0-9]{1,3}([._-][a-z0-9]{1,2}){0,2})?"
        }
        VersionScheme::Maven => {
            r"[0-9]{1,2}([.-]([0-9]{1,2}|alpha|beta|rc|cr|m|snapshot|final|ga|release|sp|foo|a|b)){0,4}"
        }
        VersionScheme::NuGet => {
            r"[0-9]{1,2}(\.[0-9]{1,2}){1,3}(-([a-cA-C]{1,3}|[1-9][0-9]?)(\.([a-c]{1,2}|[0-9])){0,2})?(\+meta)?"
        }
        VersionScheme::RubyGems => {
            r"[0-9]{1,2}(\.([0-9]{1,2}|[a-cA-C]{1,3}|pre|rc[0-9])){0,4}(-[a-z0-9]{1,3})?"
        }
        VersionScheme::Composer => {
            r"v?[0-9]{1,2}(\.[0-9]{1,2}){0,3}(-(alpha|beta|RC|b|a|patch|p|pl|stable)[0-9]?)?(-dev)?|dev-(master|feat|fix)|[0-9]\.x-dev"
        }
        VersionScheme::Dpkg => {
            r"([0-2]:)?[0-9]{1,2}(\.[0-9]{1,2}){0,2}([a-c~+]{1,2}[0-9]?)?(-[0-9]{1,2}(\.[0-9]|~[a-z]{1,3}|\+b[0-9])?)?"
        }
        VersionScheme::Rpm => {
            r"([0-2]:)?[0-9]{1,2}(\.[0-9a-c]{1,2}){0,2}([~^][a-z0-9]{1,3})?(-[0-9]{1,2}(\.el[89](_[0-9])?)?)?"
        }
        VersionScheme::Apk => {
            r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}[a-c]?(_(alpha|beta|pre|rc|p|git|cvs|svn|hg)[0-9]?){0,2}(~[0-9a-f]{1,3})?(-r[0-9]{1,2})?"
        }
        // Zeros, letters and separators in every position: `1.0` = `1`, `1.0.a`, `1a`, `v2-RC1`.
        VersionScheme::Loose => r"v?[0-9a-cA-C]{0,2}([._+~-]?(0|[1-9]|[a-c]{1,2}|RC)[0-9]?){0,4}",
    }
}

const SCHEMES: [VersionScheme; 12] = [
    VersionScheme::Semver,
    VersionScheme::Npm,
    VersionScheme::Go,
    VersionScheme::Pep440,
    VersionScheme::Maven,
    VersionScheme::NuGet,
    VersionScheme::RubyGems,
    VersionScheme::Composer,
    VersionScheme::Dpkg,
    VersionScheme::Rpm,
    VersionScheme::Apk,
    VersionScheme::Loose,
];

fn version(scheme: VersionScheme) -> impl Strategy<Value = Version> {
    text(scheme).prop_filter_map("not a valid version", move |t| {
        Version::parse(scheme, &t).ok()
    })
}

/// Three versions of one (random) scheme.
fn triple() -> impl Strategy<Value = (Version, Version, Version)> {
    proptest::sample::select(SCHEMES.to_vec())
        .prop_flat_map(|s| (version(s), version(s), version(s)))
}

proptest! {
    // Cargo runs integration tests from the crate root, so this is crates/core/proptest-regressions/.
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/version_props.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn order_is_a_total_order((a, b, c) in triple()) {
        // Antisymmetric.
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{} vs {}", a, b);
        // Consistent with Eq, and equal versions compare alike against a third.
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
        if a == b {
            prop_assert_eq!(a.cmp(&c), b.cmp(&c), "{} == {} but they order differently against {}", a, b, c);
        }
        // Transitive.
        let mut sorted = [&a, &b, &c];
        sorted.sort();
        prop_assert!(sorted[0] <= sorted[1] && sorted[1] <= sorted[2] && sorted[0] <= sorted[2],
            "not transitive: {} {} {}", sorted[0], sorted[1], sorted[2]);
        // Reflexive.
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
    }

    #[test]
    fn strict_semver_agrees_with_the_semver_crate(
        a in r"(0|[1-9][0-9]{0,2})\.(0|[1-9])\.(0|[1-9])(-([0-9a-c]{1,2}|0|[1-9]|-)(\.([a-c-]{1,2}|[0-9]{1,2})){0,3})?(\+[a-z0-9]{1,3})?",
        b in r"(0|[1-9][0-9]{0,2})\.(0|[1-9])\.(0|[1-9])(-([0-9a-c]{1,2}|0|[1-9]|-)(\.([a-c-]{1,2}|[0-9]{1,2})){0,3})?(\+[a-z0-9]{1,3})?",
    ) {
        if let (Ok(x), Ok(y)) = (semver::Version::parse(&a), semver::Version::parse(&b)) {
            let ours = Version::parse(VersionScheme::Semver, &a).unwrap().cmp(&Version::parse(VersionScheme::Semver, &b).unwrap());
            prop_assert_eq!(ours, x.cmp_precedence(&y), "{} vs {}", a, b);
            // Go orders the same versions the same way.
            let go = Version::parse(VersionScheme::Go, &a).unwrap().cmp(&Version::parse(VersionScheme::Go, &b).unwrap());
            prop_assert_eq!(go, x.cmp_precedence(&y), "go: {} vs {}", a, b);
        }
    }

    #[test]
    fn pep440_agrees_with_pep440_rs(a in text(VersionScheme::Pep440), b in text(VersionScheme::Pep440)) {
        if let (Ok(x), Ok(y)) = (a.parse::<pep440_rs::Version>(), b.parse::<pep440_rs::Version>()) {
            let ours = Version::parse(VersionScheme::Pep440, &a).unwrap().cmp(&Version::parse(VersionScheme::Pep440, &b).unwrap());
            prop_assert_eq!(ours, x.cmp(&y), "{} vs {}", a, b);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(scheme in proptest::sample::select(SCHEMES.to_vec()), t in r"\PC{0,40}") {
        if let Ok(v) = Version::parse(scheme, &t) {
            prop_assert_eq!(v.cmp(&v), Ordering::Equal);
            let _ = v.major();
            let _ = v.is_prerelease();
        }
    }
}

#[test]
fn hostile_input_is_handled() {
    let huge_number = format!("1.{}", "9".repeat(1_000_000));
    let huge_text = "a".repeat(1_000_000);
    let huge_dots = ".".repeat(1_000_000);
    for scheme in SCHEMES {
        for text in [
            &huge_number,
            &huge_text,
            &huge_dots,
            &"1.".repeat(500_000),
            &format!("1-{}", "-".repeat(100_000)),
        ] {
            // Either outcome is fine; panicking or hanging is not.
            if let Ok(v) = Version::parse(scheme, text) {
                assert_eq!(v.cmp(&v), Ordering::Equal);
            }
        }
    }
}

#[test]
fn big_numbers_compare_exactly() {
    // npm (node-semver) and NuGet (32-bit parts) reject numbers this large; every other scheme orders them.
    for scheme in SCHEMES {
        let small = Version::parse(scheme, "1.99999999999999999999999");
        let large = Version::parse(scheme, "1.100000000000000000000000");
        match (scheme, small, large) {
            (VersionScheme::Npm | VersionScheme::NuGet, Err(_), Err(_)) => {}
            (_, Ok(small), Ok(large)) => {
                assert!(small < large, "{scheme:?}: {small} < {large}");
                assert_eq!(small.major(), Some(1), "{scheme:?}");
            }
            (_, small, large) => panic!("{scheme:?}: {small:?} {large:?}"),
        }
    }
}

#[test]
fn errors_name_scheme_text_and_reason() {
    let err = Version::parse(VersionScheme::Dpkg, "1:").unwrap_err();
    assert_eq!(err.scheme, VersionScheme::Dpkg);
    assert_eq!(err.text, "1:");
    assert_eq!(err.reason, "nothing after colon in version number");
    assert_eq!(
        err.to_string(),
        r#"Dpkg version "1:" is not valid: nothing after colon in version number"#
    );
    for scheme in SCHEMES {
        assert!(
            Version::parse(scheme, "").is_err(),
            "{scheme:?} accepts the empty string"
        );
    }
}

#[test]
fn majors_and_prereleases() {
    let cases = [
        (VersionScheme::Semver, "v2.1", Some(2), false),
        (VersionScheme::Npm, "=3.0.0-beta.1", Some(3), true),
        (
            VersionScheme::Go,
            "v0.0.0-20191109021931-daa7c04131f5",
            Some(0),
            true,
        ),
        (VersionScheme::Pep440, "1!4.0.dev1", Some(4), true),
        (VersionScheme::Maven, "5.3.0.RELEASE", Some(5), false),
        (VersionScheme::Maven, "6.0-M1", Some(6), true),
        (VersionScheme::NuGet, "7.0.0-preview.1", Some(7), true),
        (VersionScheme::RubyGems, "8.0.0.rc1", Some(8), true),
        (VersionScheme::Composer, "v9.1-beta2", Some(9), true),
        (VersionScheme::Composer, "dev-main", None, true),
        (VersionScheme::Dpkg, "1:10.2~rc1-3", Some(10), true),
        (VersionScheme::Rpm, "2:11.0-1.el9", Some(11), false),
        (VersionScheme::Apk, "12.1_rc2-r0", Some(12), true),
        (VersionScheme::Loose, "13.0rc3", Some(13), false),
    ];
    for (scheme, text, major, pre) in cases {
        let v = Version::parse(scheme, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (v.major(), v.is_prerelease()),
            (major, pre),
            "{scheme:?} {text}"
        );
        assert_eq!((v.as_str(), v.scheme()), (text, scheme));
    }
}

#[test]
fn schemes_order_apart() {
    let a = Version::parse(VersionScheme::Semver, "9.0.0").unwrap();
    let b = Version::parse(VersionScheme::Dpkg, "1.0").unwrap();
    assert_eq!(a.cmp(&b), Ordering::Less);
    assert_ne!(a, b);
}

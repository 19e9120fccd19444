//! OpenSCAP results: XCCDF 1.2 `TestResult`s (alone, embedded in their `Benchmark`, or inside an ARF
//! report collection) turned into configuration check results.
//!
//! The file is read as a stream of XML events (quick-xml), so a 4 MB OpenSCAP result with its whole
//! benchmark is never held as a tree. From the `Benchmark`, each `Rule`'s title, description, severity,
//! weight, remediation and enclosing `Group`s are kept; from each `TestResult`, the
//! target, identity, profile, times, scores and every `rule-result` (idref, result, severity, weight).
//!
//! A check's remediation is the rule's `fixtext`, else its shell `fix` script, else its Ansible `fix` task
//! (ComplianceAsCode's Debian content often has only the last); Puppet and blueprint fixes are not used.
//!
//! Mapping to the Secure Score:
//! - results: `pass` and `fixed` → pass; `fail` → fail; `notapplicable`, `notselected`, `informational` →
//!   statuses that do not count; `unknown` and `notchecked` → not collected; `error` → error;
//! - weight: the severity, `low` → 3, `medium` → 6, `high` → 9, `unknown` (or none) → 5. A rule whose XCCDF
//!   `weight` is 0 is informational by XCCDF's own scoring and is reported as `Informational`;
//! - category: [`rule_category`], a heuristic over the rule id and its groups.

use std::borrow::Cow;
use std::collections::HashMap;

use bulwark_core::config::{
    CheckResult, CheckSource, CheckStatus, ConfigCategory, ConfigCheck, Evidence, Weight,
};
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use crate::FormatError;
use crate::inventory::purl::line_column;

/// The XCCDF 1.2 namespace (1.1 documents use the same element names and are read too).
pub const XCCDF_NAMESPACE: &str = "http://checklists.nist.gov/xccdf/1.2";
const XCCDF_11_NAMESPACE: &str = "http://checklists.nist.gov/xccdf/1.1";

/// The prefix of ComplianceAsCode's XCCDF rule ids; what follows is the ComplianceAsCode rule id.
pub const SSG_RULE_PREFIX: &str = "xccdf_org.ssgproject.content_rule_";
const SSG_GROUP_PREFIX: &str = "xccdf_org.ssgproject.content_group_";

/// What an XCCDF results file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct XccdfReport {
    /// The `Benchmark`'s id, when the file embeds it.
    pub benchmark: Option<String>,
    /// The rules that have a result, as checks (title, description and fix text from the benchmark when it
    /// is embedded, else the id as title), in the order of their first result.
    pub rules: Vec<ConfigCheck>,
    /// Every `TestResult`, in file order.
    pub test_results: Vec<XccdfTestResult>,
}

/// One XCCDF `TestResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct XccdfTestResult {
    /// Its `id`.
    pub id: String,
    /// The evaluated benchmark's id (`<benchmark id=…>`).
    pub benchmark: Option<String>,
    /// The evaluated profile's id.
    pub profile: Option<String>,
    /// The target's name (host name).
    pub target: Option<String>,
    /// The target's addresses.
    pub target_addresses: Vec<String>,
    /// Who ran the scan.
    pub identity: Option<XccdfIdentity>,
    /// `start-time`, as written.
    pub start_time: Option<String>,
    /// `end-time`, as written.
    pub end_time: Option<String>,
    /// The scores the scanner computed (`urn:xccdf:scoring:default` …).
    pub scores: Vec<XccdfScore>,
    /// One result per `rule-result`, in file order, with source `openscap`.
    pub results: Vec<CheckResult>,
}

/// The `identity` of a test result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XccdfIdentity {
    /// The account name.
    pub name: String,
    /// The `privileged` attribute: whether the scan ran with privileges.
    pub privileged: bool,
    /// The `authenticated` attribute.
    pub authenticated: bool,
}

/// One `score` of a test result.
#[derive(Debug, Clone, PartialEq)]
pub struct XccdfScore {
    /// The scoring system (`urn:xccdf:scoring:default`).
    pub system: String,
    /// The score.
    pub value: f64,
    /// The `maximum` attribute, when present.
    pub maximum: Option<f64>,
}

/// True when the start of `bytes` is an XCCDF 1.2 (or 1.1) document or an ARF report collection.
pub fn detect(bytes: &[u8]) -> bool {
    let window = crate::inventory::requirements::window(bytes);
    (window.contains(XCCDF_NAMESPACE) || window.contains(XCCDF_11_NAMESPACE))
        && ["Benchmark", "TestResult", "asset-report-collection"]
            .iter()
            .any(|root| window.contains(root))
}

/// The weight of an XCCDF severity.
pub fn severity_weight(severity: Option<&str>) -> Weight {
    let points = match severity {
        Some("low") => 3,
        Some("medium") => 6,
        Some("high") => 9,
        _ => 5,
    };
    Weight::new(points).unwrap_or(Weight::MIN)
}

/// The category of an XCCDF rule, from its id and the ids of the groups that enclose it (outermost first).
///
/// The rule id is looked at first, word by word (split on `_` and `-`, after the ComplianceAsCode prefix):
/// `ssh`/`sshd` → Network; `audit`, `auditd`, `aide`, `selinux`, `sebool`, `apparmor`, `rsyslog`,
/// `journald`, `fapolicyd`, `usbguard` → SecurityControls; `firewall`, `firewalld`, `nftables`, `iptables`,
/// `ip6tables`, `ufw`, `wireless`, `net`, `ipv6` → Network; `account`, `accounts`, `password`, `passwords`,
/// `pam`, `faillock` → Accounts. Then the innermost group that says something: `accounts…` → Accounts;
/// `auditing`, `logging`, `integrity`, `aide`, `selinux`, `apparmor`, `fips`, `crypto`,
/// `endpoint_security_software` → SecurityControls; `network…`, `ssh…` → Network; the top-level `services`
/// group → Application. Then `package_…` and `service_…` rules → Application; everything else → OS.
pub fn rule_category(rule_id: &str, groups: &[String]) -> ConfigCategory {
    let short = rule_id.strip_prefix(SSG_RULE_PREFIX).unwrap_or(rule_id);
    let words: Vec<&str> = short.split(['_', '-']).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    if has(&["ssh", "sshd"]) {
        return ConfigCategory::Network;
    }
    if has(&[
        "audit",
        "auditd",
        "aide",
        "selinux",
        "sebool",
        "apparmor",
        "rsyslog",
        "journald",
        "fapolicyd",
        "usbguard",
    ]) {
        return ConfigCategory::SecurityControls;
    }
    if has(&[
        "firewall",
        "firewalld",
        "nftables",
        "iptables",
        "ip6tables",
        "ufw",
        "wireless",
        "net",
        "ipv6",
    ]) {
        return ConfigCategory::Network;
    }
    if has(&[
        "account",
        "accounts",
        "password",
        "passwords",
        "pam",
        "faillock",
    ]) {
        return ConfigCategory::Accounts;
    }
    for group in groups.iter().rev() {
        let group = group.strip_prefix(SSG_GROUP_PREFIX).unwrap_or(group);
        if group.starts_with("accounts") {
            return ConfigCategory::Accounts;
        }
        if [
            "auditing",
            "logging",
            "integrity",
            "software-integrity",
            "aide",
            "selinux",
            "apparmor",
            "fips",
            "crypto",
            "endpoint_security_software",
        ]
        .contains(&group)
        {
            return ConfigCategory::SecurityControls;
        }
        if group.starts_with("network") || group.starts_with("ssh") {
            return ConfigCategory::Network;
        }
    }
    let top = groups
        .first()
        .map(|g| g.strip_prefix(SSG_GROUP_PREFIX).unwrap_or(g));
    if top == Some("services") || short.starts_with("package_") || short.starts_with("service_") {
        return ConfigCategory::Application;
    }
    ConfigCategory::Os
}

/// A rule as the benchmark defines it.
#[derive(Default)]
struct RuleDef {
    severity: Option<String>,
    weight: Option<f64>,
    title: String,
    description: String,
    fixtext: String,
    fix_shell: String,
    fix_ansible: String,
    groups: Vec<String>,
}

/// A `rule-result` as read, before it is joined with its rule.
struct RawResult {
    idref: String,
    severity: Option<String>,
    weight: Option<f64>,
    result: String,
    check: Option<String>,
    /// Byte offset of the element, turned into a line only for an error.
    offset: u64,
}

/// The test result being read.
#[derive(Default)]
struct RawTestResult {
    id: String,
    benchmark: Option<String>,
    profile: Option<String>,
    target: Option<String>,
    target_addresses: Vec<String>,
    identity: Option<XccdfIdentity>,
    start_time: Option<String>,
    end_time: Option<String>,
    scores: Vec<XccdfScore>,
    results: Vec<RawResult>,
}

/// Where text being collected goes.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    RuleTitle,
    RuleDescription,
    RuleFixtext,
    RuleFixShell,
    RuleFixAnsible,
    Target,
    TargetAddress,
    Identity,
    Result,
    Score,
}

/// An open element that matters.
#[derive(Clone, PartialEq)]
enum Frame {
    Group,
    Rule,
    TestResult,
    RuleResult,
    Other,
}

/// Parses an XCCDF results file (or an ARF report collection); errors name the line and column.
pub fn parse(file: &str, bytes: &[u8]) -> Result<XccdfReport, FormatError> {
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    let at = |offset: u64| line_column(bytes, usize::try_from(offset).unwrap_or(usize::MAX));

    let mut benchmark = None;
    let mut frames: Vec<Frame> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut rules: HashMap<String, RuleDef> = HashMap::new();
    let mut rule: Option<(String, RuleDef)> = None;
    let mut test_results: Vec<RawTestResult> = Vec::new();
    let mut test: Option<RawTestResult> = None;
    let mut rule_result: Option<RawResult> = None;
    let mut score_attrs: Option<(String, Option<f64>)> = None;
    // The field whose text is being collected, the depth of its element, and the text so far.
    let mut capture: Option<(Field, usize, String)> = None;
    let mut seen_xccdf = false;

    loop {
        let offset = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok(read) => read,
            Err(e) => {
                return Err(FormatError::parse(
                    file,
                    at(reader.error_position()),
                    e.to_string(),
                ));
            }
        };
        match event {
            Event::Start(start) => {
                let depth = frames.len();
                if capture.is_some() {
                    // Markup inside a description (`html:code`): its text belongs to the description.
                    frames.push(Frame::Other);
                    continue;
                }
                let local = start.local_name();
                let local = local.as_ref();
                if !is_xccdf(&ns) {
                    frames.push(Frame::Other);
                    continue;
                }
                seen_xccdf = true;
                let attr = |name: &str| attribute(&start, name);
                let parent = frames.last().cloned();
                let frame = match (parent, local) {
                    (_, b"Benchmark") => {
                        benchmark = benchmark.or(attr("id"));
                        Frame::Other
                    }
                    (_, b"Group") => {
                        groups.push(attr("id").unwrap_or_default());
                        Frame::Group
                    }
                    (_, b"Rule") => {
                        let id = attr("id").ok_or_else(|| {
                            FormatError::parse(file, at(offset), "<Rule> without an id")
                        })?;
                        let weight = number(file, &|| at(offset), "weight", attr("weight"))?;
                        rule = Some((
                            id,
                            RuleDef {
                                severity: attr("severity"),
                                weight,
                                groups: groups.clone(),
                                ..RuleDef::default()
                            },
                        ));
                        Frame::Rule
                    }
                    (Some(Frame::Rule), b"title") => {
                        capture = Some((Field::RuleTitle, depth, String::new()));
                        Frame::Other
                    }
                    (Some(Frame::Rule), b"description") => {
                        capture = Some((Field::RuleDescription, depth, String::new()));
                        Frame::Other
                    }
                    (Some(Frame::Rule), b"fixtext") => {
                        capture = Some((Field::RuleFixtext, depth, String::new()));
                        Frame::Other
                    }
                    (Some(Frame::Rule), b"fix") => {
                        match attr("system").as_deref() {
                            Some("urn:xccdf:fix:script:sh") => {
                                capture = Some((Field::RuleFixShell, depth, String::new()));
                            }
                            Some("urn:xccdf:fix:script:ansible") => {
                                capture = Some((Field::RuleFixAnsible, depth, String::new()));
                            }
                            _ => {}
                        }
                        Frame::Other
                    }
                    (_, b"TestResult") => {
                        test = Some(RawTestResult {
                            id: attr("id").unwrap_or_default(),
                            start_time: attr("start-time"),
                            end_time: attr("end-time"),
                            ..RawTestResult::default()
                        });
                        Frame::TestResult
                    }
                    (Some(Frame::TestResult), name) => {
                        let current = test.as_mut().ok_or_else(|| {
                            FormatError::parse(file, at(offset), "element outside a TestResult")
                        })?;
                        match name {
                            b"benchmark" => current.benchmark = attr("id").or(attr("href")),
                            b"profile" => current.profile = attr("idref"),
                            b"target" => capture = Some((Field::Target, depth, String::new())),
                            b"target-address" => {
                                capture = Some((Field::TargetAddress, depth, String::new()));
                            }
                            b"identity" => {
                                current.identity = Some(XccdfIdentity {
                                    name: String::new(),
                                    privileged: attr("privileged").as_deref() == Some("true"),
                                    authenticated: attr("authenticated").as_deref() == Some("true"),
                                });
                                capture = Some((Field::Identity, depth, String::new()));
                            }
                            b"score" => {
                                let maximum =
                                    number(file, &|| at(offset), "maximum", attr("maximum"))?;
                                score_attrs = Some((attr("system").unwrap_or_default(), maximum));
                                capture = Some((Field::Score, depth, String::new()));
                            }
                            b"rule-result" => {
                                let idref = attr("idref").ok_or_else(|| {
                                    FormatError::parse(
                                        file,
                                        at(offset),
                                        "<rule-result> without an idref",
                                    )
                                })?;
                                let weight =
                                    number(file, &|| at(offset), "weight", attr("weight"))?;
                                rule_result = Some(RawResult {
                                    idref,
                                    severity: attr("severity"),
                                    weight,
                                    result: String::new(),
                                    check: None,
                                    offset,
                                });
                                frames.push(Frame::RuleResult);
                                continue;
                            }
                            _ => {}
                        }
                        Frame::Other
                    }
                    (Some(Frame::RuleResult), b"result") => {
                        capture = Some((Field::Result, depth, String::new()));
                        Frame::Other
                    }
                    (Some(Frame::RuleResult), b"check") => Frame::RuleResult,
                    (Some(Frame::RuleResult), b"check-content-ref") => {
                        if let Some(result) = rule_result.as_mut() {
                            result.check = result.check.take().or(attr("name"));
                        }
                        Frame::Other
                    }
                    _ => Frame::Other,
                };
                frames.push(frame);
            }
            Event::End(_) => {
                let frame = frames.pop();
                let depth = frames.len();
                if let Some((field, capture_depth, _)) = &capture {
                    if *capture_depth == depth {
                        let field = *field;
                        let text = capture.take().map(|(_, _, t)| t).unwrap_or_default();
                        store(
                            file,
                            &|| at(offset),
                            field,
                            text,
                            &mut rule,
                            &mut test,
                            &mut rule_result,
                            &mut score_attrs,
                        )?;
                    }
                    continue;
                }
                match frame {
                    Some(Frame::Group) => {
                        groups.pop();
                    }
                    Some(Frame::Rule) => {
                        if let Some((id, def)) = rule.take() {
                            rules.entry(id).or_insert(def);
                        }
                    }
                    Some(Frame::RuleResult) if frames.last() == Some(&Frame::TestResult) => {
                        if let (Some(result), Some(test)) = (rule_result.take(), test.as_mut()) {
                            test.results.push(result);
                        }
                    }
                    Some(Frame::TestResult) => test_results.extend(test.take()),
                    _ => {}
                }
            }
            Event::Text(text) => {
                if let Some((_, _, buffer)) = capture.as_mut() {
                    let text = text.unescape().map_err(|e| {
                        FormatError::parse(file, at(reader.buffer_position()), e.to_string())
                    })?;
                    buffer.push_str(&text);
                }
            }
            Event::CData(cdata) => {
                if let Some((_, _, buffer)) = capture.as_mut() {
                    buffer.push_str(&String::from_utf8_lossy(&cdata.into_inner()));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !frames.is_empty() {
        return Err(FormatError::parse(
            file,
            at(reader.buffer_position()),
            "the document ends inside an element",
        ));
    }
    if !seen_xccdf {
        return Err(FormatError::UnknownFormat {
            file: file.to_string(),
            message: format!("no element in the XCCDF namespace {XCCDF_NAMESPACE}"),
        });
    }
    if test_results.is_empty() {
        return Err(FormatError::parse(
            file,
            at(reader.buffer_position()),
            "no XCCDF <TestResult>: a benchmark without results has nothing to score",
        ));
    }
    assemble(file, bytes, benchmark, &rules, test_results)
}

#[allow(clippy::too_many_arguments)]
fn store(
    file: &str,
    line: &dyn Fn() -> String,
    field: Field,
    text: String,
    rule: &mut Option<(String, RuleDef)>,
    test: &mut Option<RawTestResult>,
    rule_result: &mut Option<RawResult>,
    score_attrs: &mut Option<(String, Option<f64>)>,
) -> Result<(), FormatError> {
    let trimmed = text.trim().to_string();
    match field {
        Field::RuleTitle
        | Field::RuleDescription
        | Field::RuleFixtext
        | Field::RuleFixShell
        | Field::RuleFixAnsible => {
            if let Some((_, def)) = rule.as_mut() {
                let slot = match field {
                    Field::RuleTitle => &mut def.title,
                    Field::RuleDescription => &mut def.description,
                    Field::RuleFixtext => &mut def.fixtext,
                    Field::RuleFixShell => &mut def.fix_shell,
                    _ => &mut def.fix_ansible,
                };
                if slot.is_empty() {
                    *slot = tidy(&text);
                }
            }
        }
        Field::Result => {
            if let Some(result) = rule_result.as_mut() {
                result.result = trimmed;
            }
        }
        Field::Target | Field::TargetAddress | Field::Identity | Field::Score => {
            let Some(test) = test.as_mut() else {
                return Ok(());
            };
            match field {
                Field::Target => test.target = Some(trimmed),
                Field::TargetAddress => test.target_addresses.push(trimmed),
                Field::Identity => {
                    if let Some(identity) = test.identity.as_mut() {
                        identity.name = trimmed;
                    }
                }
                _ => {
                    let (system, maximum) = score_attrs.take().unwrap_or_default();
                    let value = trimmed.parse::<f64>().map_err(|_| {
                        FormatError::parse(
                            file,
                            line(),
                            format!("score {trimmed:?} is not a number"),
                        )
                    })?;
                    test.scores.push(XccdfScore {
                        system,
                        value,
                        maximum,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Joins the rule results with their rules.
fn assemble(
    file: &str,
    bytes: &[u8],
    benchmark: Option<String>,
    rules: &HashMap<String, RuleDef>,
    raw: Vec<RawTestResult>,
) -> Result<XccdfReport, FormatError> {
    let mut checks: Vec<ConfigCheck> = Vec::new();
    let mut check_index: HashMap<String, usize> = HashMap::new();
    let mut test_results = Vec::with_capacity(raw.len());
    for test in raw {
        let mut results = Vec::with_capacity(test.results.len());
        for result in test.results {
            let status = match result.result.as_str() {
                "pass" | "fixed" => CheckStatus::Pass,
                "fail" => CheckStatus::Fail,
                "notapplicable" => CheckStatus::NotApplicable,
                "notselected" => CheckStatus::NotSelected,
                "informational" => CheckStatus::Informational,
                "unknown" | "notchecked" => CheckStatus::NotCollected,
                "error" => CheckStatus::Error,
                other => {
                    return Err(FormatError::parse(
                        file,
                        line_column(bytes, usize::try_from(result.offset).unwrap_or(usize::MAX)),
                        format!(
                            "rule-result {}: unknown result {other:?} (XCCDF 1.2 knows pass, fail, error, \
                             unknown, notapplicable, notchecked, notselected, informational, fixed)",
                            result.idref
                        ),
                    ));
                }
            };
            let def = rules.get(&result.idref);
            let index = *check_index.entry(result.idref.clone()).or_insert_with(|| {
                checks.push(check_of(&result, def));
                checks.len() - 1
            });
            let check = &checks[index];
            let weight_zero = result.weight.or(def.and_then(|d| d.weight)) == Some(0.0);
            let status = if weight_zero && status.counts() {
                CheckStatus::Informational
            } else {
                status
            };
            let mut evidence = vec![Evidence::new("OpenSCAP result", result.result.clone())];
            if let Some(reference) = &result.check {
                evidence.push(Evidence::new("check", reference.clone()));
            }
            results.push(CheckResult {
                check_id: result.idref.clone(),
                source: CheckSource::OpenScap,
                title: check.title.to_string(),
                category: check.category,
                weight: severity_weight(
                    result
                        .severity
                        .as_deref()
                        .or(def.and_then(|d| d.severity.as_deref())),
                ),
                status,
                evidence,
            });
        }
        test_results.push(XccdfTestResult {
            id: test.id,
            benchmark: test.benchmark,
            profile: test.profile,
            target: test.target,
            target_addresses: test.target_addresses,
            identity: test.identity,
            start_time: test.start_time,
            end_time: test.end_time,
            scores: test.scores,
            results,
        });
    }
    Ok(XccdfReport {
        benchmark,
        rules: checks,
        test_results,
    })
}

fn check_of(result: &RawResult, def: Option<&RuleDef>) -> ConfigCheck {
    let groups = def.map(|d| d.groups.as_slice()).unwrap_or_default();
    let severity = result
        .severity
        .as_deref()
        .or(def.and_then(|d| d.severity.as_deref()));
    let title = def
        .map(|d| d.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| result.idref.clone());
    let remediation = def
        .map(|d| {
            [&d.fixtext, &d.fix_shell, &d.fix_ansible]
                .into_iter()
                .find(|text| !text.is_empty())
                .cloned()
                .unwrap_or_default()
        })
        .unwrap_or_default();
    ConfigCheck {
        id: Cow::Owned(result.idref.clone()),
        title: Cow::Owned(title),
        category: rule_category(&result.idref, groups),
        weight: severity_weight(severity),
        description: Cow::Owned(def.map(|d| d.description.clone()).unwrap_or_default()),
        remediation: Cow::Owned(remediation),
        rule: result
            .idref
            .strip_prefix(SSG_RULE_PREFIX)
            .map(|r| Cow::Owned(r.to_string())),
        control: None,
    }
}

/// Text with each line's trailing space and the leading and trailing blank lines removed.
fn tidy(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

fn is_xccdf(ns: &ResolveResult<'_>) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(n))
        if *n == XCCDF_NAMESPACE.as_bytes() || *n == XCCDF_11_NAMESPACE.as_bytes())
}

fn attribute(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// An optional numeric attribute; `at` names the place and is only called for an error (a line number
/// is found by scanning the file up to the offset).
fn number(
    file: &str,
    at: &dyn Fn() -> String,
    name: &str,
    value: Option<String>,
) -> Result<Option<f64>, FormatError> {
    value
        .map(|v| {
            v.trim().parse::<f64>().map_err(|_| {
                FormatError::parse(
                    file,
                    at(),
                    format!("attribute {name}={v:?} is not a number"),
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="b1">
  <Group id="xccdf_org.ssgproject.content_group_services">
    <Group id="xccdf_org.ssgproject.content_group_ssh">
      <Rule id="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium">
        <title>Disable SSH Root Login</title>
        <description>Set <h:code>PermitRootLogin no</h:code> &amp; reload.</description>
        <fixtext>Edit sshd_config.</fixtext>
      </Rule>
    </Group>
    <Rule id="xccdf_org.ssgproject.content_rule_package_telnetd_removed" severity="high" weight="0">
      <title>Remove telnetd</title>
      <fix system="urn:xccdf:fix:script:ansible">- ansible</fix>
      <fix system="urn:xccdf:fix:script:sh">apt-get remove -y telnetd</fix>
    </Rule>
  </Group>
  <TestResult id="t1" start-time="2026-01-01T00:00:00">
    <identity privileged="true" authenticated="false">root</identity>
    <profile idref="p1"/>
    <target>host1</target>
    <target-address>192.0.2.1</target-address>
    <rule-result idref="xccdf_org.ssgproject.content_rule_sshd_disable_root_login" severity="medium">
      <result>fail</result>
      <check system="oval"><check-content-ref name="oval:x:def:1" href="o.xml"/></check>
    </rule-result>
    <rule-result idref="xccdf_org.ssgproject.content_rule_package_telnetd_removed"><result>pass</result></rule-result>
    <rule-result idref="xccdf_other_rule_x" severity="low"><result>notchecked</result></rule-result>
    <score system="urn:xccdf:scoring:default" maximum="100">50.5</score>
  </TestResult>
</Benchmark>
"#;

    #[test]
    fn rules_join_their_results() {
        assert!(detect(SMALL.as_bytes()));
        let report = parse("small.xml", SMALL.as_bytes()).unwrap();
        assert_eq!(report.benchmark.as_deref(), Some("b1"));
        let test = &report.test_results[0];
        assert_eq!(test.target.as_deref(), Some("host1"));
        assert_eq!(test.target_addresses, ["192.0.2.1"]);
        assert_eq!(
            test.identity,
            Some(XccdfIdentity {
                name: "root".into(),
                privileged: true,
                authenticated: false
            })
        );
        assert_eq!(test.profile.as_deref(), Some("p1"));
        assert_eq!(
            test.scores,
            [XccdfScore {
                system: "urn:xccdf:scoring:default".into(),
                value: 50.5,
                maximum: Some(100.0)
            }]
        );
        let lines: Vec<String> = test
            .results
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {} {:?} {:?}",
                    r.check_id.trim_start_matches(SSG_RULE_PREFIX),
                    r.status,
                    r.weight.get(),
                    r.category,
                    r.title
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                "sshd_disable_root_login Fail 6 Network \"Disable SSH Root Login\"",
                "package_telnetd_removed Informational 9 Application \"Remove telnetd\"",
                "xccdf_other_rule_x NotCollected 3 Os \"xccdf_other_rule_x\"",
            ]
        );
        assert_eq!(
            test.results[0].evidence,
            [
                Evidence::new("OpenSCAP result", "fail"),
                Evidence::new("check", "oval:x:def:1")
            ]
        );
        let ssh = &report.rules[0];
        assert_eq!(ssh.description, "Set PermitRootLogin no & reload.");
        assert_eq!(ssh.remediation, "Edit sshd_config.");
        assert_eq!(ssh.rule.as_deref(), Some("sshd_disable_root_login"));
        assert_eq!(report.rules[1].remediation, "apt-get remove -y telnetd");
    }

    #[test]
    fn malformed_input_names_the_place() {
        let broken = SMALL.replace("</title>\n        <description>", "</titel><description>");
        let err = parse("broken.xml", broken.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("broken.xml: line 6, column "), "{err}");
        let bad_result = SMALL.replace("<result>pass</result>", "<result>passed</result>");
        let err = parse("r.xml", bad_result.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("r.xml: line 26, column 5: rule-result xccdf_org.ssgproject.content_rule_package_telnetd_removed: unknown result \"passed\""),
            "{err}"
        );
        let no_results = "<Benchmark xmlns=\"http://checklists.nist.gov/xccdf/1.2\" id=\"b\"/>";
        let err = parse("b.xml", no_results.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no XCCDF <TestResult>"), "{err}");
        let truncated = &SMALL[..SMALL.len() / 2];
        assert!(parse("t.xml", truncated.as_bytes()).is_err());
        assert!(!detect(
            b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>"
        ));
    }

    #[test]
    fn categories_from_rule_ids_and_groups() {
        let group = |g: &str| vec![format!("{SSG_GROUP_PREFIX}{g}")];
        let cases = [
            ("accounts_maximum_age_login_defs", vec![], "Accounts"),
            ("sysctl_net_ipv4_ip_forward", vec![], "Network"),
            ("package_audit_installed", vec![], "SecurityControls"),
            ("sshd_set_idle_timeout", group("services"), "Network"),
            ("package_vsftpd_removed", vec![], "Application"),
            ("partition_for_tmp", group("system"), "OS"),
            ("file_permissions_systemmap", group("permissions"), "OS"),
            ("grub2_password", group("accounts"), "Accounts"),
            (
                "chronyd_specify_remote_server",
                group("services"),
                "Application",
            ),
            (
                "ensure_logrotate_activated",
                group("logging"),
                "SecurityControls",
            ),
        ];
        for (rule, groups, want) in cases {
            let got = rule_category(&format!("{SSG_RULE_PREFIX}{rule}"), &groups);
            assert_eq!(got.as_str(), want, "{rule}");
        }
    }
}

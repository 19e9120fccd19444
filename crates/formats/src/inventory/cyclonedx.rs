//! CycloneDX 1.2–1.6 SBOMs, JSON and XML: every component, nested at any depth, becomes a package via
//! its purl; `metadata.component` is the subject (not a package, but its nested components are); an
//! `operating-system` component names the OS and the release of OS packages whose purls do not.
//!
//! JSON is read with serde into borrowed structs that keep only the fields Bulwark uses (nothing builds a
//! `serde_json::Value` of the document); XML is read as a stream of quick-xml events with an explicit
//! stack, so neither recursion nor the document's size decide the stack depth.

use bulwark_core::Inventory;
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::purl::{
    JsonText, LineCursor, MAX_FIELD_BYTES, SbomCollector, SbomEntry, check_field_len, contains,
    line_column, read_json, sniff_head, sniff_json_string, text,
};
use crate::FormatError;

/// Every CycloneDX XML namespace is this followed by the schema version (`1.2` … `1.6`).
const XML_NAMESPACE: &str = "http://cyclonedx.org/schema/bom/";

/// True when `bytes` look like a CycloneDX JSON BOM (`"bomFormat": "CycloneDX"` near the start).
pub fn detect_json(bytes: &[u8]) -> bool {
    sniff_json_string(bytes, "bomFormat") == Some("CycloneDX")
}

/// True when `bytes` look like a CycloneDX XML BOM (markup naming a CycloneDX namespace near the start).
pub fn detect_xml(bytes: &[u8]) -> bool {
    let head = sniff_head(bytes);
    head.first() == Some(&b'<') && contains(head, XML_NAMESPACE.as_bytes())
}

#[derive(Deserialize)]
struct Bom<'a> {
    #[serde(rename = "bomFormat", borrow)]
    bom_format: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    metadata: Option<Metadata<'a>>,
    #[serde(default, borrow)]
    components: Option<Vec<Component<'a>>>,
    #[serde(default)]
    vulnerabilities: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(default, borrow)]
    component: Option<Component<'a>>,
}

#[derive(Deserialize)]
struct Component<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    name: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    version: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    purl: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    cpe: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    components: Option<Vec<Component<'a>>>,
}

/// Parses a CycloneDX JSON BOM; errors name the JSON path (`$.components[3].purl`).
pub fn parse_json(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let bom: Bom<'_> = read_json(file, bytes)?;
    match bom.bom_format.as_ref().map(JsonText::as_str) {
        Some("CycloneDX") => {}
        Some(other) => {
            return Err(FormatError::parse(
                file,
                "$.bomFormat",
                format!(
                    "expected \"CycloneDX\", found {:?}",
                    super::purl::shorten(other)
                ),
            ));
        }
        None => {
            return Err(FormatError::parse(
                file,
                "$.bomFormat",
                "missing: not a CycloneDX BOM",
            ));
        }
    }
    let mut collector = SbomCollector::new();
    if let Some(subject) = bom.metadata.as_ref().and_then(|m| m.component.as_ref()) {
        let path = "$.metadata.component".to_string();
        check_lengths(file, &path, subject)?;
        if is_os(subject.kind.as_ref()) {
            collector.add(entry(path.clone(), subject));
        }
        if let Some(children) = &subject.components {
            walk_json(
                file,
                children,
                &format!("{path}.components"),
                &mut collector,
            )?;
        }
    }
    if let Some(components) = &bom.components {
        walk_json(file, components, "$.components", &mut collector)?;
    }
    if let Some(vulnerabilities) = bom.vulnerabilities.as_ref().filter(|v| !v.is_empty()) {
        collector.note("$.vulnerabilities", vex_note(vulnerabilities.len()));
    }
    Ok(collector.finish())
}

/// Adds `components` (the array at `base`) and everything nested in them, in document order.
/// The walk keeps its own stack, so nesting depth costs heap, not stack.
fn walk_json(
    file: &str,
    components: &[Component<'_>],
    base: &str,
    collector: &mut SbomCollector,
) -> Result<(), FormatError> {
    let mut stack: Vec<(String, &Component<'_>)> = components
        .iter()
        .enumerate()
        .rev()
        .map(|(i, c)| (format!("{base}[{i}]"), c))
        .collect();
    while let Some((path, component)) = stack.pop() {
        check_lengths(file, &path, component)?;
        if let Some(children) = &component.components {
            for (i, child) in children.iter().enumerate().rev() {
                stack.push((format!("{path}.components[{i}]"), child));
            }
        }
        collector.add(entry(path, component));
    }
    Ok(())
}

fn check_lengths(file: &str, path: &str, c: &Component<'_>) -> Result<(), FormatError> {
    let fields = [
        ("type", &c.kind),
        ("name", &c.name),
        ("version", &c.version),
        ("purl", &c.purl),
        ("cpe", &c.cpe),
    ];
    for (field, value) in fields {
        check_field_len(
            file,
            || format!("{path}.{field}"),
            value.as_ref().map(JsonText::as_str),
        )?;
    }
    Ok(())
}

fn entry<'c>(location: String, c: &'c Component<'_>) -> SbomEntry<'c> {
    SbomEntry {
        location,
        is_os: is_os(c.kind.as_ref()),
        name: text(&c.name),
        version: text(&c.version),
        purls: text(&c.purl).into_iter().collect(),
        cpe: text(&c.cpe),
        not_a_package: not_a_package(text(&c.kind)),
    }
}

fn is_os(kind: Option<&JsonText<'_>>) -> bool {
    kind.is_some_and(|k| k.as_str() == "operating-system")
}

/// Component types that are never installed software packages, so a missing purl is no loss.
fn not_a_package(kind: Option<&str>) -> bool {
    matches!(kind, Some("file" | "data"))
}

fn vex_note(count: usize) -> String {
    format!(
        "{count} vulnerability statement(s) (VEX) are not read from an inventory: Bulwark matches the \
         components against its own advisories"
    )
}

/// Which text field of a component an XML element holds.
#[derive(Debug, Clone, Copy)]
enum Field {
    Name,
    Version,
    Purl,
    Cpe,
}

/// Where the XML reader is: one frame per open element.
#[derive(Debug, Clone, Copy)]
enum Frame {
    Bom,
    Metadata,
    Vulnerabilities,
    /// A `<components>` list.
    Components,
    /// A `<component>`, by index into the components read so far.
    Component(usize),
    /// A text field of a component.
    Field(usize, Field),
    /// An element Bulwark does not read (and everything inside it).
    Skip,
}

/// A component read from XML.
#[derive(Debug, Default)]
struct XmlComponent {
    /// Byte offset of its start tag.
    offset: usize,
    /// True for `metadata/component`, the subject of the BOM.
    subject: bool,
    kind: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
}

impl XmlComponent {
    fn field_mut(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::Name => &mut self.name,
            Field::Version => &mut self.version,
            Field::Purl => &mut self.purl,
            Field::Cpe => &mut self.cpe,
        }
    }
}

/// Parses a CycloneDX XML BOM (namespaces of schema 1.0–1.6); errors name the line and column.
pub fn parse_xml(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    let at = |offset: u64| line_column(bytes, usize::try_from(offset).unwrap_or(usize::MAX));
    let mut frames: Vec<Frame> = Vec::new();
    let mut components: Vec<XmlComponent> = Vec::new();
    let mut seen_root = false;
    let mut vulnerabilities = 0usize;
    loop {
        let start_offset = reader.buffer_position();
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
                let in_cyclonedx = is_cyclonedx(&ns);
                let local = start.local_name();
                let frame = match (frames.last(), in_cyclonedx, local.as_ref()) {
                    (None, _, name) => {
                        let name = String::from_utf8_lossy(name);
                        if seen_root {
                            return Err(FormatError::parse(
                                file,
                                at(start_offset),
                                "a second root element",
                            ));
                        }
                        if !in_cyclonedx || name != "bom" {
                            return Err(FormatError::parse(
                                file,
                                at(start_offset),
                                format!(
                                    "the root element <{name}> is not a CycloneDX <bom> (namespace {XML_NAMESPACE}1.x)"
                                ),
                            ));
                        }
                        seen_root = true;
                        Frame::Bom
                    }
                    (_, false, _) => Frame::Skip,
                    (Some(Frame::Bom), true, b"metadata") => Frame::Metadata,
                    (Some(Frame::Bom), true, b"components") => Frame::Components,
                    (Some(Frame::Bom), true, b"vulnerabilities") => Frame::Vulnerabilities,
                    (Some(Frame::Vulnerabilities), true, b"vulnerability") => {
                        vulnerabilities += 1;
                        Frame::Skip
                    }
                    (Some(Frame::Metadata), true, b"component")
                    | (Some(Frame::Components), true, b"component") => {
                        let subject = matches!(frames.last(), Some(Frame::Metadata));
                        let kind = component_type(&start).map_err(|message| {
                            FormatError::parse(file, at(start_offset), message)
                        })?;
                        components.push(XmlComponent {
                            offset: usize::try_from(start_offset).unwrap_or(usize::MAX),
                            subject,
                            kind,
                            ..XmlComponent::default()
                        });
                        Frame::Component(components.len() - 1)
                    }
                    (Some(Frame::Component(i)), true, local) => match local {
                        b"components" => Frame::Components,
                        b"name" => Frame::Field(*i, Field::Name),
                        b"version" => Frame::Field(*i, Field::Version),
                        b"purl" => Frame::Field(*i, Field::Purl),
                        b"cpe" => Frame::Field(*i, Field::Cpe),
                        _ => Frame::Skip,
                    },
                    _ => Frame::Skip,
                };
                frames.push(frame);
            }
            Event::End(_) => {
                frames.pop();
            }
            Event::Text(text) => {
                if let Some(Frame::Field(i, field)) = frames.last() {
                    let text = text
                        .unescape()
                        .map_err(|e| FormatError::parse(file, at(start_offset), e.to_string()))?;
                    append(&mut components[*i], *field, &text)
                        .map_err(|message| FormatError::parse(file, at(start_offset), message))?;
                }
            }
            Event::CData(cdata) => {
                if let Some(Frame::Field(i, field)) = frames.last() {
                    let text = cdata
                        .decode()
                        .map_err(|e| FormatError::parse(file, at(start_offset), e.to_string()))?;
                    append(&mut components[*i], *field, &text)
                        .map_err(|message| FormatError::parse(file, at(start_offset), message))?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(FormatError::parse(
            file,
            at(reader.buffer_position()),
            "no <bom> element: the file is empty or not XML",
        ));
    }
    if let Some(open) = frames.last() {
        let inside = match open {
            Frame::Component(_) => "<component>".to_string(),
            Frame::Field(..) => "a component field".to_string(),
            _ => format!("{} open element(s)", frames.len()),
        };
        return Err(FormatError::parse(
            file,
            at(reader.buffer_position()),
            format!("the file ends inside {inside}: it is truncated"),
        ));
    }
    let mut collector = SbomCollector::new();
    let mut lines = LineCursor::new(bytes);
    for c in &components {
        let location = format!("line {}", lines.line_of(c.offset));
        let is_os = c.kind.as_deref() == Some("operating-system");
        if c.subject && !is_os {
            continue;
        }
        collector.add(SbomEntry {
            location,
            is_os,
            name: trimmed(&c.name),
            version: trimmed(&c.version),
            purls: trimmed(&c.purl).into_iter().collect(),
            cpe: trimmed(&c.cpe),
            not_a_package: not_a_package(c.kind.as_deref()),
        });
    }
    if vulnerabilities > 0 {
        collector.note("<vulnerabilities>", vex_note(vulnerabilities));
    }
    Ok(collector.finish())
}

/// True for elements in a CycloneDX namespace (any schema version).
fn is_cyclonedx(ns: &ResolveResult<'_>) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(n)) if n.starts_with(XML_NAMESPACE.as_bytes()))
}

/// The `type` attribute of a `<component>`.
fn component_type(start: &BytesStart<'_>) -> Result<Option<String>, String> {
    let attribute = start.try_get_attribute("type").map_err(|e| e.to_string())?;
    match attribute {
        Some(a) => {
            let value = a.unescape_value().map_err(|e| e.to_string())?;
            if value.len() > MAX_FIELD_BYTES {
                return Err(format!(
                    "component type is {} bytes long; Bulwark reads at most {MAX_FIELD_BYTES}",
                    value.len()
                ));
            }
            Ok(Some(value.trim().to_string()))
        }
        None => Ok(None),
    }
}

/// Appends text to a component field, refusing fields longer than [`MAX_FIELD_BYTES`].
fn append(component: &mut XmlComponent, field: Field, text: &str) -> Result<(), String> {
    let value = component.field_mut(field).get_or_insert_with(String::new);
    if value.len() + text.len() > MAX_FIELD_BYTES {
        let name = match field {
            Field::Name => "name",
            Field::Version => "version",
            Field::Purl => "purl",
            Field::Cpe => "cpe",
        };
        return Err(format!(
            "<{name}> is {} bytes long; Bulwark reads at most {MAX_FIELD_BYTES}",
            value.len() + text.len()
        ));
    }
    value.push_str(text);
    Ok(())
}

/// A field's text without surrounding whitespace, or `None` when there is none.
fn trimmed(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

//! Reading desired-state files: directories walked in path order, every document
//! parsed with positions, typed, and checked; all errors of a run are collected.

pub mod diagnostic;
pub mod s3;
pub mod tree;

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};

use crate::model::{API_VERSION, Cx, DocRef, Document, Kind, Origin, Spec};
use diagnostic::{Diagnostic, Diagnostics};
use tree::{Node, PathIndex, Pos};

/// A file larger than this is refused: desired state is text people review.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// One document that parsed and passed its own checks.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    pub doc: Document<S>,
    pub origin: Origin,
}

/// Any kind of parsed document.
#[derive(Debug, Clone)]
// Documents are few and short-lived; boxing them would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum AnyDoc {
    Service(Loaded<crate::model::service::ServiceSpec>),
    Autoscaler(Loaded<crate::model::autoscaler::AutoscalerSpec>),
    Schedule(Loaded<crate::model::schedule::ScheduleSpec>),
    DiscoveryService(Loaded<crate::model::discovery::DiscoveryServiceSpec>),
    TaskDefinition(Loaded<crate::model::task_definition::TaskDefinitionSpec>),
    Alarm(Loaded<crate::model::alarm::AlarmSpec>),
    AlertChannel(Loaded<crate::model::alert_channel::AlertChannelSpec>),
    ServiceLevelObjective(Loaded<crate::model::slo::SloSpec>),
}

impl AnyDoc {
    pub fn origin(&self) -> &Origin {
        match self {
            AnyDoc::Service(d) => &d.origin,
            AnyDoc::Autoscaler(d) => &d.origin,
            AnyDoc::Schedule(d) => &d.origin,
            AnyDoc::DiscoveryService(d) => &d.origin,
            AnyDoc::TaskDefinition(d) => &d.origin,
            AnyDoc::Alarm(d) => &d.origin,
            AnyDoc::AlertChannel(d) => &d.origin,
            AnyDoc::ServiceLevelObjective(d) => &d.origin,
        }
    }
}

/// The raw text of a document set and its revision.
#[derive(Debug, Clone)]
pub struct Source {
    pub files: Vec<(String, String)>,
    /// What changed means a new revision: `content_revision` of the files, or
    /// the one the source names (an S3 source's `REVISION` object).
    pub revision: String,
}

/// Reads every `*.yaml`, `*.yml` and `*.json` under `paths` (recursively, sorted,
/// hidden entries skipped). Unreadable, oversized or non-UTF-8 files are diagnostics.
pub fn read_sources(paths: &[PathBuf]) -> Result<Source, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut found = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut found, &mut diags);
        } else if p.exists() {
            found.push(p.clone());
        } else {
            diags.push(Diagnostic::new(
                &p.display().to_string(),
                Pos::default(),
                "no such file or directory",
            ));
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() && diags.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        diags.push(Diagnostic::new(
            &names.join(", "),
            Pos::default(),
            "no *.yaml, *.yml or *.json files found",
        ));
    }
    let mut files = Vec::new();
    for path in found {
        let name = path.display().to_string();
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                diags.push(Diagnostic::new(
                    &name,
                    Pos::default(),
                    format!("file is {} bytes; the limit is {MAX_FILE_BYTES}", m.len()),
                ));
                continue;
            }
            Err(e) => {
                diags.push(Diagnostic::new(
                    &name,
                    Pos::default(),
                    format!("cannot read: {e}"),
                ));
                continue;
            }
            Ok(_) => {}
        }
        match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(text)) => files.push((name, text)),
            Ok(Err(_)) => diags.push(Diagnostic::new(
                &name,
                Pos::default(),
                "file is not UTF-8 text",
            )),
            Err(e) => diags.push(Diagnostic::new(
                &name,
                Pos::default(),
                format!("cannot read: {e}"),
            )),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let revision = content_revision(&files);
    Ok(Source { files, revision })
}

/// The revision of a document set without one of its own: the first 12 hex
/// digits of SHA-256 over every file's name and text, in order. Any change of
/// a name or a byte is a new revision; the same set is the same revision on
/// every machine and after every restart.
pub fn content_revision(files: &[(String, String)]) -> String {
    let mut hash = Sha256::new();
    for (name, text) in files {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::new(
                &dir.display().to_string(),
                Pos::default(),
                format!("cannot read: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, found, diags);
        } else if is_document(&path) {
            found.push(path);
        }
    }
}

/// `*.yaml`, `*.yml` and `*.json`: what a directory (or an S3 prefix) is read for.
pub fn is_document(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Parses and checks every document of `source` on its own (no cross-document rules).
pub fn parse_documents(source: &Source, diags: &mut Diagnostics) -> Vec<AnyDoc> {
    let mut docs = Vec::new();
    for (file, text) in &source.files {
        parse_file(file, text, &mut docs, diags);
    }
    docs
}

fn parse_file(file: &str, text: &str, docs: &mut Vec<AnyDoc>, diags: &mut Diagnostics) {
    let roots: Vec<Spanned<Node>> =
        match serde_saphyr::from_multiple_with_options(text, parse_options()) {
            Ok(r) => r,
            Err(e) => {
                let pos = e
                    .location()
                    .map(|l| Pos {
                        line: l.line(),
                        col: l.column(),
                    })
                    .unwrap_or_default();
                diags.push(Diagnostic::new(file, pos, short_yaml_message(&e)));
                return;
            }
        };
    let roots: Vec<_> = roots
        .into_iter()
        .filter(|r| !matches!(r.value, Node::Null))
        .collect();
    if roots.is_empty() {
        diags.push(Diagnostic::new(
            file,
            Pos { line: 1, col: 1 },
            "file holds no documents",
        ));
    }
    for root in roots {
        let origin = Origin {
            file: file.to_owned(),
            index: PathIndex::build(&root),
        };
        if let Some(doc) = parse_document(&root.value, origin, diags) {
            docs.push(doc);
        }
    }
}

/// The parser's defaults, but with room for a large estate in one file: the
/// 2 MiB file limit bounds the work, not a count of documents.
fn parse_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = MAX_DOCUMENTS_PER_FILE;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Documents one file may hold.
pub const MAX_DOCUMENTS_PER_FILE: usize = 20_000;

/// The message of a YAML error without the snippet and position (we print our own).
fn short_yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    // "… at line 3 column 5" duplicates our own prefix.
    let first = first.find(" at line ").map_or(first, |i| &first[..i]);
    // Advice meant for the parser's API user, not for the document's author.
    let first = first
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(first);
    if first.starts_with("budget breached: Documents") {
        return format!(
            "more than {MAX_DOCUMENTS_PER_FILE} documents in one file; split it into several files"
        );
    }
    if first.starts_with("budget breached") {
        return format!(
            "YAML alias expansion is over the limit ({first}); write the values out instead of nesting aliases"
        );
    }
    first.to_owned()
}

fn parse_document(root: &Node, origin: Origin, diags: &mut Diagnostics) -> Option<AnyDoc> {
    let file = origin.file.clone();
    let here = |path: &str| origin.index.value_pos(path);
    if !matches!(root, Node::Map(_)) {
        diags.push(Diagnostic::new(
            &file,
            here(""),
            "a document must be a mapping with apiVersion, kind, metadata and spec",
        ));
        return None;
    }
    let kind_text = root.get_str("kind").map(|(k, _)| k);
    let name = root
        .get("metadata")
        .and_then(|m| m.value.get_str("name"))
        .map(|(n, _)| n.to_owned());
    let label = format!(
        "{}/{}",
        kind_text.unwrap_or("?"),
        name.as_deref().unwrap_or("?")
    );
    let mut ok = true;
    match root.get_str("apiVersion") {
        Some((API_VERSION, _)) => {}
        Some((other, pos)) => {
            diags.push(
                Diagnostic::new(
                    &file,
                    pos,
                    format!("unknown apiVersion `{other}`: expected `{API_VERSION}`"),
                )
                .in_document(&label)
                .at_field("apiVersion"),
            );
            ok = false;
        }
        None => {
            diags.push(
                Diagnostic::new(
                    &file,
                    here("apiVersion"),
                    format!("required: `apiVersion: {API_VERSION}`"),
                )
                .in_document(&label)
                .at_field("apiVersion"),
            );
            ok = false;
        }
    }
    let kind = match root.get_str("kind") {
        Some((k, pos)) => match Kind::parse(k) {
            Some(kind) => Some(kind),
            None => {
                let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                diags.push(
                    Diagnostic::new(
                        &file,
                        pos,
                        format!("unknown kind `{k}`: expected one of {}", all.join(", ")),
                    )
                    .in_document(&label)
                    .at_field("kind"),
                );
                None
            }
        },
        None => {
            diags.push(
                Diagnostic::new(
                    &file,
                    here("kind"),
                    "required: the document kind, e.g. `kind: Service`",
                )
                .in_document(&label)
                .at_field("kind"),
            );
            None
        }
    };
    let kind = kind?;
    if !ok {
        return None;
    }
    let value = root.to_json();
    match kind {
        Kind::Service => typed(value, origin, &label, diags).map(AnyDoc::Service),
        Kind::Autoscaler => typed(value, origin, &label, diags).map(AnyDoc::Autoscaler),
        Kind::Schedule => typed(value, origin, &label, diags).map(AnyDoc::Schedule),
        Kind::DiscoveryService => typed(value, origin, &label, diags).map(AnyDoc::DiscoveryService),
        Kind::TaskDefinition => typed(value, origin, &label, diags).map(AnyDoc::TaskDefinition),
        Kind::Alarm => typed(value, origin, &label, diags).map(AnyDoc::Alarm),
        Kind::AlertChannel => typed(value, origin, &label, diags).map(AnyDoc::AlertChannel),
        Kind::ServiceLevelObjective => {
            typed(value, origin, &label, diags).map(AnyDoc::ServiceLevelObjective)
        }
    }
}

fn typed<S: Spec>(
    value: serde_json::Value,
    origin: Origin,
    label: &str,
    diags: &mut Diagnostics,
) -> Option<Loaded<S>> {
    let doc: Document<S> = match serde_path_to_error::deserialize(value) {
        Ok(d) => d,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = e.into_inner().to_string();
            // Unknown fields point at the key, everything else at the value.
            let pos = if message.starts_with("unknown field") {
                let key = message.split('`').nth(1).unwrap_or_default();
                origin.index.key_pos(&tree::join_key(&path, key))
            } else {
                origin.index.value_pos(&path)
            };
            diags.push(
                Diagnostic::new(&origin.file, pos, message)
                    .in_document(label)
                    .at_field(path),
            );
            return None;
        }
    };
    let before = diags.len();
    let mut cx = Cx {
        origin: &origin,
        doc: label.to_owned(),
        diags,
    };
    if !valid_name(&doc.metadata.name) {
        cx.error(
            "metadata.name",
            format!(
                "`{}` is not a valid name: lowercase letters, digits and `-`, 1 to 63 characters, starting and ending with a letter or digit",
                doc.metadata.name
            ),
        );
    }
    doc.spec.validate(&mut cx);
    (diags.len() == before).then_some(Loaded { doc, origin })
}

/// `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && inner(&b[0])
        && inner(&b[b.len() - 1])
        && b.iter().all(|c| inner(c) || *c == b'-')
}

/// The `DocRef` a parsed document names.
pub fn doc_ref(doc: &AnyDoc) -> DocRef {
    match doc {
        AnyDoc::Service(d) => DocRef::new(Kind::Service, &d.doc.metadata.name),
        AnyDoc::Autoscaler(d) => DocRef::new(Kind::Autoscaler, &d.doc.metadata.name),
        AnyDoc::Schedule(d) => DocRef::new(Kind::Schedule, &d.doc.metadata.name),
        AnyDoc::DiscoveryService(d) => DocRef::new(Kind::DiscoveryService, &d.doc.metadata.name),
        AnyDoc::TaskDefinition(d) => DocRef::new(Kind::TaskDefinition, &d.doc.metadata.name),
        AnyDoc::Alarm(d) => DocRef::new(Kind::Alarm, &d.doc.metadata.name),
        AnyDoc::AlertChannel(d) => DocRef::new(Kind::AlertChannel, &d.doc.metadata.name),
        AnyDoc::ServiceLevelObjective(d) => {
            DocRef::new(Kind::ServiceLevelObjective, &d.doc.metadata.name)
        }
    }
}

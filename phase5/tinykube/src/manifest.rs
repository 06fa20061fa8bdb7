//! Manifests: YAML documents (`---` separated) of objects. An error names the file, the line and
//! column, and the field path (`spec.requests.cpu`), and says what was wrong.
//!
//! Each document is read twice: once for its `kind`, then into that kind's struct. Reading straight
//! into a `kind`-tagged enum would buffer the document and lose every line number.
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::objects::{Deployment, Node, Object, Pod, ReplicaSet};

/// What is wrong with a manifest, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// The file (or the name given to [`parse_manifests`]).
    pub file: PathBuf,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the parser knows it.
    pub column: Option<usize>,
    /// The field path (`spec.requests.cpu`), empty for the document itself.
    pub field: String,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The kind of a document, and nothing else.
#[derive(Deserialize)]
struct Head {
    kind: Option<String>,
}

/// A document as written: `kind`, an optional `apiVersion`, the object's own fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc<T> {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    api_version: Option<String>,
    metadata: crate::objects::ObjectMeta,
    spec: T,
}

/// serde_norway's message carries the path and the location again; keep the bare message.
fn bare_message(error: &serde_norway::Error) -> String {
    let text = error.to_string();
    let is_path = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '[' | ']'))
    };
    let text = match text.split_once(": ") {
        Some((path, rest)) if is_path(path) => rest.to_string(),
        _ => text,
    };
    match text.rfind(" at line ") {
        Some(i) if text[i..].contains(" column ") => text[..i].to_string(),
        _ => text,
    }
}

fn located(file: &Path, error: &serde_norway::Error, field: String) -> ManifestError {
    let location = error.location();
    let message = bare_message(error);
    ManifestError {
        file: file.to_path_buf(),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        field: if field == "." { String::new() } else { field },
        message,
    }
}

fn typed<T: DeserializeOwned>(
    file: &Path,
    document: serde_norway::Deserializer<'_>,
) -> Result<(crate::objects::ObjectMeta, T), ManifestError> {
    let doc: Doc<T> = serde_path_to_error::deserialize(document)
        .map_err(|e| located(file, e.inner(), e.path().to_string()))?;
    Ok((doc.metadata, doc.spec))
}

/// Parses every document of `text`; `file` names it in errors.
///
/// ```
/// use tinykube::{Cpu, Object, parse_manifests};
///
/// let yaml = "
/// kind: Pod
/// metadata: {name: web}
/// spec:
///   command: [sleep, '60']
///   requests: {cpu: 200m, memory: 64Mi}
/// ";
/// let objects = parse_manifests("web.yaml", yaml)?;
/// let Object::Pod(pod) = &objects[0] else { unreachable!() };
/// assert_eq!(pod.spec.requests.cpu, Cpu(200));
///
/// let err = parse_manifests("web.yaml", &yaml.replace("200m", "200x")).unwrap_err();
/// assert_eq!((err.line, err.field.as_str()), (Some(6), "spec.requests.cpu"));
/// assert!(err.to_string().starts_with("web.yaml:6:"), "{err}");
/// # Ok::<(), tinykube::ManifestError>(())
/// ```
pub fn parse_manifests(file: impl AsRef<Path>, text: &str) -> Result<Vec<Object>, ManifestError> {
    let file = file.as_ref();
    let mut kinds = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let head: Option<Head> =
            Option::deserialize(document).map_err(|e| located(file, &e, String::new()))?;
        kinds.push(head.map(|h| h.kind));
    }
    let mut objects = Vec::new();
    for (document, kind) in serde_norway::Deserializer::from_str(text).zip(kinds) {
        let Some(kind) = kind else { continue }; // an empty document (`---` at the end)
        let object = match kind.as_deref() {
            Some("Pod") => {
                typed(file, document).map(|(metadata, spec)| Object::Pod(Pod { metadata, spec }))?
            }
            Some("ReplicaSet") => typed(file, document)
                .map(|(metadata, spec)| Object::ReplicaSet(ReplicaSet { metadata, spec }))?,
            Some("Deployment") => typed(file, document)
                .map(|(metadata, spec)| Object::Deployment(Deployment { metadata, spec }))?,
            Some("Node") => typed(file, document)
                .map(|(metadata, spec)| Object::Node(Node { metadata, spec }))?,
            other => {
                return Err(ManifestError {
                    file: file.to_path_buf(),
                    line: None,
                    column: None,
                    field: "kind".into(),
                    message: match other {
                        Some(k) => {
                            format!("unknown kind `{k}` (known: Pod, ReplicaSet, Deployment, Node)")
                        }
                        None => "missing (one of Pod, ReplicaSet, Deployment, Node)".into(),
                    },
                });
            }
        };
        objects.push(object);
    }
    Ok(objects)
}

/// Reads and parses a manifest file.
pub fn load_manifests(path: impl AsRef<Path>) -> Result<Vec<Object>, ManifestError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message: e.to_string(),
    })?;
    parse_manifests(path, &text)
}

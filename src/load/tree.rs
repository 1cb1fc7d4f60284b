//! A YAML node tree that remembers where every key and value sits in the file,
//! so that any error found later (type, unknown field, semantic) can be located.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// One-based line and column in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u64,
    pub col: u64,
}

impl Pos {
    fn of<T>(s: &Spanned<T>) -> Pos {
        Pos {
            line: s.referenced.line(),
            col: s.referenced.column(),
        }
    }
}

/// A parsed YAML (or JSON) value with the position of every node.
#[derive(Debug, Clone)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Where each field path of one document is: `spec.network.subnets[0]` → positions.
#[derive(Debug, Default, Clone)]
pub struct PathIndex {
    entries: BTreeMap<String, (Pos, Pos)>,
}

impl PathIndex {
    pub fn build(root: &Spanned<Node>) -> PathIndex {
        let mut index = PathIndex::default();
        let p = Pos::of(root);
        index.entries.insert(String::new(), (p, p));
        index.walk("", &root.value);
        index
    }

    fn walk(&mut self, prefix: &str, node: &Node) {
        match node {
            Node::Map(entries) => {
                for (k, v) in entries {
                    let path = join_key(prefix, &k.value);
                    self.entries.insert(path.clone(), (Pos::of(k), Pos::of(v)));
                    self.walk(&path, &v.value);
                }
            }
            Node::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    let path = format!("{prefix}[{i}]");
                    let p = Pos::of(v);
                    self.entries.insert(path.clone(), (p, p));
                    self.walk(&path, &v.value);
                }
            }
            _ => {}
        }
    }

    /// Position of the value at `path`, or of its nearest ancestor that exists
    /// (a missing required field is reported where its parent mapping starts).
    pub fn value_pos(&self, path: &str) -> Pos {
        self.lookup(path).1
    }

    /// Position of the key at `path` (the value's for list items).
    pub fn key_pos(&self, path: &str) -> Pos {
        self.lookup(path).0
    }

    fn lookup(&self, path: &str) -> (Pos, Pos) {
        let mut p = path;
        loop {
            if let Some(found) = self.entries.get(p) {
                return *found;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None if !p.is_empty() => p = "",
                None => return Default::default(),
            }
        }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }
}

pub fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Node {
    /// The value as JSON, for typed deserialisation with path tracking.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::UInt(u) => Value::from(*u),
            Node::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Node::Str(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(|i| i.value.to_json()).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The string at `key` of a mapping, with its position.
    pub fn get_str(&self, key: &str) -> Option<(&str, Pos)> {
        let Node::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| k.value == key)
            .and_then(|(_, v)| match &v.value {
                Node::Str(s) => Some((s.as_str(), Pos::of(v))),
                _ => None,
            })
    }

    pub fn get(&self, key: &str) -> Option<&Spanned<Node>> {
        let Node::Map(entries) = self else {
            return None;
        };
        entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_real_line_and_column() {
        let text = "a: 1\nspec:\n  network:\n    subnets:\n      - subnet-1\n      - subnet-2\n";
        let docs: Vec<Spanned<Node>> = serde_saphyr::from_multiple(text).expect("parses");
        let index = PathIndex::build(&docs[0]);
        assert_eq!(
            index.value_pos("spec.network.subnets[1]"),
            Pos { line: 6, col: 9 }
        );
        assert_eq!(index.key_pos("spec.network"), Pos { line: 3, col: 3 });
        // A path that is not there falls back to its nearest ancestor.
        assert_eq!(
            index.key_pos("spec.network.assignPublicIp"),
            Pos { line: 3, col: 3 }
        );
    }
}

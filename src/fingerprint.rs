//! What a sweep is made of, by content: SHA-256 of the scenario text and of every file the
//! scenario reads (trace CSVs, `prices_file`, empirical lifetime files). Each sweep shard
//! writes it into its manifest, and `merge` accepts shards only when they agree, so the same
//! scenario under another path merges, and an edited scenario or input file does not.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The content of a sweep's inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 of the scenario text, hex.
    pub scenario_sha256: String,
    /// Each file the scenario (or any grid point) reads, as written in it → SHA-256 of its bytes.
    pub inputs: BTreeMap<String, String>,
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fingerprint of a scenario's text (`origin`: its path, against which relative file names
/// are read) and of the texts of its grid points (each may name other files).
pub fn of_scenario(text: &str, origin: &str, point_texts: &[String]) -> Result<Fingerprint> {
    let dir = crate::scenario::folder_of(std::path::Path::new(origin));
    let mut inputs = BTreeMap::new();
    for t in std::iter::once(text).chain(point_texts.iter().map(String::as_str)) {
        let mut names = Vec::new();
        if let Ok(v) = t.parse::<toml::Table>() {
            files_named(&toml::Value::Table(v), &mut names);
        }
        for name in names {
            if inputs.contains_key(&name) {
                continue;
            }
            let path = crate::scenario::scenario_relative(&dir, &name);
            let bytes = std::fs::read(&path)
                .with_context(|| format!("{origin}: cannot read `{name}` ({})", path.display()))?;
            inputs.insert(name, sha256_hex(&bytes));
        }
    }
    Ok(Fingerprint {
        scenario_sha256: sha256_hex(text.as_bytes()),
        inputs,
    })
}

/// Every value of a `file` or `prices_file` key: the fields through which a scenario reads a
/// file.
fn files_named(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                match x {
                    toml::Value::String(s) if k == "file" || k == "prices_file" => {
                        out.push(s.clone())
                    }
                    _ => files_named(x, out),
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|x| files_named(x, out)),
        _ => {}
    }
}

/// Why two fingerprints differ, in words (`None`: they agree).
pub fn difference(a: &Fingerprint, b: &Fingerprint) -> Option<String> {
    if a.scenario_sha256 != b.scenario_sha256 {
        return Some("the scenario text differs".into());
    }
    for (name, h) in &a.inputs {
        match b.inputs.get(name) {
            Some(g) if g == h => {}
            Some(_) => return Some(format!("the input file `{name}` differs")),
            None => return Some(format!("the input file `{name}` is not read by the other")),
        }
    }
    if let Some(name) = b.inputs.keys().find(|n| !a.inputs.contains_key(*n)) {
        return Some(format!("the input file `{name}` is not read by the other"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_published_value() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn file_fields_are_found_at_any_depth() {
        let t: toml::Table = r#"
prices_file = "p.csv"
[[traces]]
file = "t.csv"
[[workloads]]
lifetime = { dist = "empirical", file = "l.txt" }
name = "file"
"#
        .parse()
        .unwrap();
        let mut v = Vec::new();
        files_named(&toml::Value::Table(t), &mut v);
        v.sort();
        assert_eq!(v, ["l.txt", "p.csv", "t.csv"]);
    }
}

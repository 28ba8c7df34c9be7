//! Finds the line of a field in a scenario's text from its dotted path
//! (`workloads[1].lifetime.mean`), so that mistakes found after parsing are reported at the
//! right line too.

use toml::de::{DeTable, DeValue};

/// Splits `workloads[1].types.S5.MEDIUM4` into `workloads`, `[1]`, `types`, `S5`, `MEDIUM4`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(rest[..open].to_string());
            }
            let close = rest[open..]
                .find(']')
                .map(|c| open + c)
                .unwrap_or(rest.len() - 1);
            out.push(rest[open..=close].to_string());
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The line of the deepest part of `path` present in `text` (1-based), if the text parses.
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let segs = segments(path);
    let mut best: Option<usize> = None;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut value: Option<&DeValue<'_>> = None;
    let mut i = 0;
    while i < segs.len() {
        let seg = &segs[i];
        if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let Some(DeValue::Array(arr)) = value else {
                break;
            };
            let Some(item) = idx.parse::<usize>().ok().and_then(|k| arr.get(k)) else {
                break;
            };
            best = Some(item.span().start);
            value = Some(item.get_ref());
            if let DeValue::Table(t) = item.get_ref() {
                table = t;
            }
            i += 1;
            continue;
        }
        if let Some(DeValue::Table(t)) = value {
            table = t;
        }
        // Keys may contain dots (type names): try the longest run of segments first.
        let mut found = false;
        for j in (i + 1..=segs.len()).rev() {
            if segs[i..j].iter().any(|s| s.starts_with('[')) {
                continue;
            }
            let key = segs[i..j].join(".");
            if let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key) {
                best = Some(k.span().start);
                value = Some(v.get_ref());
                i = j;
                found = true;
                break;
            }
        }
        if !found {
            break;
        }
    }
    best.map(|o| line_at(text, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"name = "x"
instance_types = ["S5.MEDIUM4"]

[[workloads]]
name = "a"
types = { "S5.MEDIUM4" = 1 }
lifetime = { dist = "fixed", value = "1h" }

[[workloads]]
name = "b"
lifetime = { dist = "exponential",
  mean = "0s" }
"#;

    #[test]
    fn finds_nested_fields_in_arrays_of_tables() {
        assert_eq!(line_of_path(TEXT, "workloads[1].lifetime.mean"), Some(12));
        assert_eq!(line_of_path(TEXT, "workloads[0].types.S5.MEDIUM4"), Some(6));
        assert_eq!(line_of_path(TEXT, "workloads[1].name"), Some(10));
        assert_eq!(line_of_path(TEXT, "instance_types"), Some(2));
        // a missing field: the deepest part that exists
        assert_eq!(line_of_path(TEXT, "workloads[1].zones"), Some(9));
    }
}

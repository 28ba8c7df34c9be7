//! `--set path=value`: changes a scenario before it is read, by a dotted path into its TOML
//! (`zones.ap-guangzhou-3.quota.postpaid=200`, `workloads.0.arrival.rate_per_hour=50`). Keys
//! with dots are quoted: `prices."S5.LARGE8".postpaid_hourly=0.5`.

/// Splits a path at dots outside double quotes; quotes are removed.
pub fn split_path(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("`{path}`: unbalanced quote"));
    }
    out.push(cur);
    if out.iter().any(|s| s.is_empty()) {
        return Err(format!("`{path}`: empty part in the path"));
    }
    Ok(out)
}

/// Splits `100,200,400` (or `[1,2],[3]`, `"a,b",c`) at top-level commas.
pub fn split_values(list: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in list.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '[' | '{' if !quoted => {
                depth += 1;
                cur.push(c);
            }
            ']' | '}' if !quoted => {
                depth -= 1;
                cur.push(c);
            }
            ',' if !quoted && depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// A value as TOML if it reads as one (`200`, `0.5`, `true`, `"6h"`, `[1, 2]`), else as a
/// string (`6h`, `POSTPAID_BY_HOUR`).
pub fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

fn index(path: &str, p: &str) -> Result<usize, String> {
    p.parse()
        .map_err(|_| format!("`{path}`: `{p}` should be an index into a list"))
}

/// One step down from `node` by key or list index, creating a table for a missing key.
fn step<'a>(node: &'a mut toml::Value, p: &str, path: &str) -> Result<&'a mut toml::Value, String> {
    match node {
        toml::Value::Table(t) => Ok(t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))),
        toml::Value::Array(a) => {
            let (i, n) = (index(path, p)?, a.len());
            a.get_mut(i)
                .ok_or_else(|| format!("`{path}`: index {i} is past the list's {n} items"))
        }
        _ => Err(format!(
            "`{path}`: `{p}` is inside a value that is not a table"
        )),
    }
}

/// Sets `path` to `value` in a TOML table, creating tables on the way.
pub fn set(root: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let parts = split_path(path)?;
    let (last, walk) = parts
        .split_last()
        .ok_or_else(|| format!("`{path}`: empty path"))?;
    let Some((first, walk)) = walk.split_first() else {
        root.insert(last.clone(), value);
        return Ok(());
    };
    let mut node = root
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    for p in walk {
        node = step(node, p, path)?;
    }
    match node {
        toml::Value::Table(t) => {
            t.insert(last.clone(), value);
            Ok(())
        }
        toml::Value::Array(a) => {
            let (i, n) = (index(path, last)?, a.len());
            *a.get_mut(i)
                .ok_or_else(|| format!("`{path}`: index {i} is past the list's {n} items"))? =
                value;
            Ok(())
        }
        _ => Err(format!("`{path}`: its parent is not a table")),
    }
}

/// The scenario text with every `(path, value)` applied.
pub fn apply(text: &str, sets: &[(String, String)]) -> Result<String, String> {
    if sets.is_empty() {
        return Ok(text.to_string());
    }
    let mut root: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    for (path, value) in sets {
        set(&mut root, path, parse_value(value))?;
    }
    toml::to_string(&root).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_values_and_lists() {
        assert_eq!(
            split_path(r#"prices."S5.LARGE8".postpaid_hourly"#).unwrap(),
            vec!["prices", "S5.LARGE8", "postpaid_hourly"]
        );
        assert_eq!(split_values("100, 200,400"), vec!["100", "200", "400"]);
        assert_eq!(split_values("[1,2],[3]"), vec!["[1,2]", "[3]"]);
        assert_eq!(parse_value("200"), toml::Value::Integer(200));
        assert_eq!(parse_value("6h"), toml::Value::String("6h".into()));
        assert_eq!(parse_value("\"6h\""), toml::Value::String("6h".into()));
    }

    #[test]
    fn sets_nested_and_indexed_fields() {
        let text = "name = \"x\"\n[zones.ap-guangzhou-3]\n[[workloads]]\nname = \"w\"\narrival = { process = \"poisson\", rate_per_hour = 5 }\n";
        let out = apply(
            text,
            &[
                ("zones.ap-guangzhou-3.quota.postpaid".into(), "200".into()),
                ("workloads.0.arrival.rate_per_hour".into(), "50".into()),
            ],
        )
        .unwrap();
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(
            t["zones"]["ap-guangzhou-3"]["quota"]["postpaid"].as_integer(),
            Some(200)
        );
        assert_eq!(
            t["workloads"][0]["arrival"]["rate_per_hour"].as_integer(),
            Some(50)
        );
        assert!(apply(text, &[("workloads.3.name".into(), "z".into())]).is_err());
        assert!(apply(text, &[("name.x".into(), "1".into())]).is_err());
    }
}

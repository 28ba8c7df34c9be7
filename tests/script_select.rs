//! `select = { ids = [...] }` names exactly those instances: a known id is acted on alone, the
//! rest of the fleet is untouched.

mod common;

use common::*;

const BASE: &str = r#"name = "ids"
seed = 5
duration = "3h"
instance_types = ["S5.MEDIUM4"]

[zones.ap-guangzhou-3]

[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 20 }
lifetime = { dist = "fixed", value = "10h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }

[[actions]]
at = "0s"
action = "RunInstances"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
count = 3
"#;

#[test]
fn ids_select_exactly_the_instances_they_name() {
    let dir = fresh_dir("script-ids");
    let first = dir.join("first");
    let file = write_file(&dir, "base.toml", BASE);
    assert_ok(&run_cli([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        first.as_os_str(),
        "--quiet".as_ref(),
    ]));
    let rows = read_instances(&first);
    let mine: Vec<&InstanceRow> = rows.iter().filter(|r| r.owner == "script").collect();
    assert_eq!(mine.len(), 3);
    assert!(
        rows.iter().all(|r| r.released_ms.is_none()),
        "nothing ends by itself"
    );
    let target = mine[1].id.clone();

    let text = format!(
        "{BASE}\n[[actions]]\nat = \"1h\"\naction = \"TerminateInstances\"\nselect = {{ ids = [\"{target}\"] }}\n"
    );
    let file = write_file(&dir, "ids.toml", &text);
    let second = dir.join("second");
    assert_ok(&run_cli([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        second.as_os_str(),
        "--quiet".as_ref(),
    ]));
    let after = read_instances(&second);
    let released: Vec<&str> = after
        .iter()
        .filter(|r| r.released_ms.is_some())
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(released, [target.as_str()]);
    assert_eq!(after.len(), rows.len(), "the same fleet otherwise");
}

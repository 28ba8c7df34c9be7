//! A sample taken at the same instant as creations counts them, whatever order the events were
//! queued in (README, `timeseries.csv`). Three instances are created at exactly 1 h, a sample
//! instant, once by scripted actions (queued at the start, before the 1 h sample is) and once by
//! a trace replay (queued while the run goes, after it): both samples at 1 h count three
//! PENDING instances (and the one created at 30 min), and the one at 0 counts none.

mod common;

use common::*;

const HEAD: &str = r#"duration = "2h"
sample_interval = "1h"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
[cloud.timings]
pending = { dist = "fixed", value = "10m" }
"#;

fn pending_at(dir: &std::path::Path, t_ms: u64) -> u64 {
    read_timeseries(dir)
        .iter()
        .filter(|r| r.time_ms == t_ms && r.state == "PENDING")
        .map(|r| r.instances)
        .sum()
}

fn alive_at(dir: &std::path::Path, t_ms: u64) -> u64 {
    read_timeseries(dir)
        .iter()
        .filter(|r| r.time_ms == t_ms)
        .map(|r| r.instances)
        .sum()
}

#[test]
fn a_sample_counts_the_creations_of_its_own_instant() {
    let dir = fresh_dir("sample-ties");
    // One instance at 30 min first: the trace schedules its 1 h row only then, after the 1 h
    // sample was queued (at 0).
    let mut scripted = format!(
        "name = \"scripted\"\n{HEAD}[[actions]]\nat = \"30m\"\naction = \"RunInstances\"\n\
         zone = \"ap-guangzhou-3\"\ninstance_type = \"S5.MEDIUM4\"\n"
    );
    for _ in 0..3 {
        scripted.push_str(
            "[[actions]]\nat = \"1h\"\naction = \"RunInstances\"\nzone = \"ap-guangzhou-3\"\n\
             instance_type = \"S5.MEDIUM4\"\n",
        );
    }
    write_file(
        &dir,
        "t.csv",
        "vm_id,batch,create_s,lifetime_s,vcpus,memory_gb\n\
         9,9,1800,,2,4\n0,0,3600,,2,4\n1,1,3600,,2,4\n2,2,3600,,2,4\n",
    );
    let traced = format!(
        "name = \"traced\"\n{HEAD}[[traces]]\nname = \"t\"\nfile = \"t.csv\"\ntime_offset = 0\n\
         columns = {{ created = \"create_s\", lifetime = \"lifetime_s\", vcpus = \"vcpus\", \
         memory = \"memory_gb\" }}\n"
    );
    for (name, text) in [("scripted", scripted), ("traced", traced)] {
        let scn = write_file(&dir, &format!("{name}.toml"), &text);
        let out = dir.join(name);
        let o = run_cli([
            "run".as_ref(),
            scn.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--quiet".as_ref(),
        ]);
        assert_ok(&o);
        assert_eq!(alive_at(&out, 0), 0, "{name}: at 0");
        assert_eq!(pending_at(&out, 3_600_000), 3, "{name}: pending at 1 h");
        assert_eq!(alive_at(&out, 3_600_000), 4, "{name}: at 1 h");
        assert_eq!(alive_at(&out, 7_200_000), 4, "{name}: at 2 h");
    }
}

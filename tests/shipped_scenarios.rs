//! Every scenario shipped in `scenarios/` reads without error, and the embedded default is
//! `scenarios/quickstart.toml` itself.

use std::path::Path;

#[test]
fn every_shipped_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("scenarios/") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            // The Azure replay reads the shared data set, which only exists beside the repository.
            if p.ends_with("azure-replay.toml")
                && !Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/data/azure2017")
                    .exists()
            {
                continue;
            }
            if let Err(e) = fleetsim::scenario::load_file(&p) {
                panic!("{}: {e}", p.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} scenarios found");
}

#[test]
fn the_embedded_default_is_the_quickstart_file() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    assert_eq!(
        std::fs::read_to_string(file).expect("quickstart.toml"),
        fleetsim::scenario::QUICKSTART
    );
}

use fleetsim::engine::{RngStreams, SimTime};
use fleetsim::workload::Workload;
#[test]
fn scratch() {
    for arrival in [
        "process = \"poisson\"\nrate_per_hour = 3600",
        "process = \"profile\"\nrate_per_hour = 3600\ndaily = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.9, 2.0, 1.9, 1.8, 1.8, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.5, 0.4]\nweekly = [1,1,1,1,1,0.5,0.5]",
        "process = \"profile\"\nrate_per_hour = 3600\ndaily = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.9, 2.0, 1.9, 1.8, 1.8, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.5, 0.4]\ngrowth = { kind = \"ramp\", per_month = 0.05 }\nburst = { on_mean = \"1h\", off_mean = \"6h\", factor = 5 }",
    ] {
        let text = format!("name = \"x\"\nduration = \"120d\"\ninstance_types = [\"S5.MEDIUM4\"]\n[zones.ap-guangzhou-3]\n[[workloads]]\nname = \"w\"\nlifetime = {{ dist = \"fixed\", value = \"1h\" }}\ntypes = {{ \"S5.MEDIUM4\" = 1 }}\nzones = {{ ap-guangzhou-3 = 1 }}\n[workloads.arrival]\n{arrival}\n");
        let scn = fleetsim::scenario::parse_scenario(&text, "x.toml").unwrap();
        let mut w = Workload::new(scn.workloads[0].clone(), &RngStreams::new(1));
        let t0 = std::time::Instant::now();
        let mut now = SimTime::ZERO; let mut n = 0u64;
        loop { now = w.next_arrival(now); if now.ms() >= scn.duration.ms() { break; } n += 1; }
        let dt = t0.elapsed().as_secs_f64();
        eprintln!("{n} arrivals in {dt:.3} s: {:.1} ns/arrival", dt * 1e9 / n as f64);
    }
}

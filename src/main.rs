//! The `fleetsim` command: parses arguments and calls the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use fleetsim::cli::SweepArgs;
use fleetsim::cli::fit::FitArgs;
use fleetsim::report::journal::TraceFilter;
use fleetsim::run::RunOptions;

#[derive(Parser)]
#[command(
    name = "fleetsim",
    version,
    about = "Discrete-event simulator of a Tencent Cloud CVM fleet",
    long_about = "Discrete-event simulator of a Tencent Cloud CVM fleet: instances through their \
lifecycle across zones and billing models, driven through a model of the CVM control plane \
(quotas, stock, rate limits, error codes), with exact cost accounting.\n\n\
Start with `fleetsim run` (the embedded quickstart scenario)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands. A new one is one variant here, one `Args` struct and one arm in `real_main`.
#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results folder.
    #[command(
        after_help = "Examples:\n  fleetsim run\n  fleetsim run scenarios/quickstart.toml --seed 7 --out output/q7\n  fleetsim run scenarios/quickstart.toml --trace --trace-zone ap-guangzhou-3"
    )]
    Run(RunArgs),
    /// Compare purchasing strategies on the same demand, over replications.
    #[command(
        after_help = "The scenario lists its strategies in [[compare.strategies]] \
(charge_type, period_months, fallback, base_percentile). Every strategy sees the same demand \
in each replication (common random numbers).\n\nExamples:\n  fleetsim compare scenarios/billing-compare.toml\n  fleetsim compare scenarios/billing-compare.toml --replications 30 --out output/cmp"
    )]
    Compare(CompareArgs),
    /// Run replications of a scenario over a grid of settings, in parallel.
    #[command(
        after_help = "Each --set takes a dotted path into the scenario and a comma-separated \
list of values; the grid is every combination (also settable in the scenario's [sweep] table). \
Replication r uses the same seed at every grid point, so points are compared on the same demand.\n\n\
Examples:\n  fleetsim sweep scenarios/quota-wall.toml --set zones.ap-guangzhou-3.quota.postpaid=30,60,120 -r 8\n  \
fleetsim sweep scenarios/quickstart.toml -r 32 --shard 2/4 --out output/shard2\n  \
fleetsim merge output/shard1 output/shard2 output/shard3 output/shard4 --out output/sweep"
    )]
    Sweep(SweepArgs),
    /// Merge the folders of a sharded sweep into one, as if it had run in one go.
    #[command(
        after_help = "Example:\n  fleetsim merge output/shard1 output/shard2 --out output/sweep"
    )]
    Merge(MergeArgs),
    /// Fit a workload (arrival profile, batch sizes, size mix, lifetimes) to a VM trace.
    #[command(
        after_help = "Reads a trace CSV (sorted by creation time) and prints a [[workloads]] \
section: requests per hour for each hour of the week (folded by hour of the day for a trace of \
a week or less), the empirical batch sizes, the size mix after mapping sizes to instance types, \
and Kaplan-Meier lifetime quantiles per type. Without --scenario the columns default to the \
Azure 2017 trace's (create_s, lifetime_s, vcpus, memory_gb, batch).\n\n\
Examples:\n  fleetsim fit ../shared/data/azure2017/azure2017_vms.csv --out azure-workload.toml\n  \
fleetsim fit trace.csv --columns created=start,deleted=end,vcpus=cpu,memory=mem_gb --types S5.SMALL2,S5.MEDIUM4\n  \
fleetsim fit trace.csv --scenario scenarios/azure-replay.toml --scale 1.3"
    )]
    Fit(FitCmd),
    /// Serve the simulated control plane as a CVM endpoint for the official SDKs and tccli.
    #[command(
        after_help = "Speaks CVM API 2017-03-12 on POST / (TC3-HMAC-SHA256 signatures checked \
against TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY unless --any-key). Control calls: \
GET /fleetsim/status, POST /fleetsim/advance {\"By\": \"10m\"} (with --clock manual), \
POST /fleetsim/stop. The run folder is written when the server stops (Ctrl-C, SIGTERM or \
/fleetsim/stop). Without a scenario, an empty account (scenarios/serve.toml, embedded) is served.\n\n\
Examples:\n  fleetsim serve --clock manual --any-key\n  \
fleetsim serve scenarios/quota-wall.toml --clock speedup=60 --out output/my-test\n  \
fleetsim serve --tls --listen 127.0.0.1:9443"
    )]
    Serve(ServeArgs),
    /// Check a scenario file and report every problem found.
    #[command(after_help = "Example:\n  fleetsim validate scenarios/quickstart.toml")]
    Validate(ValidateArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Scenario file (TOML). Without one, the embedded quickstart scenario runs.
    scenario: Option<PathBuf>,
    /// Output folder [default: output/<scenario name>/]. Replaced whole on success when
    /// fleetsim wrote it or it is empty; any other folder is refused.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed overriding the scenario's.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one readable line per event (state changes and API calls).
    #[arg(long)]
    trace: bool,
    /// With --trace: only this instance (ins-xxxxxxxx).
    #[arg(long, value_name = "ID")]
    trace_instance: Option<String>,
    /// With --trace: only this zone.
    #[arg(long, value_name = "ZONE")]
    trace_zone: Option<String>,
    /// Change a setting by its dotted path before running (repeatable), e.g.
    /// `--set workloads.0.arrival.rate_per_hour=50`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Print nothing but errors (and no progress bar).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct CompareArgs {
    /// Scenario file (TOML) with a [compare] section.
    scenario: PathBuf,
    /// Output folder [default: output/<scenario name>-compare/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed overriding the scenario's (replication r uses a seed derived from it).
    #[arg(long)]
    seed: Option<u64>,
    /// Replications per strategy, overriding `compare.replications`.
    #[arg(long, short = 'r')]
    replications: Option<u32>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct MergeArgs {
    /// Shard folders written by `fleetsim sweep --shard K/N`.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Output folder [default: output/<name>-sweep/].
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct FitCmd {
    #[command(flatten)]
    fit: FitArgs,
    /// Write the workload to this file instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// Scenario file (TOML) whose world the clients join [default: an empty account].
    scenario: Option<PathBuf>,
    /// Address to listen on (loopback unless you give another).
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: std::net::SocketAddr,
    /// How simulated time moves: manual, speedup=N or realtime.
    #[arg(long, default_value = "manual", value_parser = fleetsim::serve::ClockMode::parse)]
    clock: fleetsim::serve::ClockMode,
    /// Run folder written on shutdown [default: output/<scenario name>-serve/, output/serve/
    /// without a scenario].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Accept any key: signatures are parsed but not checked.
    #[arg(long)]
    any_key: bool,
    /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost, written
    /// beside the run folder as <out>-cert.pem and <out>-key.pem.
    #[arg(long)]
    tls: bool,
    /// Serve HTTPS with this certificate (PEM) instead of a generated one.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    tls_key: Option<PathBuf>,
}

#[derive(Args)]
struct ValidateArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints to stdout; a closed pipe (`fleetsim run | head`) is not an error worth a panic.
fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    // `serve` answers Ctrl-C and SIGTERM itself: they end the run and write its folder.
    if !matches!(cli.command, Command::Serve(_)) {
        fleetsim::report::output::clean_up_on_interrupt()
            .map_err(|e| anyhow::anyhow!("cannot set up the interrupt handler: {e}"))?;
    }
    match cli.command {
        Command::Run(a) => {
            let scn = fleetsim::cli::load_scenario_with(a.scenario.as_deref(), &a.sets)?;
            let filtered = a.trace_instance.is_some() || a.trace_zone.is_some();
            let trace = (a.trace || filtered).then_some(TraceFilter {
                instance: a.trace_instance,
                zone: a.trace_zone,
            });
            // The bar goes to stderr, only on a terminal, and not with --trace, whose lines
            // would tear it.
            let show_progress = !a.quiet && trace.is_none() && std::io::stderr().is_terminal();
            let res = fleetsim::cli::run_with_bar(
                &scn,
                RunOptions {
                    out: a.out,
                    seed: a.seed,
                    trace,
                    write_files: true,
                },
                show_progress,
            )?;
            if !a.quiet {
                say(&fleetsim::cli::run_report(&res));
            }
            for w in &res.warnings {
                eprintln!("warning: {w}");
            }
            Ok(())
        }
        Command::Compare(a) => {
            let scn = fleetsim::cli::load_scenario(Some(&a.scenario))?;
            let res = fleetsim::compare::compare(
                &scn,
                fleetsim::compare::CompareOptions {
                    out: a.out,
                    seed: a.seed,
                    replications: a.replications,
                },
            )?;
            if !a.quiet {
                say(&fleetsim::compare::report(&res, &scn.catalog.currency));
            }
            Ok(())
        }
        Command::Sweep(a) => {
            let show = !a.quiet && std::io::stderr().is_terminal();
            let res = fleetsim::cli::sweep(&a, show)?;
            if !a.quiet {
                say(&fleetsim::sweep::report(&res));
            }
            Ok(())
        }
        Command::Merge(a) => {
            let res = fleetsim::sweep::merge(&a.shards, a.out)?;
            if !a.quiet {
                say(&fleetsim::sweep::report(&res));
            }
            Ok(())
        }
        Command::Fit(FitCmd { fit, out }) => {
            let (text, report) = fleetsim::cli::fit::run_fit(&fit, out.as_deref())?;
            match &out {
                Some(p) => {
                    say(&format!("{report}\nworkload written to {}\n", p.display()));
                }
                None => {
                    say(&text);
                    eprintln!("{report}");
                }
            }
            Ok(())
        }
        Command::Serve(a) => serve(a),
        Command::Validate(a) => {
            say(&(fleetsim::cli::validate(&a.scenario)? + "\n"));
            Ok(())
        }
    }
}

/// `fleetsim serve`.
fn serve(a: ServeArgs) -> Result<()> {
    use fleetsim::serve::auth::Credentials;
    use fleetsim::serve::http::Tls;
    let ServeArgs {
        scenario,
        listen,
        clock,
        out,
        any_key,
        tls,
        tls_cert,
        tls_key,
    } = a;
    let tls_files = tls_cert.zip(tls_key);
    let scn = match &scenario {
        Some(p) => fleetsim::cli::load_scenario(Some(p))?,
        None => fleetsim::scenario::parse_scenario(
            fleetsim::serve::DEFAULT_SCENARIO,
            "scenarios/serve.toml (embedded)",
        )?,
    };
    let out = out.unwrap_or_else(|| {
        let name = if scn.name == "serve" {
            "serve".to_string()
        } else {
            format!("{}-serve", scn.name)
        };
        PathBuf::from("output").join(name)
    });
    let credentials = if any_key {
        Credentials::AnyKey
    } else {
        let id = std::env::var("TENCENTCLOUD_SECRET_ID").unwrap_or_default();
        let key = std::env::var("TENCENTCLOUD_SECRET_KEY").unwrap_or_default();
        if id.is_empty() || key.is_empty() {
            anyhow::bail!(
                "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (the key pair clients \
                 sign with), or pass --any-key to accept any key"
            );
        }
        Credentials::Key {
            secret_id: id,
            secret_key: key,
        }
    };
    let tls = match (tls, tls_files) {
        (_, Some((cert, key))) => Some(Tls::Files { cert, key }),
        (true, None) => {
            let name = out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "serve".into());
            let beside = |suffix: &str| out.with_file_name(format!("{name}-{suffix}"));
            Some(Tls::Generate {
                cert: beside("cert.pem"),
                key: beside("key.pem"),
            })
        }
        (false, None) => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let cert_note = match &tls {
        Some(Tls::Generate { cert, .. }) => {
            format!(" (self-signed certificate: {})", cert.display())
        }
        _ => String::new(),
    };
    let name = scn.name.clone();
    let folder = fleetsim::serve::serve(fleetsim::serve::ServeOptions {
        scenario: scn,
        listen,
        clock,
        out,
        credentials,
        tls,
        epoch: fleetsim::serve::DEFAULT_EPOCH,
        on_listen: Some(Box::new(move |addr| {
            say(&format!(
                "fleetsim serve: scenario `{name}` on {scheme}://{addr}{cert_note}\n"
            ));
        })),
    })?;
    say(&format!("run folder written to {}\n", folder.display()));
    Ok(())
}

//! The `fleetsim` command: parses arguments and calls the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results folder.
    #[command(
        after_help = "Examples:\n  fleetsim run\n  fleetsim run scenarios/quickstart.toml --seed 7 --out output/q7\n  fleetsim run scenarios/quickstart.toml --trace --trace-zone ap-guangzhou-3"
    )]
    Run {
        /// Scenario file (TOML). Without one, the embedded quickstart scenario runs.
        scenario: Option<PathBuf>,
        /// Output folder [default: output/<scenario name>/]. Replaced whole on success.
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
        /// Print nothing but errors (and no progress bar).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Compare purchasing strategies on the same demand, over replications.
    #[command(
        after_help = "The scenario lists its strategies in [[compare.strategies]] \
(charge_type, period_months, fallback, base_percentile). Every strategy sees the same demand \
in each replication (common random numbers).\n\nExamples:\n  fleetsim compare scenarios/billing-compare.toml\n  fleetsim compare scenarios/billing-compare.toml --replications 30 --out output/cmp"
    )]
    Compare {
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
    },
    /// Check a scenario file and report every problem found.
    #[command(after_help = "Example:\n  fleetsim validate scenarios/quickstart.toml")]
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
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
    match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            trace,
            trace_instance,
            trace_zone,
            quiet,
        } => {
            let scn = fleetsim::cli::load_scenario(scenario.as_deref())?;
            let filtered = trace_instance.is_some() || trace_zone.is_some();
            let trace = (trace || filtered).then_some(TraceFilter {
                instance: trace_instance,
                zone: trace_zone,
            });
            // The bar goes to stderr, only on a terminal, and not with --trace, whose lines
            // would tear it.
            let show_progress = !quiet && trace.is_none() && std::io::stderr().is_terminal();
            let res = fleetsim::cli::run_with_bar(
                &scn,
                RunOptions {
                    out,
                    seed,
                    trace,
                    write_files: true,
                },
                show_progress,
            )?;
            if !quiet {
                say(&fleetsim::cli::run_report(&res));
            }
            Ok(())
        }
        Command::Compare {
            scenario,
            out,
            seed,
            replications,
            quiet,
        } => {
            let scn = fleetsim::cli::load_scenario(Some(&scenario))?;
            let res = fleetsim::compare::compare(
                &scn,
                fleetsim::compare::CompareOptions {
                    out,
                    seed,
                    replications,
                },
            )?;
            if !quiet {
                say(&fleetsim::compare::report(&res, &scn.catalog.currency));
            }
            Ok(())
        }
        Command::Validate { scenario } => {
            let scn = fleetsim::cli::load_scenario(Some(&scenario))?;
            say(&(fleetsim::cli::validate_report(&scn) + "\n"));
            Ok(())
        }
    }
}

//! The `wagewatch` command line: parses arguments, then calls into the library.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use wagewatch::contract::Date;
use wagewatch::ingest::{self, DatasetSummary, IngestOptions, Mode, Pseudonymizer};
use wagewatch::synth::{self, OutputFormat, SynthConfig};

/// wagewatch warns of unpaid wages (欠薪) before they happen.
#[derive(Parser)]
#[command(name = "wagewatch", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the demo province (if not there yet) and validate it.
    Demo(DemoArgs),
    /// Read a dataset folder, check it against the data contract and print a summary.
    Validate(ValidateArgs),
    /// Write a synthetic province in the contract's format.
    Generate(GenerateArgs),
}

#[derive(Args)]
struct KeyArgs {
    /// File holding the worker-id pseudonymisation key (created with mode 0600 on first use).
    /// The WAGEWATCH_PSEUDONYM_KEY environment variable (64 hex digits) takes precedence.
    #[arg(long, default_value = "state/pseudonym.key")]
    key_file: PathBuf,
}

#[derive(Args)]
struct DemoArgs {
    /// Where the demo province is generated.
    #[arg(long, default_value = "data/generated/demo")]
    data: PathBuf,
    #[command(flatten)]
    key: KeyArgs,
}

#[derive(Args)]
struct ValidateArgs {
    /// The dataset folder: one file (or folder of Parquet files) per contract table.
    #[arg(long)]
    data: PathBuf,
    /// Also count the facts dated after this date (YYYY-MM-DD); they are history, not errors.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
    /// Set bad rows aside in this folder (one CSV per table, with reasons) instead of stopping.
    #[arg(long)]
    quarantine: Option<PathBuf>,
    /// How many problems to list in full.
    #[arg(long, default_value_t = 20)]
    show: usize,
    #[command(flatten)]
    key: KeyArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Parquet,
    Csv,
}

#[derive(Args)]
struct GenerateArgs {
    /// Output folder (created if needed); existing table files in it are replaced.
    #[arg(long)]
    out: PathBuf,
    /// Number of employers in the province.
    #[arg(long, default_value_t = 2000)]
    employers: usize,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// First day simulated (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, default_value = "2023-01-01")]
    start: Date,
    /// Last day simulated (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, default_value = "2027-03-31")]
    end: Date,
    /// File format of the tables.
    #[arg(long, value_enum, default_value = "parquet")]
    format: FormatArg,
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WAGEWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo(args) => demo(args),
        Command::Validate(args) => validate(args),
        Command::Generate(args) => generate(args),
    }
}

fn demo(args: DemoArgs) -> Result<()> {
    if args.data.join("employers.parquet").is_file() {
        tracing::info!(path = %args.data.display(), "demo province already generated");
    } else {
        let config = SynthConfig::demo();
        run_generate(&config, &args.data)?;
    }
    validate(ValidateArgs { data: args.data, as_of: None, quarantine: None, show: 20, key: args.key })
}

fn validate(args: ValidateArgs) -> Result<()> {
    let pseudonymizer = Pseudonymizer::from_env_or_file(&args.key.key_file).context("loading the pseudonymisation key")?;
    let mode = match args.quarantine {
        Some(dir) => Mode::Quarantine(dir),
        None => Mode::Strict,
    };
    let options = IngestOptions { mode, problems_listed: args.show };
    let spinner = spinner(&format!("reading {}", args.data.display()));
    let started = Instant::now();
    let result = ingest::load(&args.data, &pseudonymizer, &options);
    spinner.finish_and_clear();
    let ingested = result.with_context(|| format!("validating {}", args.data.display()))?;
    let elapsed = started.elapsed();
    println!("dataset {} read and checked in {:.2} s", args.data.display(), elapsed.as_secs_f64());
    println!();
    for report in &ingested.tables {
        println!("  {report}");
    }
    let problems: Vec<_> = ingested.tables.iter().filter(|t| t.problems.bad_rows > 0).collect();
    if !problems.is_empty() {
        println!();
        println!("problems by kind:");
        for t in &problems {
            for ((kind, column), n) in &t.problems.counts {
                println!("  {:<18} {:<22} {:<20} {n}", t.table.name(), column, kind.code());
            }
        }
        println!();
        println!("first problems:");
        for t in &problems {
            for p in &t.problems.first {
                println!("  - {p}");
            }
            if let Some(path) = &t.quarantine_file {
                println!("  {} row(s) of {} set aside in {}", t.problems.bad_rows, t.table, path.display());
            }
        }
    }
    println!();
    print!("{}", DatasetSummary::compute(&ingested.dataset, args.as_of));
    Ok(())
}

fn generate(args: GenerateArgs) -> Result<()> {
    let format = match args.format {
        FormatArg::Parquet => OutputFormat::Parquet,
        FormatArg::Csv => OutputFormat::Csv,
    };
    if args.end <= args.start {
        bail!("--end ({}) must come after --start ({})", args.end, args.start);
    }
    let config = SynthConfig { employers: args.employers, seed: args.seed, start: args.start, end: args.end, format };
    run_generate(&config, &args.out)
}

fn run_generate(config: &SynthConfig, out: &Path) -> Result<()> {
    let months = (config.end.month().index() - config.start.month().index() + 1).max(1) as u64;
    let bar = ProgressBar::new(months).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} months, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("generating {} employers", config.employers));
    let started = Instant::now();
    let summary = synth::generate(config, out, &|month| {
        bar.set_message(format!("generating {month}"));
        bar.inc(1);
    })
    .with_context(|| format!("generating a province into {}", out.display()))?;
    bar.finish_and_clear();
    println!("generated {} employers into {} in {:.1} s", config.employers, out.display(), started.elapsed().as_secs_f64());
    for (table, rows) in &summary.rows {
        println!("  {:<18} {rows:>11} rows", table.name());
    }
    Ok(())
}

fn spinner(message: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message.to_string());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

//! The `wagewatch` command line: parses arguments, then calls into the library.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use wagewatch::backtest::{self, BacktestConfig};
use wagewatch::contract::{Date, RegionPrefix};
use wagewatch::features::{self, EntityType, Feature, WorkerMonths};
use wagewatch::ingest::{self, Dataset, DatasetSummary, IngestOptions, Mode, Pseudonymizer};
use wagewatch::model::{self, artifact, BandCutoffs, TrainConfig};
use wagewatch::runs;
use wagewatch::server;
use wagewatch::state::{AuditQuery, Role, Store, Timestamp};
use wagewatch::synth::{self, OutputFormat, SynthConfig};
use wagewatch::watchlist;

/// wagewatch warns of unpaid wages (欠薪) before they happen.
#[derive(Parser)]
#[command(name = "wagewatch", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole system on a demo province: generate it (if not there yet), train, backtest, re-score as of
    /// 2026-12-01, then serve the dashboard and API on 127.0.0.1:8080 with two tokens printed.
    Demo(DemoArgs),
    /// Read a dataset folder, check it against the data contract and print a summary.
    Validate(ValidateArgs),
    /// Write a synthetic province in the contract's format.
    Generate(GenerateArgs),
    /// List the feature catalogue.
    Features(FeaturesArgs),
    /// Train a model on the history before an as-of date and save it under models/.
    Train(TrainArgs),
    /// Score every employer and project as of a date and write the watchlist (CSV or Parquet).
    Score(ScoreArgs),
    /// At each test date, train on the past only, score, and compare with what happened.
    Backtest(BacktestArgs),
    /// Score every employer and project as of a date and publish it as a run in the state folder.
    Rescore(RescoreArgs),
    /// Serve the API (and re-score on the configured schedule).
    Serve(ServeArgs),
    /// Create, list or revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List the audit log of score reads, newest first.
    Audit(AuditArgs),
}

#[derive(Args)]
struct StateArgs {
    /// The state folder: database, runs, key.
    #[arg(long, default_value = "state")]
    state: PathBuf,
    /// The TOML configuration (default: wagewatch.toml if it exists, else the built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl StateArgs {
    fn config(&self) -> Result<runs::Config> {
        match &self.config {
            Some(path) => Ok(runs::Config::load(path, true)?),
            None => Ok(runs::Config::load(Path::new("wagewatch.toml"), false)?),
        }
    }
}

#[derive(Args)]
struct RescoreArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The dataset folder (default: the configuration's `data`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The model folder (default: the configuration's `models`).
    #[arg(long)]
    models: Option<PathBuf>,
    /// The model id (default: the configured one, else the newest).
    #[arg(long)]
    model: Option<String>,
    /// The as-of date scored.
    #[arg(long, value_parser = parse_date)]
    as_of: Date,
    #[command(flatten)]
    key: KeyArgs,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Address to listen on (default: the configuration's `server.listen`, 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Do not re-score on a schedule (overrides the configuration).
    #[arg(long)]
    no_schedule: bool,
    #[command(flatten)]
    key: KeyArgs,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (shown once, stored only hashed).
    Create {
        #[command(flatten)]
        state: StateArgs,
        /// inspector, supervisor or admin.
        #[arg(long)]
        role: String,
        /// Region code prefix: 2 digits province, 4 city, 6 district (admins may omit it).
        #[arg(long, default_value = "")]
        region: String,
        /// Who holds it, e.g. "江宁区监察大队 张三".
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        state: StateArgs,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        state: StateArgs,
        /// The token id shown by `token list`.
        id: i64,
    },
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Only this token's entries.
    #[arg(long)]
    token_id: Option<i64>,
    /// Only this route template, e.g. /v1/watchlist.
    #[arg(long)]
    route: Option<String>,
    /// Only entries at or after this time (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    since: Option<String>,
    /// How many entries.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Args)]
struct DataArgs {
    /// The dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// Set bad rows aside in this folder instead of stopping on them.
    #[arg(long)]
    quarantine: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
}

#[derive(Args)]
struct FeaturesArgs {
    /// Print the catalogue (name, unit, entity types, meaning).
    #[arg(long)]
    list: bool,
    /// Print it as a Markdown table.
    #[arg(long)]
    markdown: bool,
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The state folder whose recorded inspections are added to the data (when it exists).
    #[arg(long, default_value = "state")]
    state: PathBuf,
    /// The training cutoff: only what was known on this date is used.
    #[arg(long, value_parser = parse_date)]
    as_of: Date,
    /// The prediction horizon, in days (`60d` or `60`).
    #[arg(long, value_parser = parse_days, default_value = "60d")]
    horizon: i32,
    /// Monthly as-of dates in the training panel.
    #[arg(long, default_value_t = model::PANEL_MONTHS)]
    panel_months: usize,
    /// Where models are saved.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// The model id (default: derived from the cutoff and the data fingerprint).
    #[arg(long)]
    id: Option<String>,
}

#[derive(Args)]
struct ScoreArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The model id under --models.
    #[arg(long)]
    model: String,
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// The as-of date scored.
    #[arg(long, value_parser = parse_date)]
    as_of: Date,
    /// The watchlist file: .csv or .parquet.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct BacktestArgs {
    #[command(flatten)]
    data: DataArgs,
    /// First test date.
    #[arg(long, value_parser = parse_date)]
    from: Date,
    /// Last test date.
    #[arg(long, value_parser = parse_date)]
    to: Date,
    /// Months between test dates (`1m`).
    #[arg(long, value_parser = parse_months, default_value = "1m")]
    step: i32,
    #[arg(long, value_parser = parse_days, default_value = "60d")]
    horizon: i32,
    #[arg(long, default_value_t = model::PANEL_MONTHS)]
    panel_months: usize,
    /// Where the report (Markdown, JSON, SVG) is written.
    #[arg(long, default_value = "out/backtest")]
    out: PathBuf,
}

#[derive(Args, Clone)]
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
    /// The state folder the demo's runs and tokens go to.
    #[arg(long, default_value = "state")]
    state: PathBuf,
    /// Address the dashboard and API listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Prepare everything, print the tokens, but do not start the server.
    #[arg(long)]
    no_serve: bool,
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

fn parse_days(text: &str) -> Result<i32, String> {
    let digits = text.strip_suffix('d').unwrap_or(text);
    digits
        .parse::<i32>()
        .ok()
        .filter(|d| (1..=730).contains(d))
        .ok_or_else(|| format!("{text:?} is not a number of days such as 60d"))
}

fn parse_months(text: &str) -> Result<i32, String> {
    let digits = text.strip_suffix('m').unwrap_or(text);
    digits
        .parse::<i32>()
        .ok()
        .filter(|d| (1..=24).contains(d))
        .ok_or_else(|| format!("{text:?} is not a number of months such as 1m"))
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
        Command::Features(args) => list_features(args),
        Command::Train(args) => train(args),
        Command::Score(args) => score(args),
        Command::Backtest(args) => run_backtest(args),
        Command::Rescore(args) => rescore(args),
        Command::Serve(args) => serve(args),
        Command::Token(command) => token(command),
        Command::Audit(args) => audit(args),
    }
}

/// The demo's as-of date: just before the 2027 Spring Festival peak.
const DEMO_AS_OF: &str = "2026-12-01";
/// The demo's previous run, so that the dashboard shows changes.
const DEMO_PREVIOUS: &str = "2026-11-01";

fn demo(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    if args.data.join("employers.parquet").is_file() {
        tracing::info!(path = %args.data.display(), "demo province already generated");
    } else {
        let config = SynthConfig::demo();
        run_generate(&config, &args.data)?;
    }
    let as_of = Date::parse(DEMO_AS_OF).expect("a valid date");
    let data = DataArgs { data: args.data.clone(), quarantine: None, key: args.key.clone() };
    let (ds, wm) = load_dataset(&data)?;
    print!("{}", DatasetSummary::compute(&ds, Some(as_of)));
    let models = Path::new("models");
    let model_id = format!("demo-{DEMO_AS_OF}");
    let trained = train_and_save(&ds, &wm, TrainConfig::new(as_of, 60), models, Some(model_id.clone()))?;
    let out = args.data.with_file_name("demo-watchlist.csv");
    score_and_write(&ds, &wm, &trained, as_of, &out)?;

    // A short backtest (an off-peak and a pre-festival date) for the dashboard's model page.
    let model_dir = artifact::model_dir(models, &model_id);
    let report_dir = PathBuf::from("out/demo-backtest");
    let config = BacktestConfig {
        from: Date::parse("2026-06-01").expect("a valid date"),
        to: as_of,
        step_months: 6,
        horizon_days: 60,
        panel_months: model::PANEL_MONTHS,
        calibration_months: model::CALIBRATION_MONTHS,
        watchlists: None,
    };
    let spin = spinner("backtesting at 2026-06-01 and 2026-12-01");
    let result = backtest::run(&ds, &wm, &config, &|_, _| {}).context("backtesting")?;
    spin.finish_and_clear();
    backtest::write_report(&result, &report_dir).context("writing the backtest report")?;
    std::fs::copy(report_dir.join("report.json"), model_dir.join("backtest.json")).context("copying the backtest")?;
    for svg in [
        "precision_at_k_employer.svg",
        "precision_at_k_project.svg",
        "reliability_employer.svg",
        "reliability_project.svg",
    ] {
        std::fs::copy(report_dir.join(svg), model_dir.join(svg)).with_context(|| format!("copying {svg}"))?;
    }
    println!("backtest of 2 dates in {:.0} s -> {}", result.seconds, report_dir.display());

    // Two runs, so that the dashboard shows the change since the last one, then tokens and the server.
    let mut config = runs::Config { data: args.data.clone(), models: models.to_path_buf(), ..Default::default() };
    config.schedule.enabled = false;
    config.server.listen = args.listen.clone();
    let mut store = Store::open(&args.state).context("opening the state folder")?;
    let fingerprint = model::fingerprint(&ds);
    let inputs = runs::ScoringInputs { ds: &ds, wm: &wm, model: &trained, data_fingerprint: &fingerprint };
    let mut last = None;
    for day in [DEMO_PREVIOUS, DEMO_AS_OF] {
        let request = runs::RescoreRequest { as_of: Date::parse(day).expect("a valid date"), trigger: "cli".into() };
        last = Some(runs::rescore(&mut store, &inputs, &request, &config).context("re-scoring")?);
    }
    let run = last.expect("two runs");
    let district = busiest_district(&store, &run)?;
    let (_, supervisor) =
        store.create_token("演示主管 demo supervisor", Role::Supervisor, district).context("creating a token")?;
    let (_, inspector) =
        store.create_token("演示监察员 demo inspector", Role::Inspector, district).context("creating a token")?;
    drop(store);
    println!();
    println!("demo ready in {:.0} s: run {} as of {}", started.elapsed().as_secs_f64(), run.run_id, run.as_of);
    println!("  dashboard:  http://{}/", args.listen);
    println!("  supervisor token (district {district}): {supervisor}");
    println!("  inspector token  (district {district}): {inspector}");
    println!("  API: curl -H 'Authorization: Bearer <token>' 'http://{}/v1/watchlist?limit=5'", args.listen);
    if args.no_serve {
        return Ok(());
    }
    println!("serving until ctrl-c");
    let state = server::AppState::open(config, &args.state, args.key.key_file.clone()).context("opening the state")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo serving");
        server::serve(state, listener).await.context("serving")
    })
}

/// The district with the most scored entities in a run.
fn busiest_district(store: &Store, run: &wagewatch::state::RunRecord) -> Result<RegionPrefix> {
    let data = runs::RunData::load(store, run.clone()).context("reading the run")?;
    let mut counts: std::collections::HashMap<wagewatch::contract::RegionCode, usize> = Default::default();
    for r in &data.rows {
        *counts.entry(r.region).or_default() += 1;
    }
    let (code, _) = counts.into_iter().max_by_key(|(c, n)| (*n, std::cmp::Reverse(*c))).context("an empty run")?;
    Ok(RegionPrefix::district(code))
}

fn validate(args: ValidateArgs) -> Result<()> {
    let started = Instant::now();
    let ingested = read_dataset(&args.data, args.quarantine, &args.key, args.show)?;
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
    println!(
        "generated {} employers into {} in {:.1} s",
        config.employers,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    for (table, rows) in &summary.rows {
        println!("  {:<18} {rows:>11} rows", table.name());
    }
    println!();
    println!("  wage month  worker-months  short-paid  (share)   owed 万元  complaints  group incidents  inspections");
    for m in &summary.monthly {
        let share =
            if m.worker_months > 0 { m.short_paid_worker_months as f64 / m.worker_months as f64 * 100.0 } else { 0.0 };
        println!(
            "  {}  {:>13}  {:>10}  {:>6.2}%  {:>9.1}  {:>10}  {:>15}  {:>11}",
            m.month,
            m.worker_months,
            m.short_paid_worker_months,
            share,
            m.owed_fen as f64 / 1_000_000.0,
            m.complaints,
            m.group_incidents,
            m.inspections
        );
    }
    Ok(())
}

fn spinner(message: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message.to_string());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// Loads a dataset (strict, or quarantining bad rows) and builds its worker-month index.
/// Reads and checks a dataset (strict, or setting bad rows aside in `quarantine`), with a spinner.
fn read_dataset(
    data: &Path,
    quarantine: Option<PathBuf>,
    key: &KeyArgs,
    problems_listed: usize,
) -> Result<ingest::Ingested> {
    let pseudonymizer = Pseudonymizer::from_env_or_file(&key.key_file).context("loading the pseudonymisation key")?;
    let options = IngestOptions { mode: quarantine.map_or(Mode::Strict, Mode::Quarantine), problems_listed };
    let spinner = spinner(&format!("reading {}", data.display()));
    let result = ingest::load(data, &pseudonymizer, &options);
    spinner.finish_and_clear();
    let ingested = result.with_context(|| format!("reading {}", data.display()))?;
    if ingested.rows_set_aside() > 0 {
        tracing::warn!(rows = ingested.rows_set_aside(), "bad rows set aside in the quarantine folder");
    }
    Ok(ingested)
}

/// Reads a dataset and builds its worker-month index.
fn load_dataset(args: &DataArgs) -> Result<(Dataset, WorkerMonths)> {
    let started = Instant::now();
    let ingested = read_dataset(&args.data, args.quarantine.clone(), &args.key, 20)?;
    let wm = WorkerMonths::build(&ingested.dataset);
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "dataset read");
    Ok((ingested.dataset, wm))
}

fn list_features(args: FeaturesArgs) -> Result<()> {
    use std::io::Write;
    if !args.list && !args.markdown {
        bail!("say --list (or --markdown) to print the feature catalogue");
    }
    let scope = |f: Feature| {
        let types: Vec<&str> = EntityType::ALL.iter().filter(|t| t.features().contains(&f)).map(|t| t.code()).collect();
        types.join("+")
    };
    let mut out = std::io::stdout().lock();
    let mut lines = Vec::new();
    if args.markdown {
        lines.push("| feature | unit | group | entities | meaning |\n|---|---|---|---|---|".to_string());
    }
    for f in Feature::ALL {
        let d = f.def();
        lines.push(if args.markdown {
            format!("| `{}` | {} | {} | {} | {} |", d.name, d.unit, d.group, scope(*f), d.meaning)
        } else {
            format!("{:<38} {:<9} {:<12} {:<17} {}", d.name, d.unit, d.group, scope(*f), d.meaning)
        });
    }
    for line in lines {
        // A reader that stops early (`| head`) is not an error.
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(e.into());
        }
    }
    Ok(())
}

fn train(args: TrainArgs) -> Result<()> {
    let (mut ds, wm) = load_dataset(&args.data)?;
    // Inspections recorded over the API are outcomes too: training sees them like the dataset's own.
    if args.state.join(wagewatch::state::DB_FILE).is_file() {
        let store = Store::open(&args.state).context("opening the state folder")?;
        let added = runs::merge_recorded_inspections(&mut ds, &store.recorded_inspections()?);
        if added > 0 {
            println!("{added} inspection(s) recorded over the API added to the training data");
        }
    }
    let mut config = TrainConfig::new(args.as_of, args.horizon);
    config.panel_months = args.panel_months;
    train_and_save(&ds, &wm, config, &args.models, args.id)?;
    Ok(())
}

fn train_and_save(
    ds: &Dataset,
    wm: &WorkerMonths,
    config: TrainConfig,
    models: &Path,
    id: Option<String>,
) -> Result<model::RiskModel> {
    let started = Instant::now();
    let data_fingerprint = model::fingerprint(ds);
    let id = id.unwrap_or_else(|| format!("m{}-{}", config.as_of.to_string().replace('-', ""), &data_fingerprint[..8]));
    let spin = spinner(&format!("training on {} monthly dates before {}", config.panel_months, config.as_of));
    let trained = model::train(ds, wm, &config, id, &data_fingerprint);
    spin.finish_and_clear();
    let trained = trained.context("training")?;
    let dir = artifact::save(&trained, models, "").context("saving the model")?;
    println!(
        "model {} trained in {:.1} s, saved in {}",
        trained.model_id,
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    for m in [&trained.employer, &trained.project] {
        let chosen = m.validation.last();
        println!(
            "  {:<8} {} on {} rows ({} events); validation AP {:.3}, AUC {:.3}",
            m.entity_type.code(),
            m.learner.name(),
            m.training_rows,
            m.training_events,
            chosen.map_or(0.0, |c| c.average_precision),
            chosen.map_or(0.0, |c| c.roc_auc)
        );
    }
    Ok(trained)
}

fn score(args: ScoreArgs) -> Result<()> {
    let trained = artifact::load(&args.models, &args.model).context("loading the model")?;
    let (ds, wm) = load_dataset(&args.data)?;
    score_and_write(&ds, &wm, &trained, args.as_of, &args.out)
}

fn score_and_write(ds: &Dataset, wm: &WorkerMonths, trained: &model::RiskModel, as_of: Date, out: &Path) -> Result<()> {
    let started = Instant::now();
    let feats = features::compute(ds, wm, as_of, trained.horizon_days);
    let scored = model::score(trained, &feats, &BandCutoffs::default());
    watchlist::write(ds, &scored, out).context("writing the watchlist")?;
    println!(
        "scored {} employers and {} projects as of {} in {:.2} s -> {}",
        feats.employers.rows(),
        feats.projects.rows(),
        as_of,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn run_backtest(args: BacktestArgs) -> Result<()> {
    let (ds, wm) = load_dataset(&args.data)?;
    let config = BacktestConfig {
        from: args.from,
        to: args.to,
        step_months: args.step,
        horizon_days: args.horizon,
        panel_months: args.panel_months,
        calibration_months: model::CALIBRATION_MONTHS,
        watchlists: Some(args.out.join("watchlists")),
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("backtest [{bar:40}] {pos}/{len} test dates, {elapsed}, {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let result = backtest::run(&ds, &wm, &config, &|t, n| {
        bar.set_length(n as u64);
        bar.set_message(format!("{t} done"));
        bar.inc(1);
    })
    .context("backtesting")?;
    bar.finish_and_clear();
    let path = backtest::write_report(&result, &args.out).context("writing the report")?;
    println!("backtest of {} dates in {:.0} s -> {}", result.dates.len(), result.seconds, path.display());
    Ok(())
}

fn rescore(args: RescoreArgs) -> Result<()> {
    let mut config = args.state.config()?;
    if let Some(data) = args.data {
        config.data = data;
    }
    if let Some(models) = args.models {
        config.models = models;
    }
    let key = Pseudonymizer::from_env_or_file(&args.key.key_file).context("loading the pseudonymisation key")?;
    let mut store = Store::open(&args.state.state).context("opening the state folder")?;
    let spin = spinner(&format!("re-scoring {} as of {}", config.data.display(), args.as_of));
    let result = runs::rescore_from_folder(&mut store, &config, &key, args.as_of, args.model.as_deref(), "cli");
    spin.finish_and_clear();
    let record = result.context("re-scoring")?;
    let c = &record.counts;
    println!(
        "run {} published in {:.1} s: {} employers, {} projects as of {} with model {}",
        record.run_id, record.seconds, c.employers, c.projects, record.as_of, record.model_id
    );
    println!(
        "  red {}, orange {}, yellow {}, green {}; {} new on the list",
        c.red, c.orange, c.yellow, c.green, c.new_on_list
    );
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    let mut config = args.state.config()?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if args.no_schedule {
        config.schedule.enabled = false;
    }
    let listen = config.server.listen.clone();
    let state =
        server::AppState::open(config, &args.state.state, args.key.key_file.clone()).context("opening the state")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("listening on {listen}"))?;
        tracing::info!(address = %listen, "serving; ctrl-c or SIGTERM stops");
        server::serve(state, listener).await.context("serving")
    })
}

fn token(command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create { state, role, region, name } => {
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role {role:?}: use inspector, supervisor or admin"))?;
            let region =
                RegionPrefix::parse(&region).with_context(|| format!("region {region:?} is not 2, 4 or 6 digits"))?;
            if role != Role::Admin && region == RegionPrefix::ALL {
                bail!("inspector and supervisor tokens need --region");
            }
            let mut store = Store::open(&state.state).context("opening the state folder")?;
            let (record, secret) = store.create_token(&name, role, region).context("creating the token")?;
            eprintln!(
                "token {} created for {} ({}, region {}); the secret is shown only now:",
                record.token_id,
                record.name,
                role.code(),
                if region == RegionPrefix::ALL { "all".to_string() } else { region.to_string() }
            );
            println!("{secret}");
        }
        TokenCommand::List { state } => {
            let store = Store::open(&state.state).context("opening the state folder")?;
            println!("{:>4}  {:<10}  {:<7}  {:<20}  {:<20}  name", "id", "role", "region", "created", "revoked");
            for t in store.tokens()? {
                println!(
                    "{:>4}  {:<10}  {:<7}  {:<20}  {:<20}  {}",
                    t.token_id,
                    t.role.code(),
                    if t.region == RegionPrefix::ALL { "all".to_string() } else { t.region.to_string() },
                    t.created_at,
                    t.revoked_at.map(|r| r.to_string()).unwrap_or_default(),
                    t.name
                );
            }
        }
        TokenCommand::Revoke { state, id } => {
            let mut store = Store::open(&state.state).context("opening the state folder")?;
            store.revoke_token(id)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

fn audit(args: AuditArgs) -> Result<()> {
    let store = Store::open(&args.state.state).context("opening the state folder")?;
    let since = args
        .since
        .as_deref()
        .map(|s| Timestamp::parse(s).with_context(|| format!("--since {s:?} is not YYYY-MM-DDTHH:MM:SSZ")))
        .transpose()?;
    let query = AuditQuery { token_id: args.token_id, route: args.route, since, before_id: None, limit: args.limit };
    for r in store.audit(&query)? {
        let e = &r.entry;
        println!(
            "{:>7}  {}  token {:>3} {:<24} {:<10} {} {} ?{}  rows {}  status {}",
            r.audit_id,
            e.at,
            e.token_id.map(|t| t.to_string()).unwrap_or_default(),
            e.token_name,
            e.role.map_or("", |r| r.code()),
            e.method,
            e.route,
            e.filters,
            e.rows,
            e.status
        );
    }
    Ok(())
}

//! The command line's arguments (clap): every subcommand and flag, with the parsers of dates, day counts
//! and month counts, so that `main.rs` receives typed values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use wagewatch_core::contract::Date;
use wagewatch_core::model;
use wagewatch_service::state::Timestamp;

/// wagewatch warns of unpaid wages (欠薪) before they happen.
#[derive(Parser)]
#[command(name = "wagewatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// The whole system on a demo province: generate it (if not there yet), train, backtest, re-score as of
    /// 2026-12-01, then serve the dashboard and API on 127.0.0.1:8080 with two tokens printed.
    Demo(DemoArgs),
    /// Read a dataset folder, check it against the data contract and print a summary.
    Validate(ValidateArgs),
    /// Check a dataset folder once and keep it in a validated store that `score`, `train`, `backtest`,
    /// `rescore` and `serve` read much faster; re-running it reads only what is new.
    Ingest(IngestArgs),
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
    /// Train a challenger on the newest data and judge it beside the champion on the same recent dates.
    Retrain(RetrainArgs),
    /// The model registry: list, promote a challenger, roll back to the previous champion.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// List the audit log of score reads, newest first.
    Audit(AuditArgs),
    /// Draw the audit slice: in each district, a share of the inspection capacity drawn at random from a
    /// run's scored entities, stratified by band, reproducible from a seed. Record these inspections with
    /// `selection = random`.
    AuditSlice(AuditSliceArgs),
    /// Plan a week's inspections: per district, the site and firm visits within a capacity that reach the
    /// most expected unpaid wages (a site visit covers its general contractor and crews, each firm counted
    /// once), with a share reserved for the audit slice and firms inspected recently skipped.
    Plan(PlanArgs),
    /// Reports on the model in use: drift of the features and the score.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// The population stability index (PSI) of every feature and of the score as of a date, against the
    /// model's training panel; the top movers first.
    Drift(DriftArgs),
    /// The fairness audit as of a date whose horizon has closed: per group of employers and projects
    /// (kind, sector, size, firm age, city, funding), selection, precision and error rates against the
    /// largest group, flagged outside 0.8–1.25.
    Fairness(FairnessArgs),
}

/// A saved model: its id and the folder of models.
#[derive(Args)]
pub struct ModelArgs {
    /// The model id under --models.
    #[arg(long = "model", value_name = "MODEL")]
    pub id: String,
    /// The folder of saved models.
    #[arg(long = "models", value_name = "MODELS", default_value = "models")]
    pub dir: PathBuf,
}

#[derive(Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// The as-of date whose features are compared with the training panel's.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    /// A PSI above this counts as drift.
    #[arg(long, default_value_t = wagewatch_core::drift::DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Also write the whole report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args)]
pub struct FairnessArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// The as-of date scored; the data must reach the end of its horizon.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    /// Also write the whole audit as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The data and model folders, when not the configuration's.
#[derive(Args)]
pub struct FolderArgs {
    /// The dataset folder (default: the configuration's `data`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The model folder (default: the configuration's `models`).
    #[arg(long)]
    pub models: Option<PathBuf>,
}

#[derive(Args)]
pub struct StateArgs {
    /// The state folder: database, runs, key.
    #[arg(long, default_value = "state")]
    pub state: PathBuf,
    /// The TOML configuration (default: wagewatch.toml if it exists, else the built-in defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct KeyArgs {
    /// File holding the worker-id pseudonymisation key (created with mode 0600 on first use).
    /// The WAGEWATCH_PSEUDONYM_KEY environment variable (64 hex digits) takes precedence.
    #[arg(long, default_value = "state/pseudonym.key")]
    pub key_file: PathBuf,
}

#[derive(Args)]
pub struct IngestArgs {
    /// The dataset folder: one file (or folder of Parquet files) per contract table.
    #[arg(long)]
    pub data: PathBuf,
    /// The store folder (created on first use).
    #[arg(long, default_value = "state/store")]
    pub store: PathBuf,
    /// Set bad rows aside in this folder (one CSV per table, with reasons) instead of refusing the ingest.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Args)]
pub struct DataArgs {
    /// The dataset folder, or a store that `wagewatch ingest` wrote.
    #[arg(long)]
    pub data: PathBuf,
    /// Set bad rows aside in this folder instead of stopping on them.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo province is generated.
    #[arg(long, default_value = "data/generated/demo")]
    pub data: PathBuf,
    /// The state folder the demo's runs and tokens go to.
    #[arg(long, default_value = "state")]
    pub state: PathBuf,
    /// Address the dashboard and API listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Prepare everything, print the tokens, but do not start the server.
    #[arg(long)]
    pub no_serve: bool,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The dataset folder: one file (or folder of Parquet files) per contract table.
    #[arg(long)]
    pub data: PathBuf,
    /// Also count the facts dated after this date (YYYY-MM-DD); they are history, not errors.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<Date>,
    /// Set bad rows aside in this folder (one CSV per table, with reasons) instead of stopping.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    /// How many problems to list in full.
    #[arg(long, default_value_t = 20)]
    pub show: usize,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Parquet,
    Csv,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Output folder (created if needed); existing table files in it are replaced.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of employers in the province.
    #[arg(long, default_value_t = 2000)]
    pub employers: usize,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// First day simulated (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, default_value = "2023-01-01")]
    pub start: Date,
    /// Last day simulated (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, default_value = "2027-03-31")]
    pub end: Date,
    /// File format of the tables.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: FormatArg,
    /// Write payroll and payments as one file per monthly export (`payroll/2026-12.parquet`, ...), as a
    /// platform delivers them, instead of one file per table.
    #[arg(long)]
    pub monthly: bool,
    /// The world lived through from July 2025: baseline, developer_collapse, complaint_surge or manufacturing_downturn
    /// (docs/generator.md tells what each changes).
    #[arg(long, value_parser = parse_scenario, default_value = "baseline")]
    pub scenario: wagewatch_synth::Scenario,
}

fn parse_scenario(s: &str) -> Result<wagewatch_synth::Scenario, String> {
    wagewatch_synth::Scenario::parse(s).ok_or_else(|| {
        let names: Vec<&str> = wagewatch_synth::Scenario::ALL.iter().map(|s| s.code()).collect();
        format!("{s:?} is not a scenario; use one of {}", names.join(", "))
    })
}

#[derive(Args)]
pub struct FeaturesArgs {
    /// Print the catalogue (name, unit, entity types, meaning).
    #[arg(long)]
    pub list: bool,
    /// Print it as a Markdown table.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The state folder whose recorded inspections are added to the data (when it exists).
    #[arg(long, default_value = "state")]
    pub state: PathBuf,
    /// The training cutoff: only what was known on this date is used.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    /// The prediction horizon, in days (`60d` or `60`).
    #[arg(long, value_parser = parse_days, default_value = "60d")]
    pub horizon: i32,
    /// Monthly as-of dates in the training panel.
    #[arg(long, default_value_t = model::PANEL_MONTHS)]
    pub panel_months: usize,
    /// Train without weighting the rows random inspections found by the inverse sampling share.
    #[arg(long)]
    pub no_selection_weights: bool,
    /// Train without holding the features whose effect is known (arrears found, wages owed, ...) to
    /// raising the risk only: for comparison.
    #[arg(long)]
    pub no_monotone: bool,
    /// Weigh older panel dates down: a date this many months older than the latest counts half.
    #[arg(long)]
    pub recency_half_life: Option<f64>,
    /// Boosted models per learner, each sampling rows and features with its own seed, averaged.
    #[arg(long, default_value_t = model::BAGS, value_parser = bags_parser())]
    pub bags: usize,
    /// The seed the boosted trees sample rows and features with: another seed, another draw of the same
    /// model (to tell a change from the noise of one draw).
    #[arg(long, default_value_t = model::DEFAULT_SEED)]
    pub model_seed: u64,
    /// Where models are saved.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The model id (default: derived from the cutoff and the data fingerprint).
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// The as-of date scored.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    /// The watchlist file: .csv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Band by probability alone, without the default floors (arrears an inspection found, or a complaint
    /// substantiated, in the last 30 days and not found cleared since: at least orange).
    #[arg(long)]
    pub no_floors: bool,
}

#[derive(Args)]
pub struct BacktestArgs {
    /// The dataset folder, or a store that `wagewatch ingest` wrote (or `--worlds` instead).
    #[arg(long, required_unless_present = "worlds", conflicts_with = "worlds")]
    pub data: Option<PathBuf>,
    /// Set bad rows aside in this folder instead of stopping on them.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub worlds: WorldsArgs,
    /// First test date.
    #[arg(long, value_parser = parse_date)]
    pub from: Date,
    /// Last test date.
    #[arg(long, value_parser = parse_date)]
    pub to: Date,
    /// Months between test dates (`1m`).
    #[arg(long, value_parser = parse_months, default_value = "1m")]
    pub step: i32,
    #[arg(long, value_parser = parse_days, default_value = "60d")]
    pub horizon: i32,
    #[arg(long, default_value_t = model::PANEL_MONTHS)]
    pub panel_months: usize,
    /// Where the report (Markdown, JSON, SVG) is written.
    #[arg(long, default_value = "out/backtest")]
    pub out: PathBuf,
    /// Train without weighting the rows random inspections found by the inverse sampling share.
    #[arg(long)]
    pub no_selection_weights: bool,
    /// Train without holding the features whose effect is known (arrears found, wages owed, ...) to
    /// raising the risk only: for comparison.
    #[arg(long)]
    pub no_monotone: bool,
    /// Weigh older panel dates down: a date this many months older than the latest counts half.
    #[arg(long)]
    pub recency_half_life: Option<f64>,
    /// Boosted models per learner, each sampling rows and features with its own seed, averaged.
    #[arg(long, default_value_t = model::BAGS, value_parser = bags_parser())]
    pub bags: usize,
    /// The seed the boosted trees sample rows and features with: another seed, another draw of the same
    /// model (to tell a change from the noise of one draw).
    #[arg(long, default_value_t = model::DEFAULT_SEED)]
    pub model_seed: u64,
}

/// A backtest across generated worlds (docs/measurements.md#worlds).
#[derive(Args)]
pub struct WorldsArgs {
    /// Backtest in generated worlds instead of `--data`: scenarios, comma-separated (baseline,
    /// developer_collapse, complaint_surge, manufacturing_downturn). Each is generated once into
    /// OUT/SCENARIO-SEED/data and backtested into OUT/SCENARIO-SEED/backtest; OUT/worlds.md compares them.
    #[arg(long, value_delimiter = ',', value_parser = parse_scenario)]
    pub worlds: Vec<wagewatch_synth::Scenario>,
    /// The seeds each world is generated with, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "21")]
    pub seeds: Vec<u64>,
    /// Employers per generated world.
    #[arg(long, default_value_t = 2_000)]
    pub employers: usize,
    /// The reference pipeline's folder (reference.py, judge.py): with it, each test date is also scored by
    /// LightGBM trained on the calendar year before it and on the freshest 24 months whose labels had closed,
    /// and judge.py judges all three watchlists.
    #[arg(long, requires = "worlds")]
    pub reference: Option<PathBuf>,
    /// The Python that runs the reference pipeline.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
}

#[derive(Args)]
pub struct RescoreArgs {
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub folders: FolderArgs,
    /// The model id (default: the registry's champion, else the configured one, else the newest).
    #[arg(long)]
    pub model: Option<String>,
    /// The as-of date scored.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    #[command(flatten)]
    pub key: KeyArgs,
    /// What asked for the run, as the registry records it (the server passes `api` or `schedule`).
    #[arg(long, default_value = "cli", hide = true)]
    pub trigger: String,
    /// The server's job this re-score is: its outcome is recorded on the job (the server passes it).
    #[arg(long, hide = true)]
    pub job: Option<String>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Address to listen on (default: the configuration's `server.listen`, 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Do not re-score on a schedule (overrides the configuration).
    #[arg(long)]
    pub no_schedule: bool,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Subcommand)]
pub enum TokenCommand {
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
        /// When it stops working: a number of days from now (`90d`) or an RFC 3339 time. Never by default.
        #[arg(long, value_parser = parse_expiry)]
        expires: Option<Expiry>,
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
pub struct RetrainArgs {
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub folders: FolderArgs,
    /// The training cutoff: labels known by this date.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    /// How many recent monthly dates (with known outcomes) the champion and the challenger are judged on.
    #[arg(long, default_value_t = 3)]
    pub recent_months: usize,
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// The registered models with their roles, lineage and figures.
    List {
        #[command(flatten)]
        state: StateArgs,
    },
    /// Make a challenger the champion, if it meets the promotion rule.
    Promote {
        #[command(flatten)]
        state: StateArgs,
        /// The model id.
        model: String,
        /// Promote even if the rule is not met (recorded like any promotion).
        #[arg(long)]
        force: bool,
    },
    /// Make the previous champion the champion again.
    Rollback {
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The run planned from (default: the newest published).
    #[arg(long)]
    pub run: Option<String>,
    /// The first day of the week planned (not before the run's as-of date).
    #[arg(long, value_parser = parse_date)]
    pub week: wagewatch_core::contract::Date,
    /// Visits per district in the week.
    #[arg(long)]
    pub capacity: usize,
    /// Only this district (6 digits); every district of the run when absent.
    #[arg(long)]
    pub district: Option<String>,
    /// The share of the capacity reserved for firms drawn at random (the audit slice).
    #[arg(long, default_value_t = 0.1)]
    pub audit_share: f64,
    /// Firms inspected within this many days before the week are not planned again ...
    #[arg(long, default_value_t = 90)]
    pub skip_days: i32,
    /// ... unless their probability rose by more than this many points since the previous run.
    #[arg(long, default_value_t = 10.0)]
    pub rise_points: f64,
    /// The audit slice's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the plan is written: `.csv` or `.xlsx` (Chinese headers).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct AuditSliceArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The run drawn from (default: the newest published).
    #[arg(long)]
    pub run: Option<String>,
    /// Inspections each district makes in the period.
    #[arg(long)]
    pub inspections_per_district: u32,
    /// The share of them drawn at random.
    #[arg(long, default_value_t = 0.1)]
    pub share: f64,
    /// The seed of the draw: the same run, sizes and seed give the same slice.
    #[arg(long)]
    pub seed: u64,
    /// Where the slice is written: `.csv`, `.xlsx` or `.parquet`, with the watchlist export's columns.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Only this token's entries.
    #[arg(long)]
    pub token_id: Option<i64>,
    /// Only this route template, e.g. /v1/watchlist.
    #[arg(long)]
    pub route: Option<String>,
    /// Only entries at or after this time (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    pub since: Option<String>,
    /// How many entries.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// `60d` or `60`: a horizon of 1 to 730 days.
fn parse_days(text: &str) -> Result<i32, String> {
    let digits = text.strip_suffix('d').unwrap_or(text);
    digits
        .parse::<i32>()
        .ok()
        .filter(|d| (1..=730).contains(d))
        .ok_or_else(|| format!("{text:?} is not a number of days such as 60d"))
}

/// `--bags`: 1 to 16 boosted models.
fn bags_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16)
}

/// `1m` or `1`: a step of 1 to 24 months.
fn parse_months(text: &str) -> Result<i32, String> {
    let digits = text.strip_suffix('m').unwrap_or(text);
    digits
        .parse::<i32>()
        .ok()
        .filter(|d| (1..=24).contains(d))
        .ok_or_else(|| format!("{text:?} is not a number of months such as 1m"))
}

/// When a token stops working.
#[derive(Clone, Copy, Debug)]
pub enum Expiry {
    /// This many days after it is created.
    Days(i64),
    /// At this time.
    At(Timestamp),
}

impl Expiry {
    /// The instant, for a token created at `now`.
    pub fn at(self, now: Timestamp) -> Timestamp {
        match self {
            Expiry::Days(days) => Timestamp(now.0 + days * 86_400),
            Expiry::At(t) => t,
        }
    }
}

/// `90d` or an RFC 3339 time.
fn parse_expiry(text: &str) -> Result<Expiry, String> {
    if let Some(days) = text.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()).filter(|d| (1..=3650).contains(d)) {
        return Ok(Expiry::Days(days));
    }
    Timestamp::parse_rfc3339(text)
        .map(Expiry::At)
        .ok_or_else(|| format!("{text:?} is neither a number of days such as 90d nor an RFC 3339 time"))
}

/// `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

//! A generator of a realistic synthetic province: every table of the data contract, written as Parquet or CSV,
//! from a seeded simulation of firms, projects, workers and the way unpaid wages arise and spread.
//!
//! [`generate`] simulates a province month by month and streams what a labour bureau would hold about it into
//! the seven contract tables: `employers`, `projects`, `payroll`, `payments`, `complaints`,
//! `progress_payments` and `inspections`. Nothing in the output is drawn independently row by row: wage
//! arrears come out of a latent process (firms' financial health, developers in trouble, unpaid progress
//! payments flowing down the subcontracting chain, the Spring Festival), so the contract's arrears-event label
//! is predictable from history, as it is in real data, without being trivial.
//!
//! # Using it
//!
//! ```no_run
//! use wagewatch_synth::{generate, SynthConfig};
//! let summary = generate(&SynthConfig::demo(), std::path::Path::new("data/generated"), &|month| {
//!     eprintln!("simulated {month}");
//! })?;
//! # Ok::<(), wagewatch_synth::SynthError>(())
//! ```
//!
//! [`SynthConfig::demo`] is 2,000 employers, seed 7, 2023-01-01 to 2027-03-31, Parquet. The wage months
//! simulated are the whole calendar months between `start` and `end`. `progress` is called once per simulated
//! month. The returned [`SynthSummary`] holds the rows written per table and, per wage month, the figures used
//! to tune the process ([`MonthStats`]).
//!
//! # The latent process
//!
//! ## Geography
//! One province (code `32`) of 13 cities numbered `01`..`13` (named after Jiangsu's: 南京 … 宿迁), each with
//! 4–10 districts whose codes follow real practice (`02`, `04`, `05`, `06`, `11`, …), e.g. `320102`. Cities
//! carry a weight for economic activity; employers, owners and sites are placed by it.
//!
//! ## Employers
//! The kinds are assigned by quota: 8% general contractors, 25% subcontractors, 17% labour-service firms (all
//! sector `construction`), 30% manufacturers (`manufacturing`), 12% services (`services`), 4% `other` in
//! `transport` and 4% `other`/`other`. Ids are unified social credit codes (`91`, the region, an organisation
//! code, a check character; valid under GB 32100 and GB 11714; `MA…` codes for firms registered since 2016), names
//! are built from the city, two brand characters and the trade (`镇江瑞正建筑劳务分包有限公司`). Registered
//! capital is lognormal by kind (null for 10%), the founding date follows a lognormal age (null for 7%), and
//! about 5% of firms (10% of labour services, the shell companies of the trade) are founded during the run:
//! they employ nobody before. Each firm has:
//!
//! * a persistent *quality* (normal, by kind: general contractors highest, labour services lowest; older firms
//!   a little better, new ones and malicious ones worse);
//! * a monthly *financial health*, an AR(1) around quality plus its sector's cycle (manufacturing demand,
//!   consumer services): `h ← mean + 0.88 (h − mean) + 0.2 ε − 0.07 · squeeze + shock`, with a rare negative
//!   shock (0.7% a month, size 0.8 + Exp(0.8)) and a rarer positive one. `squeeze` is the chain stress
//!   (below);
//! * a fixed payday (day 10–25 of the month after the wage month);
//! * rare traits: malicious evasion (5% of labour services, 2.5% of subcontractors, ~1% of others), paying
//!   crews through a foreman (one worker receives the team's wages: 15% of malicious subcontractors, 0.5% of
//!   the rest), and a habit of deferring part of the pre-festival wages to a settlement just before the festival
//!   (1.2% of subcontractors and labour services). Half of the malicious firms keep their arrears off
//!   their books: a worker-month they short-pay is missing from their payroll and payments (and so are its
//!   late repayments), so that only complaints and inspections reveal it, as real firms' own records hide
//!   what inspectors find.
//!
//! A firm whose health stays below −2.6 for two months closes (12% a month; 3% for general contractors);
//! 45% of closing owners (90% of malicious ones) abscond without paying the last month's wages. About 1% of
//! firms (weak ones more often) were blacklisted before the run; more are blacklisted during it (below).
//!
//! ## Owners and progress payments
//! Owners (建设单位) are a pool of `N/15` ids `OWN00001`… that are not employers (the contract allows this).
//! A quarter are government bodies: higher quality, their health pulled down by their city's fiscal stress,
//! which worsens with the property market; the rest are developers whose health is pulled down by a
//! province-wide real-estate stress that peaks in mid-2024 and eases afterwards. Developers fall into *deep
//! trouble* at a hazard of `0.0011 · e^{1.3·stress} · e^{−0.7·health}` a month (government bodies rarely):
//! health drops to about −3 for 6–24 months, for good in 40% of developer cases. An owner in trouble falls
//! behind on progress payments on all its projects at once.
//!
//! Each project bills 85% of its contract value as work progresses, monthly (60%) or quarterly (40%), on the
//! 25th of the month after the work; 10% at the final account 60 days after completion; 5% retention a year
//! after completion. An instalment is paid on time (±a few days) with probability `sigmoid(2.6 + 1.6·h)`
//! (government `sigmoid(3.0 + 1.3·h)`); otherwise it stays open, and each later month the owner pays it with
//! probability `sigmoid(−0.4 + 1.4·h)` (8% in trouble, 3% in permanent trouble), in full or 50–95% of it.
//! `paid_on`/`amount_paid` stay null while unpaid. Only instalments scheduled on or before `end` are written,
//! and only from the start of the run (a project already running has no earlier instalments).
//!
//! ## Projects
//! About `N/100` projects start a month (fewer when the property market is stressed), plus those started in
//! the three years before the run and still going: about 0.7 projects per employer in all. A project has a
//! general contractor (chosen by size and health; blacklisted ones rarely), an owner (65% from its city),
//! a site usually in the contractor's city, a contract value lognormal around 60 M yuan (5 M–800 M), a planned
//! duration of 12–36 months (longer for larger projects), a built-in lateness (45% of projects overrun by an
//! exponential 18%), `government_funded` = the owner is a government body, a dedicated wage account
//! (`sigmoid(1.9 + 0.9·quality)` of the contractor, about 85%) and a wage guarantee deposit of 1–3% of the
//! value (`sigmoid(0.9 + 0.7·quality)`, about 70%). Work progresses at full pace normally, at 40% while the
//! owner is in trouble, 70% with more than two months of instalments overdue, 75% with a weak contractor, 55%
//! in the festival month; `actual_end_date` is the day work completes (null if after `end`). A project whose
//! general contractor closes stalls and never formally completes.
//!
//! The peak headcount is `70 · (value / 60 M)^0.45` (20–300), ramping up over the first 15% of the work,
//! flat to 75%, then down to a quarter. The general contractor employs 8–22% of the workers directly; 1–4
//! subcontractors or labour-service firms (near the site, spread over firms, healthier ones preferred) the
//! rest. A subcontractor that closes is replaced.
//!
//! ## Workers and payroll
//! Every crew (an employer on a project, or a non-construction employer at its own site, 20–500 workers)
//! keeps a roster. Each month workers leave (construction 10%, manufacturing 3.5%, services 5%, plus 20%
//! after the festival in construction, plus layoffs in weak firms); workers who are owed wages mostly stay
//! to get their money. The crew is then filled up to its target; 45% of construction hires come from the
//! workers who left other sites the month before, the rest are new people with new ID numbers. Worker ids
//! are raw 18-character resident ID numbers: a real birthplace county (local, Anhui, Henan, Sichuan and
//! farther provinces, mixed by trade), a birth date by trade (construction around 45 years old, factories 32),
//! a sequence whose parity gives the sex, and the ISO 7064 MOD 11-2 check character (sometimes `X`). They are
//! unique by construction (a counter per birthplace, birth date and sex) and are personal data that the
//! engine must pseudonymise.
//!
//! One payroll row per worker, crew and wage month: `days_worked` from attendance (about 78% of the available
//! days, typically 18–28; fewer in the festival month, for new hires and in a project's first month),
//! `wage_due` from the worker's agreed monthly wage (construction 4,000–9,000 yuan for 26 days, paid by the
//! day in whole yuan; manufacturing 3,500–7,000 and services 3,000–6,000 for 22 days, to the fen; 4% a year
//! of wage growth), `due_date` the employer's payday in the next month; `project_id` is null outside
//! construction.
//!
//! ## Pay, short pay and arrears episodes
//! A crew pays its wages on the due date or up to three days either side. Each month a crew that is paying
//! normally starts an *arrears episode* with probability
//!
//! ```text
//! sigmoid(base_sector − 1.2·h_employer + chain + festival + 0.15·[December] + 1.2·[malicious]
//!         + 0.3·[blacklisted] − 0.4·[wage account])
//! ```
//!
//! with `base` −6.8 for construction, −7.0 manufacturing, −6.8 services, −6.9 others; `chain` =
//! `0.45·overdue` for a general contractor's own crew and `0.4·overdue·(0.6 if wage account) +
//! 0.35·max(0, −h_contractor)` for a subcontractor, where `overdue` is the project's unpaid instalments in
//! months of normal billing (capped at 4). The episode lasts 1–8 months (each further month with probability
//! `sigmoid(1.2 − 0.7·h + 0.3·chain)`, at most 0.8). In its first month 15–60% of a construction crew (5–35%
//! elsewhere) goes short; later the same workers stay unpaid (92%) and few others join. A short worker-month
//! is paid nothing (65%) or 10–50% rounded to 100 yuan on the due date; the rest is caught up within 8–28
//! days in 8% of cases and otherwise becomes an *arrear* that the firm remembers. A firm whose owner
//! absconds pays nothing at all that month.
//!
//! Besides episodes: a weak firm pays its whole crew 3–25 days late (`sigmoid(−3 − h + …)`, a leading sign
//! that is not itself an event); individual disputes short-pay single workers (0.04% of worker-months,
//! more in weak firms; half settled within the month); foreman firms pay a team's wages to one worker in a
//! quarter of their months (the others have no payment on record); settlement-habit firms pay 50–70% of the
//! wages due in the 60 days before the festival and the balance 4–12 days before it. A worker-month may thus
//! have zero, one or several payment rows, and no payment is dated after `end`.
//!
//! ## The chain
//! An owner in trouble stops paying instalments; the project's overdue months rise; the general contractor's
//! health is squeezed by its overdue receivables and its own crews' hazard rises; its subcontractors' health
//! is squeezed by the contractor's weakness and the owner's arrears, and their hazard rises with both. Only
//! instalments that fell due before the pay window count, so the unpaid progress payments visible at a date
//! lead the workers' arrears by a month or two.
//!
//! ## The Spring Festival
//! Real festival dates come from [`wagewatch_core::calendar`]. Wages due in the 60 days before the festival carry
//! +0.85 log-odds of an episode start (+0.3 for 61–90 days), and construction and factories lose the days of a
//! holiday around it (workers go home), with a wave of departures afterwards. Against that, firms clear old
//! arrears in a rush just before the festival (the government's winter campaign), which ends many episodes.
//! By due date the short-paid rate in the 60 days before the festival is about twice the rest of the year's.
//!
//! ## Repayment
//! Each month a firm with arrears pays a lump (one date, most of its old arrears in full, some by half) with
//! probability `sigmoid(−1.3 + 1.3·h)` (a third of that for malicious firms); at least 75% once an authority
//! has ordered it to pay (45% for malicious firms; a closed firm pays only from a project's guarantee
//! deposit, 60%, or hardly at all); plus a 50% chance in the pre-festival rush, dated 2–14 days before the
//! festival. Arrears older than 18 months are written off.
//!
//! ## Complaints
//! Each month, for each crew with outstanding arrears, a complaint is received with probability
//! `1 − exp(−λ)`, `λ = 0.1 + 0.055·√workers_owed + 0.05·ln(1 + owed/10,000 yuan)`, times 2.2 within 60
//! days of the festival, 0.7 for old arrears only and 0.5 right after another complaint. It becomes a `group_incident`
//! (8+ workers owed within 50 days of the festival: 45%; 15+ at other times: 8%), a `criminal_referral`
//! (a closed or malicious firm owing 50,000 yuan or more to 5+ workers: 25%), `other` (3%), else
//! `wage_arrears`. Channels: mostly hotline and online; group incidents come by police, walk-in and media;
//! referrals from the police. Outcomes are recorded as finally known: substantiated (86%; 95% for incidents
//! and referrals), withdrawn, unsubstantiated; `closed_on` 5–90 days later (null with the outcome if after
//! `end`). A construction complaint names the employer and the project (70%), only the project (15%) or only
//! the employer. Unfounded complaints reach any firm at a low rate (`0.0012·√(headcount/50)` a month) and
//! end unsubstantiated or withdrawn. A substantiated complaint orders the firm to pay within 7–25 days.
//!
//! ## Inspections
//! Complaints bring inspectors within 2–30 days (45%; 90% for group incidents, 80% for referrals). Routine
//! inspections visit 0.6% of construction firms and 0.3% of others a month, 1.2% of running projects (the
//! general contractor, with the project id), three times as often in the winter campaign before the festival
//! and for blacklisted firms. An inspection finds arrears when the firm (for a project inspection: anyone on
//! the project) really owes wages due before that day, with detection probability 0.85 after a complaint and
//! 0.75 otherwise; `arrears_amount` and `workers_affected` are 80–100% of the truth. A finding orders the
//! firm to pay. Each inspection records why it was made (`selection`): `complaint`, `routine`, or `random`
//! for the audit slice, which each month visits 0.4% of the firms with workers and 0.4% of the running
//! sites drawn at random whatever their risk (on a random stream of its own).
//!
//! ## Blacklisting
//! A criminal referral puts the firm on the blacklist 30–120 days later (85%), a second group incident within
//! a year 30–90 days later (60%). Blacklisted firms win fewer projects and are inspected more.
//!
//! # Output
//! Every table is written as one `<table>.parquet` (Arrow writer, Snappy, dictionary encoding, `Date32` dates,
//! `Float64` yuan, `Utf8` ids, text and `YYYY-MM` months, `Boolean`, `Int32`; row groups of 262,144 rows;
//! `created_by` fixed to `wagewatch synth`) or `<table>.csv` (UTF-8, header, RFC 4180 quoting by the `csv`
//! crate, dates `YYYY-MM-DD`, whole yuan without decimals and other amounts with two, `true`/`false`, an
//! empty field for null), with the contract's columns in the contract's order. Each file is written as
//! `.<table>.<ext>.partial` in the output folder and renamed when complete. A table already present in the
//! other format (or as a folder) is an error rather than a second copy.
//!
//! Payroll and payments stream to disk one row group at a time, so memory is bounded by the number of
//! entities and workers, not rows; the small tables are kept in memory and written at the end. The same
//! configuration gives byte-identical files: one seeded PRNG stream per entity (xoshiro256** seeded by
//! SplitMix64 from the seed, stream kind and entity index), no hash-map iteration, no clock, one thread.
//! (Floating-point functions come from the platform's math library, so bytes are guaranteed identical on
//! the same platform.)
//!
//! # Figures measured for the demo configuration
//! 2,000 employers, seed 7, 2023-01 to 2027-03 (51 wage months), release build on 2 cores: 5–7 s and 80 MB
//! peak memory for Parquet (10 s and 18 MB for CSV); 20,000 employers take 64 s and 160 MB (50 million
//! payroll rows). Rows: 2,000 employers, 1,393 projects, 4,952,875 payroll, 4,851,753 payments, 1,140
//! complaints, 18,006 progress payments, 1,466 inspections.
//!
//! * Short-paid worker-months (less than 90% paid by due date + 30 days) are about 0.2% of all worker-months
//!   off-season and 0.4% of construction's; by due date, the 60 days before the festival reach 0.44%
//!   (construction 0.86%): about twice the off-season rate. By wage month the peak falls on November (0.5–0.7%).
//! * 1.3–2.3% of the year's construction workers (0.7–0.9% of others) have a short-paid month, owed about
//!   8,000–8,800 yuan each within the year (construction).
//! * The contract's 60-day arrears-event label hits 6–9% of the scored employers and 10–15% of the projects
//!   (more before the festival). The reference pipeline's LightGBM reaches an employer ROC AUC of about 0.82
//!   (rule baseline 0.65–0.68): learnable from history, not trivially.
//!
//! # Not modelled
//! Progress payments before the run's start; payments between the general contractor and its
//! subcontractors (only their effect on health is modelled); workers on two sites in the same month; social
//! insurance; worker-level complaint histories.

#![forbid(unsafe_code)]

mod names;
mod step;
mod world;
mod writer;

use std::fs;
use std::path::{Path, PathBuf};

use wagewatch_core::contract::{Date, Month, Table};

use step::Streams;
use world::World;
use writer::TableWriter;

/// The file format of the generated tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `<table>.parquet`: Snappy-compressed, dictionary-encoded, one row group per 262,144 rows.
    Parquet,
    /// `<table>.csv`: UTF-8 with a header row and RFC 4180 quoting.
    Csv,
}

impl OutputFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
        }
    }

    fn other(self) -> OutputFormat {
        match self {
            OutputFormat::Parquet => OutputFormat::Csv,
            OutputFormat::Csv => OutputFormat::Parquet,
        }
    }
}

/// The world a province lives through. Every scenario is the baseline until its onset (July 2025), then
/// changes one mechanism's rates (never the number of random draws), so its months before the onset are the
/// baseline's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scenario {
    /// Property stress that peaks mid-2024 and eases; the usual cycles.
    #[default]
    Baseline,
    /// A wave of developer collapses: for eighteen months private developers fall into deep trouble eight
    /// times as often and 4% of them a month besides (about half in all), four in five for good. A failed
    /// developer stops its progress payments on all its projects at once, and its sites run out of cash:
    /// the general contractors and every crew below them go unpaid far more often.
    DeveloperCollapse,
    /// A new online channel floods the complaint register with unfounded complaints (eight times as many,
    /// against any firm with workers, mostly closed as unsubstantiated or withdrawn): noise in the
    /// complaint features, not in the wages.
    ComplaintSurge,
    /// A manufacturing downturn: for eighteen months orders fall (the manufacturing cycle is pulled towards
    /// −1.2), and factories that hold on shed up to a quarter of their workers, pay late more often and
    /// short-pay more often and for longer while their customers pay them late.
    ManufacturingDownturn,
}

impl Scenario {
    pub const ALL: [Scenario; 4] =
        [Scenario::Baseline, Scenario::DeveloperCollapse, Scenario::ComplaintSurge, Scenario::ManufacturingDownturn];

    /// The scenario's name on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::DeveloperCollapse => "developer_collapse",
            Scenario::ComplaintSurge => "complaint_surge",
            Scenario::ManufacturingDownturn => "manufacturing_downturn",
        }
    }

    /// The scenario named `code`.
    pub fn parse(code: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The first wage month the scenario's mechanism acts in.
    pub fn onset() -> Month {
        Month::parse("2025-07").expect("a month")
    }

    /// Whether the scenario `s` acts in wage month `m`.
    fn acts(self, s: Scenario, m: Month) -> bool {
        self == s && m >= Scenario::onset()
    }

    /// Whether the scenario `s` is in its eighteen months of crisis in wage month `m` (a wave of collapses,
    /// a downturn; the damage they leave may last longer).
    fn in_wave(self, s: Scenario, m: Month) -> bool {
        self.acts(s, m) && m < Scenario::onset().plus_months(18)
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// The world lived through (default: the baseline).
    pub scenario: Scenario,
    /// Number of employers in the province (projects, owners and workers scale with it).
    pub employers: usize,
    /// The seed: the same configuration gives byte-identical files.
    pub seed: u64,
    /// First day of the simulated history; the first wage month is the first whole month from here.
    pub start: Date,
    /// Last day of the history: no fact is dated after it.
    pub end: Date,
    pub format: OutputFormat,
}

impl SynthConfig {
    /// The demo province: 2,000 employers, seed 7, 2023-01-01 to 2027-03-31, Parquet.
    pub fn demo() -> SynthConfig {
        SynthConfig {
            scenario: Scenario::Baseline,
            employers: 2_000,
            seed: 7,
            start: Date::from_ymd(2023, 1, 1).unwrap_or(Date::from_days(19_358)),
            end: Date::from_ymd(2027, 3, 31).unwrap_or(Date::from_days(20_908)),
            format: OutputFormat::Parquet,
        }
    }
}

/// What a generation wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthSummary {
    /// Rows written per table, in `Table::ALL` order.
    pub rows: Vec<(Table, u64)>,
    /// One entry per simulated wage month.
    pub monthly: Vec<MonthStats>,
}

impl SynthSummary {
    /// Rows written to `table`.
    pub fn rows_of(&self, table: Table) -> u64 {
        self.rows.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// Rows per table, then the arrears and complaint figures of every wage month.
impl std::fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (table, rows) in &self.rows {
            writeln!(f, "  {:<18} {rows:>11} rows", table.name())?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  wage month  worker-months  short-paid  (share)   owed 万元  complaints  group incidents  inspections"
        )?;
        for m in &self.monthly {
            let share = if m.worker_months > 0 {
                m.short_paid_worker_months as f64 / m.worker_months as f64 * 100.0
            } else {
                0.0
            };
            writeln!(
                f,
                "  {}  {:>13}  {:>10}  {:>6.2}%  {:>9.1}  {:>10}  {:>15}  {:>11}",
                m.month,
                m.worker_months,
                m.short_paid_worker_months,
                share,
                m.owed_fen as f64 / 1_000_000.0,
                m.complaints,
                m.group_incidents,
                m.inspections
            )?;
        }
        Ok(())
    }
}

/// Figures of one wage month, as they stand in the written files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthStats {
    /// The wage month.
    pub month: Month,
    /// Payroll rows of the month.
    pub worker_months: u64,
    /// Payroll rows of construction employers.
    pub construction_worker_months: u64,
    /// Worker-months with wages due of which less than 90% was paid by `due_date + 30 days`. Only worker-months
    /// whose `due_date + 30 days` is on or before the end count (the last month or two are incomplete).
    pub short_paid_worker_months: u64,
    /// Wages of the month still unpaid at `due_date + 30 days`, in fen (same restriction).
    pub owed_fen: i64,
    /// Complaints received in this calendar month.
    pub complaints: u64,
    /// Of which group incidents.
    pub group_incidents: u64,
    /// Inspections carried out in this calendar month.
    pub inspections: u64,
}

/// Why a generation failed.
#[derive(thiserror::Error, Debug)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot write parquet file {path}: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("cannot build arrow batch for {path}: {source}")]
    Arrow { path: PathBuf, source: arrow_schema::ArrowError },
    #[error("cannot write csv file {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("invalid generator configuration: {reason}")]
    InvalidConfig { reason: String },
    #[error("{path} already exists in the other format; remove it first (a table given in two forms is an error)")]
    ConflictingFile { path: PathBuf },
    #[error("internal error: a value of the wrong type for column {column} of table {table}")]
    CellMismatch { table: Table, column: &'static str },
}

/// How the two large fact tables are laid out on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `payroll.parquet`, `payments.parquet`: one file per table.
    OneFilePerTable,
    /// `payroll/<YYYY-MM>.parquet`, `payments/<YYYY-MM>.parquet`: one file per monthly export (the rows
    /// written while that month was simulated: its wage month's payroll, and the payments made in it,
    /// late ones for earlier wage months included), as a platform delivers data month by month.
    MonthlyExports,
}

/// Generates the province into `out_dir` (created if missing), calling `progress` once per simulated month.
pub fn generate(config: &SynthConfig, out_dir: &Path, progress: &dyn Fn(Month)) -> Result<SynthSummary, SynthError> {
    generate_with(config, Layout::OneFilePerTable, out_dir, progress)
}

/// [`generate`] with the fact tables laid out as `layout` says.
pub fn generate_with(
    config: &SynthConfig,
    layout: Layout,
    out_dir: &Path,
    progress: &dyn Fn(Month),
) -> Result<SynthSummary, SynthError> {
    let periods = check_config(config)?;
    fs::create_dir_all(out_dir).map_err(|source| SynthError::Io { path: out_dir.to_owned(), source })?;
    for table in Table::ALL {
        let other = out_dir.join(TableWriter::file_name(table, config.format.other()));
        let folder = out_dir.join(table.name());
        let same = out_dir.join(TableWriter::file_name(table, config.format));
        let split = layout == Layout::MonthlyExports && matches!(table, Table::Payroll | Table::Payments);
        let conflicts = if split { vec![other, folder, same] } else { vec![other, folder] };
        for path in conflicts {
            if path.exists() {
                return Err(SynthError::ConflictingFile { path });
            }
        }
    }
    let first = periods[0];
    tracing::info!(
        employers = config.employers,
        seed = config.seed,
        months = periods.len(),
        "generating synthetic province into {}",
        out_dir.display()
    );
    let mut world = World::new(config, first, periods.len());
    let (payroll_rows, payment_rows) = match layout {
        Layout::OneFilePerTable => {
            let mut payroll = TableWriter::create(out_dir, Table::Payroll, config.format)?;
            let mut payments = TableWriter::create(out_dir, Table::Payments, config.format)?;
            for &m in &periods {
                let mut streams = Streams { payroll: &mut payroll, payments: &mut payments };
                world.step(m, &mut streams)?;
                progress(m);
            }
            (payroll.finish()?, payments.finish()?)
        }
        Layout::MonthlyExports => {
            let (mut payroll_rows, mut payment_rows) = (0, 0);
            for table in [Table::Payroll, Table::Payments] {
                let dir = out_dir.join(table.name());
                fs::create_dir_all(&dir).map_err(|source| SynthError::Io { path: dir, source })?;
            }
            for &m in &periods {
                let stem = m.to_string();
                let mut payroll =
                    TableWriter::create_named(&out_dir.join("payroll"), Table::Payroll, config.format, &stem)?;
                let mut payments =
                    TableWriter::create_named(&out_dir.join("payments"), Table::Payments, config.format, &stem)?;
                let mut streams = Streams { payroll: &mut payroll, payments: &mut payments };
                world.step(m, &mut streams)?;
                payroll_rows += payroll.finish()?;
                payment_rows += payments.finish()?;
                progress(m);
            }
            (payroll_rows, payment_rows)
        }
    };
    let mut rows = world.write_small_tables(out_dir, config.format)?;
    rows.push((Table::Payroll, payroll_rows));
    rows.push((Table::Payments, payment_rows));
    rows.sort_by_key(|(t, _)| *t);
    let mut monthly = std::mem::take(&mut world.stats);
    for c in &world.complaints {
        if let Some(s) = month_slot(&mut monthly, first, c.received_on) {
            s.complaints += 1;
            if c.category == wagewatch_core::contract::Category::GroupIncident {
                s.group_incidents += 1;
            }
        }
    }
    for i in &world.inspections {
        if let Some(s) = month_slot(&mut monthly, first, i.inspected_on) {
            s.inspections += 1;
        }
    }
    tracing::info!(rows = ?rows, "synthetic province written");
    Ok(SynthSummary { rows, monthly })
}

fn month_slot(monthly: &mut [MonthStats], first: Month, date: Date) -> Option<&mut MonthStats> {
    let k = date.month().index() - first.index();
    usize::try_from(k).ok().and_then(|k| monthly.get_mut(k))
}

/// Checks the configuration and returns the simulated wage months: every whole month from `start` to `end`.
fn check_config(config: &SynthConfig) -> Result<Vec<Month>, SynthError> {
    let invalid = |reason: String| Err(SynthError::InvalidConfig { reason });
    if config.employers == 0 {
        return invalid("at least one employer is needed".into());
    }
    if config.employers > 2_000_000 {
        return invalid(format!("{} employers is more than the generator supports (2,000,000)", config.employers));
    }
    // The contract's dates, ending early enough that every due date, payment and complaint the history
    // produces still has a Spring Festival after it in the calendar.
    let (lo, hi) = (Date::from_ymd_const(1990, 1, 1), Date::from_ymd_const(2100, 10, 31));
    if config.start < lo || config.end > hi {
        return invalid(format!("the history must lie within {lo} and {hi}"));
    }
    let mut m = config.start.month();
    if m.first_day() < config.start {
        m = m.next();
    }
    let mut periods = Vec::new();
    while m.last_day() <= config.end {
        periods.push(m);
        m = m.next();
    }
    if periods.is_empty() {
        return invalid(format!("{} to {} holds no whole month", config.start, config.end));
    }
    Ok(periods)
}

#[cfg(test)]
mod tests;

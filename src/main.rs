//! The `wagewatch` command line: parses arguments ([`args`]), then calls the libraries: the scoring core
//! (`wagewatch_core`), the generator (`wagewatch_synth`) and the service (`wagewatch_service`). It reads
//! the clock to tell the operator how long things took; the libraries never do in the scoring path.

mod args;
mod memory;
mod worlds;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use args::{Cli, Command, DataArgs, KeyArgs, StateArgs, TokenCommand};
use wagewatch_core::backtest::{self, BacktestConfig};
use wagewatch_core::contract::{Date, RegionPrefix};
use wagewatch_core::ingest::{self, Dataset, DatasetSummary, IngestOptions, Mode, Pseudonymizer};
use wagewatch_core::model::floors::{self, BandFloor};
use wagewatch_core::model::{self, artifact, BandCutoffs, RiskModel, TrainConfig};
use wagewatch_core::watchlist;
use wagewatch_core::worker_months::WorkerMonths;
use wagewatch_core::{drift, fairness, features};
use wagewatch_service::champion;
use wagewatch_service::config::Config;
use wagewatch_service::datastore::{self, DataStore, IngestOutcome, ScoringData, TablePlan};
use wagewatch_service::demo::{self, DemoSetup, DemoStep};
use wagewatch_service::runs;
use wagewatch_service::server;
use wagewatch_service::state::{AuditQuery, ModelRecord, NewToken, Role, RunStatus, Store, Timestamp, DB_FILE};
use wagewatch_synth::{Layout, OutputFormat, SynthConfig};

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WAGEWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo(args) => run_demo(args),
        Command::Validate(args) => validate(args),
        Command::Ingest(args) => run_ingest(args),
        Command::Generate(args) => generate(args),
        Command::Features(args) => list_features(args),
        Command::Train(args) => train(args),
        Command::Score(args) => score(args),
        Command::Backtest(args) => run_backtest(args),
        Command::Rescore(args) => rescore(args),
        Command::Serve(args) => serve(args),
        Command::Token(command) => token(command),
        Command::Audit(args) => audit(args),
        Command::AuditSlice(args) => audit_slice(args),
        Command::Plan(args) => plan(args),
        Command::Retrain(args) => retrain(args),
        Command::Models(command) => models(command),
        Command::Report(args::ReportCommand::Drift(args)) => report_drift(args),
        Command::Report(args::ReportCommand::Fairness(args)) => report_fairness(args),
    }
}

fn run_demo(args: args::DemoArgs) -> Result<()> {
    let started = Instant::now();
    if demo::province_exists(&args.data) {
        tracing::info!(path = %args.data.display(), "demo province already generated");
    } else {
        run_generate(&SynthConfig::demo(), &args.data)?;
    }
    let key = pseudonymizer(&args.key)?;
    let setup = DemoSetup {
        data: args.data.clone(),
        state: args.state.clone(),
        models: "models".into(),
        report: "out/demo-backtest".into(),
        listen: args.listen.clone(),
    };
    let spin = spinner("reading the demo province");
    let ready = demo::prepare(&setup, &key, &|step| {
        spin.set_message(match step {
            DemoStep::Reading => "reading the demo province",
            DemoStep::Training => "training the champion on the 24 months before 2026-10-01",
            DemoStep::Scoring => "scoring as of 2026-12-01",
            DemoStep::Backtesting => "backtesting at 2026-06-01 and 2026-12-01",
            DemoStep::Challenger => "training a challenger as of 2026-12-01 and judging it beside the champion",
            DemoStep::Publishing => "publishing two runs (the challenger in shadow)",
        })
    });
    spin.finish_and_clear();
    let ready = ready.context("preparing the demo")?;
    print!("{}", ready.summary);
    print_model(&ready.model, &setup.models);
    println!("watchlist as of {} -> {}", demo::DEMO_AS_OF, ready.watchlist.display());
    println!("backtest report -> {}", ready.report.display());
    println!();
    println!(
        "demo ready in {:.0} s: run {} as of {}",
        started.elapsed().as_secs_f64(),
        ready.run.run_id,
        ready.run.as_of
    );
    println!("  dashboard:  http://{}/", args.listen);
    println!("  supervisor token (district {}): {}", ready.district, ready.supervisor_token);
    println!("  inspector token  (district {}): {}", ready.district, ready.inspector_token);
    println!("  API: curl -H 'Authorization: Bearer <token>' 'http://{}/v1/watchlist?limit=5'", args.listen);
    if args.no_serve {
        return Ok(());
    }
    println!("serving until ctrl-c");
    let state =
        server::AppState::open(ready.config, &args.state, args.key.key_file.clone()).context("opening the state")?;
    let app = wagewatch_dashboard::app(state.clone());
    server::serve_blocking(state, app, &args.listen, || {
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo serving")
    })?;
    Ok(())
}

fn validate(args: args::ValidateArgs) -> Result<()> {
    let started = Instant::now();
    let ingested = read_dataset(&args.data, args.quarantine, &args.key, args.show)?;
    println!("dataset {} read and checked in {:.2} s", args.data.display(), started.elapsed().as_secs_f64());
    println!();
    print!("{}", ingested.report());
    println!();
    print!("{}", DatasetSummary::compute(&ingested.dataset, args.as_of));
    Ok(())
}

fn run_ingest(args: args::IngestArgs) -> Result<()> {
    let started = Instant::now();
    let key = pseudonymizer(&args.key)?;
    let options = IngestOptions { mode: args.quarantine.map_or(Mode::Strict, Mode::Quarantine), problems_listed: 20 };
    let mut store = DataStore::create_or_open(&args.store).context("opening the store")?;
    let spin = spinner(&format!("ingesting {} into {}", args.data.display(), args.store.display()));
    let outcome = store.ingest(&args.data, &key, &options, Timestamp::now());
    spin.finish_and_clear();
    match outcome.with_context(|| format!("ingesting {}", args.data.display()))? {
        IngestOutcome::NothingNew { generation } => {
            let at = generation.map_or("empty".to_string(), |g| format!("generation {}", g.number));
            println!("nothing new in {}: store {} stays at {at}", args.data.display(), args.store.display());
        }
        IngestOutcome::Ingested { generation, plans, tables } => {
            for (table, plan) in &plans {
                let report = tables.iter().find(|t| t.table == *table && t.source.is_some());
                match (plan, report) {
                    (TablePlan::Unchanged, _) | (_, None) => println!("  {:<18} unchanged", table.name()),
                    (plan, Some(r)) => println!(
                        "  {:<18} {:<8} {:>11} rows read, {:>11} accepted, {:>7} set aside",
                        table.name(),
                        if *plan == TablePlan::Append { "added" } else { "replaced" },
                        r.rows_read,
                        r.rows_accepted,
                        r.problems.bad_rows
                    ),
                }
            }
            println!(
                "store {} at generation {} ({}) in {:.2} s",
                args.store.display(),
                generation.number,
                generation.fingerprint(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn report_drift(args: args::DriftArgs) -> Result<()> {
    if !(args.threshold.is_finite() && args.threshold > 0.0) {
        bail!("--threshold must be a positive number, not {}", args.threshold);
    }
    let trained = artifact::load(&args.model.dir, &args.model.id)
        .with_context(|| format!("loading model {} from {}", args.model.id, args.model.dir.display()))?;
    let (ds, wm) = load_dataset(&args.data)?;
    let report =
        drift::against_training_panel(&ds, &wm, &trained, args.as_of, args.threshold).context("computing the drift")?;
    println!(
        "drift as of {} against the training panel of {} ({} dates, {} to {}): {}",
        report.as_of,
        trained.model_id,
        report.reference_dates.len(),
        report.reference_dates.first().map_or("-".into(), |d| d.to_string()),
        report.reference_dates.last().map_or("-".into(), |d| d.to_string()),
        if report.drifted() { format!("DRIFTED (PSI over {})", report.threshold) } else { "no drift".into() }
    );
    let psi_text = |p: &drift::Psi| match p {
        drift::Psi::Value(v) => format!("{v:.3}"),
        drift::Psi::Undefined(u) => format!("undefined: {}", u.reason()),
    };
    for (t, p) in &report.score {
        println!("  score ({})  PSI {}", t.code(), psi_text(p));
    }
    println!("  top movers:");
    for f in report.top_movers(10) {
        println!("    {:<8} {:<40} PSI {}", f.entity_type.code(), f.feature.name(), psi_text(&f.psi));
    }
    let undefined = report.features.iter().filter(|f| f.psi.value().is_none()).count();
    if undefined > 0 {
        println!("  {undefined} calendar feature(s) with no PSI (the same for every entity on a date)");
    }
    if let Some(path) = &args.json {
        write_aside(path, &format!("{:#}", report.to_json()))?;
        println!("report -> {}", path.display());
    }
    Ok(())
}

fn report_fairness(args: args::FairnessArgs) -> Result<()> {
    let trained = artifact::load(&args.model.dir, &args.model.id)
        .with_context(|| format!("loading model {} from {}", args.model.id, args.model.dir.display()))?;
    let (ds, wm) = load_dataset(&args.data)?;
    let closes = args.as_of.add_days(trained.horizon_days);
    if let Err(last) = fairness::horizon_closed(&ds, args.as_of, trained.horizon_days) {
        let last = last.map_or("no payroll".to_string(), |d| format!("payroll falling due up to {d}"));
        bail!(
            "the horizon of {} closes on {closes}, but the data hold {last}: its events are not known yet",
            args.as_of
        );
    }
    let bands = BandCutoffs::default();
    let audit =
        fairness::audit_as_of(&ds, &wm, &trained, args.as_of, &bands).context("computing the fairness audit")?;
    println!(
        "fairness audit of {} as of {} (events to {closes}; selected = red or orange, probability {} and over)",
        trained.model_id, args.as_of, bands.orange
    );
    print!("{}", audit.markdown());
    let flagged = audit.flagged();
    println!("{} flag(s){}", flagged.len(), if flagged.is_empty() { String::new() } else { ":".into() });
    for f in &flagged {
        println!("  {f}");
    }
    if let Some(path) = &args.json {
        write_aside(path, &format!("{:#}", audit.to_json()))?;
        println!("report -> {}", path.display());
    }
    Ok(())
}

/// Writes a report file aside and renames it into place.
fn write_aside(path: &Path, text: &str) -> Result<()> {
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, format!("{text}\n"))
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("writing {}", path.display()))
}

fn retrain(args: args::RetrainArgs) -> Result<()> {
    let config = config_with(&args.state, &args.folders)?;
    let key = pseudonymizer(&args.key)?;
    let mut store = Store::open(&args.state.state).context("opening the state folder")?;
    let started = Instant::now();
    let spin = spinner(&format!("training a challenger as of {} and judging it beside the champion", args.as_of));
    let request = champion::RetrainRequest { as_of: args.as_of, recent_months: args.recent_months };
    let done = champion::retrain(&mut store, &config, &key, &request);
    spin.finish_and_clear();
    let done = done.context("retraining")?;
    let c = &done.challenger;
    println!(
        "challenger {} saved in {} and registered in {:.0} s (parent: champion {})",
        c.model_id,
        done.model_dir.display(),
        started.elapsed().as_secs_f64(),
        done.champion
    );
    print_standings(c);
    println!("promotion rule: {}", if done.verdict.passes { "met" } else { "not met" });
    for r in &done.verdict.reasons {
        println!("  {r}");
    }
    if done.verdict.passes {
        println!("promote it with: wagewatch models promote {}", c.model_id);
    }
    Ok(())
}

/// A model's figures beside the champion's it was judged with.
fn print_standings(m: &ModelRecord) {
    let show = |s: &wagewatch_core::champion::Standing| {
        let gap = |g: Option<f64>| g.map_or("-".into(), |g| format!("{g:.3}"));
        format!(
            "AP {:.4} / {:.4}, calibration gap {} / {}, {} fairness flag(s)",
            s.average_precision[0],
            s.average_precision[1],
            gap(s.calibration_gap[0]),
            gap(s.calibration_gap[1]),
            s.fairness_flags
        )
    };
    if let Some(s) = &m.standing {
        let dates: Vec<String> = s.dates.iter().map(ToString::to_string).collect();
        println!("  judged on {} (employers / projects):", dates.join(", "));
        println!("    {:<28} {}", m.model_id, show(s));
    }
    if let Some((id, s)) = &m.compared_with {
        println!("    {:<28} {}", format!("{id} (champion)"), show(s));
    }
}

fn models(command: args::ModelsCommand) -> Result<()> {
    let by = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "operator".into()));
    match command {
        args::ModelsCommand::List { state } => {
            let store = Store::open(&state.state).context("opening the state folder")?;
            for m in store.models()? {
                println!(
                    "{:<11} {:<28} trained as of {} on {}, parent {}, code {}",
                    m.role.code(),
                    m.model_id,
                    m.trained_as_of,
                    m.data_fingerprint,
                    m.parent_model_id.as_deref().unwrap_or("-"),
                    m.code_version
                );
                print_standings(&m);
            }
            for p in store.promotions()? {
                println!(
                    "{} {} {} (before: {}) by {}",
                    p.at,
                    p.action,
                    p.model_id,
                    p.previous_champion.as_deref().unwrap_or("-"),
                    p.by
                );
            }
        }
        args::ModelsCommand::Promote { state, model, force } => {
            let mut store = Store::open(&state.state).context("opening the state folder")?;
            let p = champion::promote(&mut store, &model, &by, force).context("promoting")?;
            println!(
                "{} is the champion (was {}); the next re-score uses it",
                p.model_id,
                p.previous_champion.as_deref().unwrap_or("-")
            );
        }
        args::ModelsCommand::Rollback { state } => {
            let mut store = Store::open(&state.state).context("opening the state folder")?;
            let p = store.rollback(&by).context("rolling back")?;
            println!(
                "{} is the champion again (was {}); the next re-score uses it",
                p.model_id,
                p.previous_champion.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(())
}

/// A published run read whole: the one named, or the newest.
fn published_run(state: &std::path::Path, run: Option<&str>) -> Result<runs::RunData> {
    let store = Store::open(state).context("opening the state folder")?;
    let record = match run {
        Some(id) => store.run(id)?.filter(|r| r.status == RunStatus::Published),
        None => store.latest_published()?,
    }
    .with_context(|| format!("no published run {}", run.unwrap_or("yet")))?;
    let run_id = record.run_id.clone();
    runs::RunData::load(&store, record).with_context(|| format!("reading run {run_id}"))
}

/// Writes a file under a temporary name and renames it into place, so that it is whole or absent.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("writing {}", path.display()))
}

fn plan(args: args::PlanArgs) -> Result<()> {
    use wagewatch_service::runs::plan::{self, PlanRequest};
    let excel = match args.out.extension().and_then(|e| e.to_str()) {
        Some("xlsx") => true,
        Some("csv") => false,
        _ => bail!("{}: the plan must end in .csv or .xlsx", args.out.display()),
    };
    let district = args
        .district
        .as_deref()
        .map(|d| {
            wagewatch_core::contract::RegionCode::parse(d).with_context(|| format!("--district {d:?}: use 6 digits"))
        })
        .transpose()?;
    let data = published_run(&args.state.state, args.run.as_deref())?;
    let run_id = data.record.run_id.clone();
    let request = PlanRequest {
        week: args.week,
        capacity: args.capacity,
        audit_share: args.audit_share,
        skip_days: args.skip_days,
        rise_points: args.rise_points,
        seed: args.seed,
        district,
    };
    let lines = plan::plan(&data, &request)?;
    let bytes = plan::write(&lines, &data.names, excel).context("writing the plan")?;
    write_whole(&args.out, &bytes)?;
    let districts: std::collections::BTreeSet<_> = lines.iter().map(|l| l.district).collect();
    let (sites, audits) =
        (lines.iter().filter(|l| l.kind == "site").count(), lines.iter().filter(|l| l.kind == "audit").count());
    let reached: f64 = lines.iter().filter(|l| l.kind != "audit").map(|l| l.expected_yuan).sum();
    println!(
        "plan of run {run_id} for the week of {}: {} visits in {} districts ({sites} sites, {audits} drawn at random), \
         {:.1} 万元 of expected unpaid wages reached -> {}",
        args.week,
        lines.len(),
        districts.len(),
        reached / 10_000.0,
        args.out.display()
    );
    Ok(())
}

fn audit_slice(args: args::AuditSliceArgs) -> Result<()> {
    use wagewatch_core::sampling::{self, Candidate, SliceSize};
    use wagewatch_service::runs::export::{self, ExportFormat};
    if !(args.share > 0.0 && args.share <= 1.0) {
        bail!("--share must lie in (0, 1], not {}", args.share);
    }
    let format = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .and_then(ExportFormat::parse)
        .with_context(|| format!("{}: the file must end in .csv, .xlsx or .parquet", args.out.display()))?;
    let data = published_run(&args.state.state, args.run.as_deref())?;
    let run_id = data.record.run_id.clone();
    let candidates: Vec<Candidate> = data
        .rows
        .iter()
        .map(|r| Candidate {
            entity_type: r.entity_type,
            entity_id: r.entity_id.clone(),
            region: r.region,
            band: r.band,
        })
        .collect();
    let size = SliceSize { inspections_per_district: args.inspections_per_district, share: args.share };
    let drawn = sampling::draw(&candidates, size, args.seed);
    let rows: Vec<&runs::RunRow> = drawn
        .iter()
        .filter_map(|c| data.rows.iter().find(|r| r.entity_type == c.entity_type && r.entity_id == c.entity_id))
        .collect();
    let bytes = export::export(&rows, format).context("writing the slice")?;
    write_whole(&args.out, &bytes)?;
    let districts: std::collections::BTreeSet<_> = drawn.iter().map(|c| c.region).collect();
    println!(
        "audit slice of run {run_id}: {} entities drawn at random in {} districts (seed {}) -> {}",
        rows.len(),
        districts.len(),
        args.seed,
        args.out.display()
    );
    Ok(())
}

fn generate(args: args::GenerateArgs) -> Result<()> {
    if args.end <= args.start {
        bail!("--end ({}) must come after --start ({})", args.end, args.start);
    }
    let format = match args.format {
        args::FormatArg::Parquet => OutputFormat::Parquet,
        args::FormatArg::Csv => OutputFormat::Csv,
    };
    let config = SynthConfig {
        scenario: args.scenario,
        employers: args.employers,
        seed: args.seed,
        start: args.start,
        end: args.end,
        format,
    };
    let layout = if args.monthly { Layout::MonthlyExports } else { Layout::OneFilePerTable };
    run_generate_with(&config, layout, &args.out)
}

fn run_generate(config: &SynthConfig, out: &Path) -> Result<()> {
    run_generate_with(config, Layout::OneFilePerTable, out)
}

fn run_generate_with(config: &SynthConfig, layout: Layout, out: &Path) -> Result<()> {
    let months = (config.end.month().index() - config.start.month().index() + 1).max(1) as u64;
    let bar = ProgressBar::new(months).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} months, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("generating {} employers", config.employers));
    let started = Instant::now();
    let summary = wagewatch_synth::generate_with(config, layout, out, &|month| {
        bar.set_message(format!("generating {month}"));
        bar.inc(1);
    })
    .with_context(|| format!("generating a province into {}", out.display()))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!("generated {} employers into {} in {seconds:.1} s", config.employers, out.display());
    print!("{summary}");
    Ok(())
}

fn list_features(args: args::FeaturesArgs) -> Result<()> {
    if !args.list && !args.markdown {
        bail!("say --list (or --markdown) to print the feature catalogue");
    }
    let mut out = std::io::stdout().lock();
    for line in features::catalogue_lines(args.markdown) {
        // A reader that stops early (`| head`) is not an error.
        match writeln!(out, "{line}") {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
    Ok(())
}

fn train(args: args::TrainArgs) -> Result<()> {
    let (mut ds, wm) = load_dataset(&args.data)?;
    // Inspections recorded over the API are outcomes too: training sees them like the dataset's own.
    if args.state.join(DB_FILE).is_file() {
        let store = Store::open(&args.state).context("opening the state folder")?;
        let added = runs::merge_recorded_inspections(&mut ds, &store.recorded_inspections()?);
        if added > 0 {
            println!("{added} inspection(s) recorded over the API added to the training data");
        }
    }
    let mut config = TrainConfig::new(args.as_of, args.horizon);
    config.panel_months = args.panel_months;
    config.selection_weights = !args.no_selection_weights;
    config.monotone = !args.no_monotone;
    config.recency_half_life_months = args.recency_half_life;
    config.bags = args.bags;
    config.gbdt = config.gbdt.seed(args.model_seed);
    let started = Instant::now();
    let fingerprint = model::fingerprint(&ds);
    let id = args.id.unwrap_or_else(|| model::default_model_id(config.as_of, &fingerprint));
    let spin = spinner(&format!("training on {} monthly dates before {}", config.panel_months, config.as_of));
    let trained = model::train(&ds, &wm, &config, id, &fingerprint);
    spin.finish_and_clear();
    let trained = trained.context("training")?;
    artifact::save(&trained, &args.models, &Default::default()).context("saving the model")?;
    println!("trained in {:.1} s", started.elapsed().as_secs_f64());
    print_model(&trained, &args.models);
    Ok(())
}

fn score(args: args::ScoreArgs) -> Result<()> {
    let trained = artifact::load(&args.model.dir, &args.model.id).context("loading the model")?;
    let mut data = open_for_scoring(&args.data, args.as_of)?;
    let started = Instant::now();
    let mut stream = features::FeatureStream::new(data.dataset(), args.as_of);
    data.each_part(|part, wm| stream.add(part, wm)).with_context(|| format!("reading {}", args.data.data.display()))?;
    let ds = data.dataset();
    let feats = stream.finish(ds, trained.horizon_days).context("computing features")?;
    let mut scored = model::score(&trained, &feats, &BandCutoffs::default()).context("scoring")?;
    let floors: &[BandFloor] = if args.no_floors { &[] } else { &floors::DEFAULT_FLOORS };
    floors::apply(&mut scored, ds, args.as_of, floors);
    watchlist::write(ds, &scored, &args.out).context("writing the watchlist")?;
    println!(
        "scored {} employers and {} projects as of {} in {:.2} s -> {}",
        feats.employers.rows(),
        feats.projects.rows(),
        args.as_of,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    let raised = scored.iter().filter(|s| s.floor.is_some()).count();
    if raised > 0 {
        println!("  {raised} held at a band floor above what their probability gives (see band_floor)");
    }
    Ok(())
}

fn run_backtest(args: args::BacktestArgs) -> Result<()> {
    let config = BacktestConfig {
        from: args.from,
        to: args.to,
        step_months: args.step,
        horizon_days: args.horizon,
        panel_months: args.panel_months,
        calibration_months: model::CALIBRATION_MONTHS,
        watchlists: Some(args.out.join("watchlists")),
        selection_weights: !args.no_selection_weights,
        monotone: !args.no_monotone,
        recency_half_life_months: args.recency_half_life,
        bags: args.bags,
        model_seed: args.model_seed,
    };
    match args.data {
        Some(data) => {
            let data = DataArgs { data, quarantine: args.quarantine, key: args.key };
            backtest_folder(&data, &config, &args.out).map(|_| ())
        }
        None => worlds::run(&args.worlds, &args.key, &config, &args.out, &backtest_folder),
    }
}

/// Backtests one dataset folder or store and writes the report into `out`.
fn backtest_folder(data: &DataArgs, config: &BacktestConfig, out: &Path) -> Result<backtest::Report> {
    let (ds, wm) = load_dataset(data)?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("backtest [{bar:40}] {pos}/{len} test dates, {elapsed}, {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let result = backtest::run(&ds, &wm, config, &|t, n| {
        bar.set_length(n as u64);
        bar.set_message(format!("{t} done"));
        bar.inc(1);
    })
    .context("backtesting")?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let path = backtest::write_report(&result, Some(seconds), out).context("writing the report")?;
    println!("backtest of {} dates in {seconds:.0} s -> {}", result.dates.len(), path.display());
    Ok(result.report(Some(seconds)))
}

fn rescore(args: args::RescoreArgs) -> Result<()> {
    let config = config_with(&args.state, &args.folders)?;
    let mut store = Store::open(&args.state.state).context("opening the state folder")?;
    let spin = spinner(&format!("re-scoring {} as of {}", config.data.display(), args.as_of));
    let result = match &args.job {
        Some(job_id) => {
            let job =
                runs::JobRequest { job_id, as_of: args.as_of, model_id: args.model.as_deref(), trigger: &args.trigger };
            runs::run_job(&mut store, &config, &args.key.key_file, &job)
        }
        None => {
            let key = pseudonymizer(&args.key)?;
            runs::rescore_from_folder(&mut store, &config, &key, args.as_of, args.model.as_deref(), &args.trigger)
        }
    };
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

fn serve(args: args::ServeArgs) -> Result<()> {
    let mut config = load_config(&args.state)?;
    if let Some(listen) = args.listen.clone() {
        config.server.listen = listen;
    }
    if args.no_schedule {
        config.schedule.enabled = false;
    }
    let listen = config.server.listen.clone();
    let options = server::ServeOptions {
        rescorer: child_rescorer(&args).context("finding this program for re-scores")?,
        release_memory: Some(memory::release),
    };
    let state = server::AppState::open_with(config, &args.state.state, args.key.key_file.clone(), options)
        .context("opening the state")?;
    let app = wagewatch_dashboard::app(state.clone());
    server::serve_blocking(
        state,
        app,
        &listen,
        || tracing::info!(address = %listen, "serving; ctrl-c or SIGTERM stops"),
    )?;
    Ok(())
}

/// The server's re-scores run as `wagewatch rescore` in a child process, on the same state folder,
/// configuration and key.
fn child_rescorer(args: &args::ServeArgs) -> Result<server::Rescorer> {
    let mut child: Vec<std::ffi::OsString> = vec!["rescore".into(), "--state".into(), args.state.state.clone().into()];
    if let Some(config) = &args.state.config {
        child.extend(["--config".into(), config.clone().into()]);
    }
    child.extend(["--key-file".into(), args.key.key_file.clone().into()]);
    Ok(server::Rescorer::Process { program: std::env::current_exe()?, args: child })
}

fn token(command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create { state, role, region, name, expires } => {
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role {role:?}: use inspector, supervisor or admin"))?;
            let region =
                RegionPrefix::parse(&region).with_context(|| format!("region {region:?} is not 2, 4 or 6 digits"))?;
            let mut request = NewToken::new(&name, role, region)?;
            if let Some(expires) = expires {
                let now = Timestamp::now();
                request = request.expiring(expires.at(now), now)?;
            }
            let mut store = Store::open(&state.state).context("opening the state folder")?;
            let (record, secret) = store.create_token(&request).context("creating the token")?;
            eprintln!(
                "token {} created for {} ({}, region {}); the secret is shown only now:",
                record.token_id,
                record.name,
                role.code(),
                region_text(region)
            );
            println!("{secret}");
        }
        TokenCommand::List { state } => {
            let store = Store::open(&state.state).context("opening the state folder")?;
            println!("{}", wagewatch_service::state::TokenRecord::HEADER);
            for t in store.tokens()? {
                println!("{t}");
            }
        }
        TokenCommand::Revoke { state, id } => {
            let mut store = Store::open(&state.state).context("opening the state folder")?;
            store.revoke_token(id, RegionPrefix::ALL)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

fn audit(args: args::AuditArgs) -> Result<()> {
    let store = Store::open(&args.state.state).context("opening the state folder")?;
    let since = args
        .since
        .as_deref()
        .map(|s| Timestamp::parse(s).with_context(|| format!("--since {s:?} is not YYYY-MM-DDTHH:MM:SSZ")))
        .transpose()?;
    let query = AuditQuery {
        within: RegionPrefix::ALL,
        token_id: args.token_id,
        route: args.route,
        since,
        before_id: None,
        limit: args.limit,
    };
    for r in store.audit(&query)? {
        println!("{r}");
    }
    Ok(())
}

/// The configuration named by `--config`, else `wagewatch.toml` if present, else the defaults.
/// The configuration, with the folders the command line names instead of its own.
fn config_with(state: &StateArgs, folders: &args::FolderArgs) -> Result<Config> {
    let mut config = load_config(state)?;
    if let Some(data) = &folders.data {
        config.data = data.clone();
    }
    if let Some(models) = &folders.models {
        config.models = models.clone();
    }
    Ok(config)
}

fn load_config(args: &StateArgs) -> Result<Config> {
    Ok(match &args.config {
        Some(path) => Config::load(path, true)?,
        None => Config::load(Path::new("wagewatch.toml"), false)?,
    })
}

fn pseudonymizer(key: &KeyArgs) -> Result<Pseudonymizer> {
    Pseudonymizer::from_env_or_file(&key.key_file).context("loading the pseudonymisation key")
}

fn region_text(region: RegionPrefix) -> String {
    if region == RegionPrefix::ALL {
        "all".to_string()
    } else {
        region.to_string()
    }
}

fn spinner(message: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message.to_string());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// Reads and checks a dataset (strict, or setting bad rows aside in `quarantine`), with a spinner.
fn read_dataset(
    data: &Path,
    quarantine: Option<std::path::PathBuf>,
    key: &KeyArgs,
    problems_listed: usize,
) -> Result<ingest::Ingested> {
    let pseudonymizer = pseudonymizer(key)?;
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

/// Reads a dataset whole and builds its worker-month index.
fn load_dataset(args: &DataArgs) -> Result<(Dataset, WorkerMonths)> {
    let started = Instant::now();
    let key = pseudonymizer(&args.key)?;
    let spinner = spinner(&format!("reading {}", args.data.display()));
    let read = datastore::read_data(&args.data, &key, args.quarantine.clone(), None);
    spinner.finish_and_clear();
    let (ds, generation) = read.with_context(|| format!("reading {}", args.data.display()))?;
    let wm = WorkerMonths::build(&ds);
    let store = generation.map_or("a dataset folder".to_string(), |g| g.fingerprint());
    tracing::info!(seconds = started.elapsed().as_secs_f64(), data = %store, "dataset read, worker-month index built");
    Ok((ds, wm))
}

/// Opens what scoring as of `as_of` reads: a store's small tables, its wage months for that date to be
/// gathered one at a time; a folder's rows, its fact rows in the window, with their worker-month index.
fn open_for_scoring(args: &DataArgs, as_of: Date) -> Result<ScoringData> {
    let started = Instant::now();
    let key = pseudonymizer(&args.key)?;
    let spinner = spinner(&format!("reading {}", args.data.display()));
    let read = datastore::read_for_scoring(&args.data, &key, args.quarantine.clone(), as_of);
    spinner.finish_and_clear();
    let data = read.with_context(|| format!("reading {}", args.data.display()))?;
    let store = data.generation().map_or("a dataset folder".to_string(), |g| g.fingerprint());
    tracing::info!(seconds = started.elapsed().as_secs_f64(), data = %store, "dataset opened for scoring");
    Ok(data)
}

/// Where a trained model was saved and what it is.
fn print_model(trained: &RiskModel, models: &Path) {
    println!("model {} saved in {}", trained.model_id, artifact::model_dir(models, &trained.model_id).display());
    print!("{}", trained.summary());
}

//! `wagewatch backtest --worlds`: generates each world once, backtests it, optionally runs the reference
//! pipeline beside it and judges all watchlists with the reference's judge, and writes the comparison
//! (`worlds.md`) with the worst world as well as the mean.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use wagewatch_core::backtest::worlds::{self, Cell, Figures};
use wagewatch_core::backtest::{BacktestConfig, Report};
use wagewatch_core::contract::{Date, Month};
use wagewatch_core::features::EntityType;
use wagewatch_synth::{OutputFormat, Scenario, SynthConfig};

use crate::args::{DataArgs, KeyArgs, WorldsArgs};

/// The first and last month-start a reference pipeline trains on, for a test date.
type TrainingWindow = fn(Date) -> (Date, Date);

/// The reference pipelines run beside wagewatch: a name and the training dates for a test date.
const REFERENCES: [(&str, TrainingWindow); 2] = [("lgbm_1y", one_year), ("lgbm_24m", freshest_24_months)];

/// The twelve month-starts of the calendar year before `as_of`'s.
fn one_year(as_of: Date) -> (Date, Date) {
    let year = as_of.month().year() - 1;
    (Month::new(year, 1).first_day(), Month::new(year, 12).first_day())
}

/// The 24 month-starts whose 60-day labels had closed before `as_of`: from 26 to 3 months before it.
fn freshest_24_months(as_of: Date) -> (Date, Date) {
    let m = as_of.month();
    (m.plus_months(-26).first_day(), m.plus_months(-3).first_day())
}

/// Backtests every world and seed of `args`, as `backtest` (the caller's single-folder backtest) does,
/// then writes and prints the comparison.
pub fn run(
    args: &WorldsArgs,
    key: &KeyArgs,
    config: &BacktestConfig,
    out: &Path,
    backtest: &dyn Fn(&DataArgs, &BacktestConfig, &Path) -> Result<Report>,
) -> Result<()> {
    let mut cells = Vec::new();
    for &scenario in &args.worlds {
        for &seed in &args.seeds {
            let dir = out.join(format!("{}-{seed}", scenario.code()));
            let data = generated(&dir, scenario, seed, args.employers)?;
            let data_args = DataArgs { data, quarantine: None, key: key.clone() };
            let mut world_config = config.clone();
            let report_dir = dir.join("backtest");
            world_config.watchlists = Some(report_dir.join("watchlists"));
            let report = backtest(&data_args, &world_config, &report_dir)?;
            let name = format!("{} seed {seed}", scenario.code());
            cells.extend(match &args.reference {
                Some(reference) => judged_cells(&name, &dir, &report, reference, &args.python)?,
                None => own_cells(&name, &report),
            });
        }
    }
    let md = worlds::markdown(&cells);
    let path = out.join("worlds.md");
    fs::write(&path, &md).with_context(|| format!("writing {}", path.display()))?;
    print!("{md}");
    println!("-> {}", path.display());
    Ok(())
}

/// The world's data folder, generated unless a complete one is there (written beside it and renamed into
/// place, so that a stopped generation leaves no half-written world).
fn generated(dir: &Path, scenario: Scenario, seed: u64, employers: usize) -> Result<PathBuf> {
    let data = dir.join("data");
    if data.join("employers.parquet").exists() {
        return Ok(data);
    }
    let partial = dir.join("data.partial");
    if partial.exists() {
        fs::remove_dir_all(&partial).with_context(|| format!("removing {}", partial.display()))?;
    }
    let config = SynthConfig { scenario, employers, seed, format: OutputFormat::Parquet, ..SynthConfig::demo() };
    println!("generating {} (seed {seed}, {employers} employers) into {}", scenario.code(), data.display());
    wagewatch_synth::generate(&config, &partial, &|_| {}).with_context(|| format!("generating {}", scenario.code()))?;
    fs::rename(&partial, &data).with_context(|| format!("moving {} into place", partial.display()))?;
    Ok(data)
}

/// wagewatch's own figures per test date, without references.
fn own_cells(world: &str, report: &Report) -> Vec<Cell> {
    let mut cells = Vec::new();
    for t in EntityType::ALL {
        for d in &report.entity_types.of(t).per_date {
            let m = &d.evaluation.model;
            cells.push(Cell {
                world: world.to_string(),
                as_of: d.as_of,
                entity_type: t,
                ours: Figures { average_precision: m.average_precision, roc_auc: m.roc_auc, brier: m.brier },
                references: Vec::new(),
            });
        }
    }
    cells
}

/// For every test date: the reference pipelines trained and scored, and all watchlists judged by judge.py.
fn judged_cells(world: &str, dir: &Path, report: &Report, reference: &Path, python: &Path) -> Result<Vec<Cell>> {
    let data = dir.join("data");
    let mut cells = Vec::new();
    for &as_of in &report.dates {
        let mut watchlists =
            vec![("wagewatch".to_string(), dir.join(format!("backtest/watchlists/watchlist_{as_of}.csv")))];
        for (name, window) in REFERENCES {
            let (from, to) = window(as_of);
            let out = dir.join(format!("{name}-{as_of}"));
            let args = [
                "--data".into(),
                data.clone().into_os_string(),
                "--train-as-of".into(),
                format!("{from}..{to}").into(),
                "--test-as-of".into(),
                as_of.to_string().into(),
                "--out".into(),
                out.clone().into_os_string(),
            ];
            python_script(python, &reference.join("reference.py"), &args, &dir.join(format!("{name}-{as_of}.log")))?;
            watchlists.push((name.to_string(), out.join(as_of.to_string()).join("watchlist_lgbm.csv")));
        }
        let judged = dir.join(format!("judge-{as_of}.json"));
        let mut args = vec![
            "--data".into(),
            data.clone().into_os_string(),
            "--as-of".into(),
            as_of.to_string().into(),
            "--json".into(),
            judged.clone().into_os_string(),
        ];
        args.extend(watchlists.iter().map(|(n, p)| format!("{n}={}", p.display()).into()));
        python_script(python, &reference.join("judge.py"), &args, &dir.join(format!("judge-{as_of}.log")))?;
        cells.extend(cells_from_judge(world, as_of, &judged)?);
    }
    Ok(cells)
}

/// Runs a reference script, its output into `log`; a failure names the script and the log.
fn python_script(python: &Path, script: &Path, args: &[std::ffi::OsString], log: &Path) -> Result<()> {
    let file = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new(python)
        .arg(script)
        .args(args)
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("starting {} {}", python.display(), script.display()))?;
    if !status.success() {
        bail!("{} failed ({status}); its output is in {}", script.display(), log.display());
    }
    Ok(())
}

/// The cells of one test date from judge.py's JSON: `results.NAME.{employer,project}.{avg_precision,
/// roc_auc,brier}`, wagewatch's under `wagewatch` and the references' under their names.
fn cells_from_judge(world: &str, as_of: Date, path: &Path) -> Result<Vec<Cell>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let figures = |name: &str, t: EntityType| -> Result<Figures> {
        let m = &json["results"][name][t.code()];
        let number = |key: &str| {
            m[key]
                .as_f64()
                .with_context(|| format!("{}: results.{name}.{}.{key} is not a number", path.display(), t.code()))
        };
        Ok(Figures {
            average_precision: number("avg_precision")?,
            roc_auc: number("roc_auc")?,
            brier: number("brier")?,
        })
    };
    let mut cells = Vec::new();
    for t in EntityType::ALL {
        let references =
            REFERENCES.iter().map(|(name, _)| Ok((name.to_string(), figures(name, t)?))).collect::<Result<Vec<_>>>()?;
        cells.push(Cell {
            world: world.to_string(),
            as_of,
            entity_type: t,
            ours: figures("wagewatch", t)?,
            references,
        });
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_windows_are_the_year_before_and_the_freshest_closed_24_months() {
        let d = |s: &str| Date::parse(s).unwrap();
        for (as_of, year, fresh) in [
            ("2026-06-01", ("2025-01-01", "2025-12-01"), ("2024-04-01", "2026-03-01")),
            ("2026-12-01", ("2025-01-01", "2025-12-01"), ("2024-10-01", "2026-09-01")),
            ("2026-01-15", ("2025-01-01", "2025-12-01"), ("2023-11-01", "2025-10-01")),
        ] {
            assert_eq!(one_year(d(as_of)), (d(year.0), d(year.1)), "{as_of}");
            assert_eq!(freshest_24_months(d(as_of)), (d(fresh.0), d(fresh.1)), "{as_of}");
        }
    }
}

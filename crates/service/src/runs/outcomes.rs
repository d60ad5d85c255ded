//! Judging past runs: once a run's horizon has closed in the data, what came of its list (the realised
//! event rate per band, precision and recall at the cut-offs, calibration), kept in the registry beside
//! the run. Each run is judged again only when the data changed since.

use std::collections::HashMap;

use wagewatch_core::features::EntityType;
use wagewatch_core::ingest::tables::Dataset;
use wagewatch_core::outcomes::{Judged, ListOutcome};
use wagewatch_core::worker_months::WorkerMonths;
use wagewatch_core::{fairness, target};

use super::{files, RunData, RunError};
use crate::state::{RunOutcome, Store, Timestamp};

/// Judges every published run whose horizon has closed in `ds` and that was not judged on this data yet;
/// returns the ids of the runs judged. A run's horizon is its model's (`models`), or `horizon_days` when
/// that model is gone. An entity of a run that the data no longer holds is left out.
pub fn judge_closed_runs(
    store: &mut Store,
    ds: &Dataset,
    wm: &WorkerMonths,
    models: &std::path::Path,
    horizon_days: i32,
    data_fingerprint: &str,
) -> Result<Vec<String>, RunError> {
    let mut judged = Vec::new();
    let mut horizons: HashMap<String, i32> = HashMap::new();
    for record in store.published()? {
        if store.judged_with(&record.run_id)?.as_deref() == Some(data_fingerprint) {
            continue;
        }
        let horizon_days = *horizons.entry(record.model_id.clone()).or_insert_with(|| {
            wagewatch_core::model::artifact::load(models, &record.model_id).map_or(horizon_days, |m| m.horizon_days)
        });
        if fairness::horizon_closed(ds, record.as_of, horizon_days).is_err() {
            continue;
        }
        let dir = RunData::dir(store, &record.run_id);
        let rows = files::read_scores(&dir.join(files::SCORES))?;
        let labels = target::labels(ds, wm, record.as_of, horizon_days);
        let lists = EntityType::ALL
            .iter()
            .map(|&t| {
                let (ids, events) = match t {
                    EntityType::Employer => (&ds.employer_ids, &labels.employers),
                    EntityType::Project => (&ds.project_ids, &labels.projects),
                };
                let judged: Vec<Judged> = rows
                    .iter()
                    .filter(|r| r.entity_type == t)
                    .filter_map(|r| {
                        let event = events.get(ids.get(&r.entity_id)?)?.any();
                        Some(Judged { probability: r.score, band: r.band, event })
                    })
                    .collect();
                (t, ListOutcome::judge(&judged))
            })
            .collect();
        store.put_outcome(&RunOutcome {
            run_id: record.run_id.clone(),
            judged_at: Timestamp::now(),
            data_fingerprint: data_fingerprint.to_string(),
            horizon_days,
            lists,
        })?;
        judged.push(record.run_id);
    }
    Ok(judged)
}

//! Judging past runs: once a run's horizon has closed in the data, what came of its list (the realised
//! event rate per band, precision and recall at the cut-offs, calibration), kept in the registry beside
//! the run. Each run is judged again only when the data changed since.

use std::collections::HashMap;

use wagewatch_core::contract::Date;
use wagewatch_core::fairness;
use wagewatch_core::features::EntityType;
use wagewatch_core::ingest::tables::Dataset;
use wagewatch_core::outcomes::{Judged, ListOutcome};
use wagewatch_core::target::{HorizonEvents, Labels};
use wagewatch_core::worker_months::WorkerMonths;

use super::{files, RunData, RunError};
use crate::state::{RunOutcome, RunRecord, Store, Timestamp};

/// The published runs to judge on the data being read: their horizons' events gathered a part of the
/// payroll at a time beside the features ([`Self::add`]), then each run whose horizon the data closed is
/// judged ([`Self::finish`]). A run is judged again only when the data changed since.
pub struct Judging {
    /// The events of each (as-of date, horizon) of a run to judge.
    events: HashMap<(Date, i32), HorizonEvents>,
    /// The model horizons by model id (`horizon_days` when the model is gone).
    horizons: HashMap<String, i32>,
    horizon_days: i32,
    data_fingerprint: String,
    /// The last payroll due date of the rows gathered.
    last_due: Option<Date>,
}

impl Judging {
    /// Readies the events of every published run not judged on this data yet, and of the run being made
    /// (as of `as_of` with `horizon_days`). A run's horizon is its model's (`models`), or `horizon_days`
    /// when that model is gone. A registry that cannot be read leaves the past runs to the next re-score:
    /// judging never stops a run from publishing.
    pub fn start(
        store: &Store,
        ds: &Dataset,
        models: &std::path::Path,
        as_of: Date,
        horizon_days: i32,
        data_fingerprint: &str,
    ) -> Judging {
        let mut judging = Judging {
            events: HashMap::new(),
            horizons: HashMap::new(),
            horizon_days,
            data_fingerprint: data_fingerprint.to_string(),
            last_due: None,
        };
        let mut dates = vec![(as_of, horizon_days)];
        match judging.unjudged(store, models) {
            Ok(past) => dates.extend(past),
            Err(e) => tracing::warn!(error = %e, "could not list the past runs to judge"),
        }
        for (as_of, h) in dates {
            judging.events.entry((as_of, h)).or_insert_with(|| HorizonEvents::new(ds, as_of, h, None));
        }
        judging
    }

    /// The as-of date and horizon of every published run not judged on this data yet.
    fn unjudged(&mut self, store: &Store, models: &std::path::Path) -> Result<Vec<(Date, i32)>, RunError> {
        let mut dates = Vec::new();
        for record in store.published()? {
            if store.judged_with(&record.run_id)?.as_deref() != Some(self.data_fingerprint.as_str()) {
                dates.push((record.as_of, self.horizon(models, &record.model_id)));
            }
        }
        Ok(dates)
    }

    fn horizon(&mut self, models: &std::path::Path, model_id: &str) -> i32 {
        let fallback = self.horizon_days;
        *self.horizons.entry(model_id.to_string()).or_insert_with(|| {
            wagewatch_core::model::artifact::load(models, model_id).map_or(fallback, |m| m.horizon_days)
        })
    }

    /// Adds `part`'s payroll rows (a dataset with the same registers) to every horizon's events.
    pub fn add(&mut self, part: &Dataset, wm: &WorkerMonths) {
        let last = part.payroll.due_date.iter().max().copied();
        self.last_due = self.last_due.max(last);
        for events in self.events.values_mut() {
            events.add(part, wm);
        }
    }

    /// Judges every published run not judged on this data yet whose horizon the gathered rows closed;
    /// returns the ids of the runs judged. An entity of a run that the data no longer holds is left out.
    pub fn finish(
        mut self,
        store: &mut Store,
        ds: &Dataset,
        models: &std::path::Path,
    ) -> Result<Vec<String>, RunError> {
        let labels: HashMap<(Date, i32), Labels> =
            std::mem::take(&mut self.events).into_iter().map(|(k, events)| (k, events.finish())).collect();
        let mut judged = Vec::new();
        for record in store.published()? {
            if store.judged_with(&record.run_id)?.as_deref() == Some(self.data_fingerprint.as_str()) {
                continue;
            }
            let horizon_days = self.horizon(models, &record.model_id);
            if fairness::horizon_closed_by(self.last_due, record.as_of, horizon_days).is_err() {
                continue;
            }
            // A run published since the gathering started is judged by the next re-score.
            let Some(labels) = labels.get(&(record.as_of, horizon_days)) else { continue };
            judge(store, ds, &record, horizon_days, labels, &self.data_fingerprint)?;
            judged.push(record.run_id);
        }
        Ok(judged)
    }
}

/// Records what came of one run's list against `labels`.
fn judge(
    store: &mut Store,
    ds: &Dataset,
    record: &RunRecord,
    horizon_days: i32,
    labels: &Labels,
    data_fingerprint: &str,
) -> Result<(), RunError> {
    let dir = RunData::dir(store, &record.run_id);
    let rows = files::read_scores(&dir.join(files::SCORES))?;
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
    Ok(())
}

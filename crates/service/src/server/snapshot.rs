//! The immutable in-memory view of the published runs. The server holds one `Arc<Snapshot>` and swaps it
//! whole when a run is published, so a request that took the snapshot sees one run from start to end.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::error::ApiError;
use super::wire::WatchlistItem;
use crate::runs::{Link, Relation, RunData, RunError, RunRow};
use crate::state::Store;
use wagewatch_core::features::EntityType;

/// One run with its lookups.
#[derive(Debug)]
pub struct RunView {
    pub data: RunData,
    /// Row position by entity.
    index: HashMap<(EntityType, String), usize>,
    /// Link positions by project id and by employer id.
    by_project: HashMap<String, Vec<usize>>,
    by_employer: HashMap<String, Vec<usize>>,
    /// Each row's watchlist JSON, rendered once: a page is these fragments joined.
    items: Vec<Box<RawValue>>,
    /// Ranges of `data.wages` and `data.events` by entity (both are grouped by entity).
    wages_by: HashMap<(EntityType, String), std::ops::Range<usize>>,
    events_by: HashMap<(EntityType, String), std::ops::Range<usize>>,
}

/// The ranges of consecutive items with the same key.
fn ranges<T>(
    items: &[T],
    key: impl Fn(&T) -> (EntityType, String),
) -> HashMap<(EntityType, String), std::ops::Range<usize>> {
    let mut out: HashMap<(EntityType, String), std::ops::Range<usize>> = HashMap::new();
    for (i, x) in items.iter().enumerate() {
        let r = out.entry(key(x)).or_insert(i..i);
        r.end = i + 1;
    }
    out
}

impl RunView {
    /// Indexes a run.
    pub fn new(data: RunData) -> RunView {
        let index = data.rows.iter().enumerate().map(|(i, r)| ((r.entity_type, r.entity_id.clone()), i)).collect();
        let mut by_project: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_employer: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, l) in data.links.iter().enumerate() {
            by_project.entry(l.project_id.clone()).or_default().push(i);
            by_employer.entry(l.employer_id.clone()).or_default().push(i);
        }
        let items = data
            .rows
            .iter()
            .map(|r| serde_json::value::to_raw_value(&WatchlistItem::from_row(r)).expect("rows serialise"))
            .collect();
        let wages_by = ranges(&data.wages, |w| (w.entity_type, w.entity_id.clone()));
        let events_by = ranges(&data.events, |e| (e.entity_type, e.entity_id.clone()));
        RunView { data, index, by_project, by_employer, items, wages_by, events_by }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.data.record.run_id
    }

    /// The watchlist JSON of the row at a position.
    pub fn item_json(&self, position: usize) -> &RawValue {
        &self.items[position]
    }

    /// An entity's wage months, oldest first.
    pub fn wages(&self, t: EntityType, id: &str) -> &[crate::runs::WageMonth] {
        self.wages_by.get(&(t, id.to_string())).map_or(&[], |r| &self.data.wages[r.clone()])
    }

    /// An entity's complaints and inspections, newest first.
    pub fn events(&self, t: EntityType, id: &str) -> &[crate::runs::TimelineEvent] {
        self.events_by.get(&(t, id.to_string())).map_or(&[], |r| &self.data.events[r.clone()])
    }

    /// An entity's row.
    pub fn row(&self, t: EntityType, id: &str) -> Option<&RunRow> {
        self.index.get(&(t, id.to_string())).map(|&i| &self.data.rows[i])
    }

    /// The position of a row in the run's order (employers then projects, each by rank).
    pub fn position(&self, t: EntityType, id: &str) -> Option<usize> {
        self.index.get(&(t, id.to_string())).copied()
    }

    /// The entities linked to one, general contractors first: an employer's projects, a project's
    /// general contractor and subcontractors (its owner, not scored, is on its row).
    pub fn linked(&self, t: EntityType, id: &str) -> Vec<(EntityType, &str, Relation)> {
        let (positions, other) = match t {
            EntityType::Employer => (self.by_employer.get(id), EntityType::Project),
            EntityType::Project => (self.by_project.get(id), EntityType::Employer),
        };
        let mut out: Vec<(EntityType, &str, Relation)> = positions
            .into_iter()
            .flatten()
            .map(|&i| {
                let l: &Link = &self.data.links[i];
                let linked = if other == EntityType::Project { &l.project_id } else { &l.employer_id };
                (other, linked.as_str(), l.relation)
            })
            .collect();
        out.sort_by_key(|(_, _, relation)| *relation != Relation::GeneralContractor);
        out
    }
}

/// Every kept published run, newest first; the first is current.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub runs: Vec<Arc<RunView>>,
}

impl Snapshot {
    /// Reads every published run in the registry.
    pub fn load(store: &Store) -> Result<Snapshot, RunError> {
        Snapshot::default().with_new_run(store)
    }

    /// The runs the registry lists now: views of runs already loaded are kept (no re-read), new ones are
    /// read, and those the registry no longer keeps are dropped.
    pub fn with_new_run(&self, store: &Store) -> Result<Snapshot, RunError> {
        let mut runs = Vec::new();
        for record in store.published()? {
            match self.runs.iter().find(|v| v.run_id() == record.run_id) {
                Some(v) => runs.push(v.clone()),
                None => runs.push(Arc::new(RunView::new(RunData::load(store, record)?))),
            }
        }
        Ok(Snapshot { runs })
    }

    /// The current run.
    pub fn current(&self) -> Option<&Arc<RunView>> {
        self.runs.first()
    }

    /// An entity's rows in the kept runs, newest first.
    pub fn history<'a>(&'a self, t: EntityType, id: &'a str) -> impl Iterator<Item = (&'a RunView, &'a RunRow)> + 'a {
        self.runs.iter().filter_map(move |v| v.row(t, id).map(|r| (v.as_ref(), r)))
    }

    /// A kept run by id.
    pub fn run(&self, run_id: &str) -> Option<&Arc<RunView>> {
        self.runs.iter().find(|v| v.run_id() == run_id)
    }

    /// The run a request reads: the named one, or the current one.
    pub fn pick(&self, run: Option<&str>) -> Result<&Arc<RunView>, ApiError> {
        match run {
            Some(id) => self.run(id).ok_or_else(|| ApiError::NotFound { what: format!("run {id}") }),
            None => self.current().ok_or(ApiError::NoRun),
        }
    }
}

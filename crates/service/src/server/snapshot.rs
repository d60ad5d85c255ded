//! The immutable in-memory view of the published runs. The server holds one `Arc<Snapshot>` and swaps it
//! whole when a run is published, so a request that took the snapshot sees one run from start to end.
//! Only the current run is held whole; the kept runs are held as their scores, for history.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;

use serde_json::value::RawValue;

use super::error::ApiError;
use super::wire::WatchlistItem;
use crate::query::{Filter, RankBy};
use crate::runs::{files, Link, Relation, RunData, RunError, RunRow};
use crate::state::{RunRecord, Store};
use wagewatch_core::contract::RegionCode;
use wagewatch_core::features::EntityType;
use wagewatch_core::model::Band;

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
    /// Each row's region, as a column: every page is narrowed by region first (`query::page_in_region`).
    pub regions: Vec<RegionCode>,
    /// Ranges of `data.wages` and `data.events` by entity (both are grouped by entity).
    wages_by: HashMap<(EntityType, String), std::ops::Range<usize>>,
    events_by: HashMap<(EntityType, String), std::ops::Range<usize>>,
    /// Watchlist pages rendered so far ([`RunView::page`]).
    pages: Mutex<PageCache>,
}

/// What a watchlist page of a run holds: the rows the filter (narrowed to the caller's region) keeps, in
/// an order, from a position, so many.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub filter: Filter,
    pub rank_by: RankBy,
    pub start: usize,
    pub limit: usize,
}

/// A rendered page: the response body and how many rows it holds (for the audit log).
#[derive(Clone, Debug)]
pub struct RenderedPage {
    pub body: Bytes,
    pub rows: u64,
}

/// Pages rendered for one run, by what they hold. Emptied whole once its bodies pass [`PAGE_CACHE_BYTES`]:
/// the pages read again (a district's first page, polled) are soon back.
#[derive(Default)]
struct PageCache {
    pages: HashMap<PageKey, RenderedPage>,
    bytes: usize,
}

/// The most bytes of rendered pages one run's cache holds.
const PAGE_CACHE_BYTES: usize = 32 << 20;

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache").field("pages", &self.pages.len()).field("bytes", &self.bytes).finish()
    }
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
        let regions = data.rows.iter().map(|r| r.region).collect();
        let wages_by = ranges(&data.wages, |w| (w.entity_type, w.entity_id.clone()));
        let events_by = ranges(&data.events, |e| (e.entity_type, e.entity_id.clone()));
        let pages = Mutex::default();
        RunView { data, index, by_project, by_employer, items, regions, wages_by, events_by, pages }
    }

    /// The watchlist page `key` asks for: rendered by `render` the first time, the same bytes after.
    pub fn page(&self, key: PageKey, render: impl FnOnce(&PageKey) -> RenderedPage) -> RenderedPage {
        let cache = || self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(page) = cache().pages.get(&key) {
            return page.clone();
        }
        let page = render(&key);
        let mut cache = cache();
        if cache.bytes + page.body.len() > PAGE_CACHE_BYTES {
            *cache = PageCache::default();
        }
        cache.bytes += page.body.len();
        cache.pages.insert(key, page.clone());
        page
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

/// What history needs of a run: its entities' scores, ranks and bands, in one allocation (sorted by a
/// 128-bit digest of the entity's type and id), so that the summaries the server keeps neither grow with
/// the ids' text nor pin freed pages of the runs they outlived.
#[derive(Debug)]
pub struct RunSummary {
    pub record: RunRecord,
    scores: Box<[(u128, HistoryEntry)]>,
}

/// One entity in one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryEntry {
    pub score: f64,
    pub rank: u32,
    pub band: Band,
}

/// The digest an entity is found by in summaries (BLAKE3 of its type and id, the first 16 bytes).
fn entity_key(t: EntityType, id: &str) -> u128 {
    let mut h = blake3::Hasher::new();
    h.update(t.code().as_bytes());
    h.update(&[0]);
    h.update(id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest.as_bytes()[..16]);
    u128::from_le_bytes(first)
}

impl RunSummary {
    fn of(record: RunRecord, rows: &[RunRow]) -> RunSummary {
        let mut scores: Vec<(u128, HistoryEntry)> = rows
            .iter()
            .map(|r| {
                let entry = HistoryEntry { score: r.score, rank: r.rank, band: r.band };
                (entity_key(r.entity_type, &r.entity_id), entry)
            })
            .collect();
        scores.sort_unstable_by_key(|(k, _)| *k);
        RunSummary { record, scores: scores.into_boxed_slice() }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.record.run_id
    }

    fn get(&self, key: u128) -> Option<HistoryEntry> {
        self.scores.binary_search_by_key(&key, |(k, _)| *k).ok().map(|i| self.scores[i].1)
    }
}

/// The published runs as the server holds them: the current run whole, and every kept run (the current
/// one included, newest first) as a summary for history. An older run is read whole only when a request
/// names it (see `AppState::run_view`), so memory does not grow with the runs kept.
#[derive(Debug, Default)]
pub struct Snapshot {
    current: Option<Arc<RunView>>,
    pub kept: Vec<Arc<RunSummary>>,
}

impl Snapshot {
    /// Reads the published runs in the registry.
    pub fn load(store: &Store) -> Result<Snapshot, RunError> {
        Snapshot::default().with_new_run(store)
    }

    /// The runs the registry lists now: what is already held is kept (no re-read), the current run is read
    /// whole when it is new, summaries of other new runs from their scores, and runs the registry no
    /// longer keeps are dropped.
    pub fn with_new_run(&self, store: &Store) -> Result<Snapshot, RunError> {
        let published = store.published()?;
        let current = match (published.first(), &self.current) {
            (None, _) => None,
            (Some(newest), Some(held)) if held.run_id() == newest.run_id => Some(held.clone()),
            (Some(newest), _) => Some(Arc::new(RunView::new(RunData::load(store, newest.clone())?))),
        };
        let mut kept = Vec::new();
        for record in published {
            let summary = match self.kept.iter().find(|v| v.run_id() == record.run_id) {
                Some(held) => held.clone(),
                None => match current.as_ref().filter(|c| c.run_id() == record.run_id) {
                    Some(c) => Arc::new(RunSummary::of(record, &c.data.rows)),
                    None => {
                        let rows = files::read_scores(&RunData::dir(store, &record.run_id).join(files::SCORES))?;
                        Arc::new(RunSummary::of(record, &rows))
                    }
                },
            };
            kept.push(summary);
        }
        Ok(Snapshot { current, kept })
    }

    /// The current run.
    pub fn current(&self) -> Option<&Arc<RunView>> {
        self.current.as_ref()
    }

    /// An entity's scores in the kept runs, newest first.
    pub fn history<'a>(
        &'a self,
        t: EntityType,
        id: &'a str,
    ) -> impl Iterator<Item = (&'a RunRecord, HistoryEntry)> + 'a {
        let key = entity_key(t, id);
        self.kept.iter().filter_map(move |v| v.get(key).map(|e| (&v.record, e)))
    }

    /// A kept run's record by id.
    pub fn kept_run(&self, run_id: &str) -> Option<&RunRecord> {
        self.kept.iter().find(|v| v.run_id() == run_id).map(|v| &v.record)
    }

    /// The current run, for requests that name none or name it; `NoRun` before the first.
    pub fn pick(&self, run: Option<&str>) -> Result<&Arc<RunView>, ApiError> {
        let current = self.current().ok_or(ApiError::NoRun)?;
        match run {
            Some(id) if id != current.run_id() => Err(ApiError::NotFound { what: format!("run {id}") }),
            _ => Ok(current),
        }
    }
}

//! The JSON the API speaks. Domain types do not derive the wire format; these types do, and each is
//! built from the domain explicitly. Their schemas go into the OpenAPI document.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::query::{parse_bands, FilterSpec};
use crate::runs::RunRow;
use crate::state::{
    DriftAgainst, DriftRow, JobRecord, ModelRecord, Promotion, RecordedInspection, Role, RunOutcome, RunRecord,
    TokenRecord,
};
use wagewatch_core::backtest::report::{Evaluation, Report};
use wagewatch_core::champion::Standing;
use wagewatch_core::contract::{EmployerKind, RegionPrefix, Sector, Selection};
use wagewatch_core::fairness::Audit;
use wagewatch_core::features::{Alert, EntityType, Feature};
use wagewatch_core::model::{Band, Reason};

/// An error: a stable machine-readable code and a message for people.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// One of the codes listed in the API description.
    pub code: String,
    pub message: String,
}

/// One reason behind a score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonOut {
    /// Stable code (the feature's name).
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The entity's value of the feature.
    pub value: f64,
}

impl ReasonOut {
    pub fn from_reason(r: &Reason) -> ReasonOut {
        let (zh, en) = r.texts();
        ReasonOut { code: r.code().to_string(), zh, en, value: r.value }
    }
}

/// A measure an inspector can order (建议措施), judged by re-scoring the entity with it applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeverOut {
    /// `pay_overdue_wages`, `clear_progress_payments`, `lodge_deposit` or `open_wage_account`.
    pub code: String,
    /// The measure with what is owed and the drop, e.g. `清偿拖欠的工资 42 万元 (62% -> 41%)`.
    pub zh: String,
    pub en: String,
    /// The probability the entity would have with the measure applied.
    pub score_after: f64,
}

impl LeverOut {
    /// The levers of a row, as an inspector reads them.
    pub fn of_row(r: &RunRow) -> Vec<LeverOut> {
        r.lever_texts()
            .into_iter()
            .map(|(e, zh, en)| LeverOut { code: e.lever.code().to_string(), zh, en, score_after: e.probability })
            .collect()
    }
}

/// A configured floor that raised the band above what the score gives (the first reason for it).
#[derive(Debug, Serialize, ToSchema)]
pub struct BandFloorOut {
    /// `arrears_found` or `substantiated_complaint`.
    pub rule: String,
    pub within_days: u32,
    /// The band the floor holds the entity at, at least.
    pub at_least: String,
    pub zh: String,
    pub en: String,
}

impl BandFloorOut {
    pub fn of_row(r: &RunRow) -> Option<BandFloorOut> {
        r.floor.map(|f| {
            let (zh, en) = f.texts();
            BandFloorOut {
                rule: f.rule.code().to_string(),
                within_days: f.within_days,
                at_least: f.at_least.code().to_string(),
                zh,
                en,
            }
        })
    }
}

/// A platform rule that fired.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertOut {
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl AlertOut {
    pub fn from_alert(a: Alert) -> AlertOut {
        AlertOut { code: a.code().to_string(), zh: a.zh().to_string(), en: a.en().to_string() }
    }
}

/// One watchlist row: the contract's columns (`entity_type` .. `reasons`) and more.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchlistItem {
    /// `employer` or `project`.
    pub entity_type: String,
    pub entity_id: String,
    pub region_code: String,
    /// Calibrated probability of an arrears event in the horizon.
    pub score: f64,
    /// 1 = highest score within the entity type.
    pub rank: u32,
    /// `red`, `orange`, `yellow` or `green`.
    pub band: String,
    /// The top contributing factors, `;`-separated codes.
    pub reasons: String,
    /// The configured floor that raised the band above what the score gives, if one did.
    pub band_floor: Option<BandFloorOut>,
    /// Expected unpaid wages in the horizon, yuan: the probability times the amount at stake given an
    /// event. Absent when the run's model has no amount model.
    pub expected_unpaid_yuan: Option<f64>,
    /// Expected number of workers owed wages in the horizon, likewise.
    pub expected_workers: Option<f64>,
    /// For red and orange entities: the measures that would lower the probability, largest drop first
    /// (only those that lower it by half a point or more).
    pub levers: Vec<LeverOut>,
    pub name: String,
    pub sector: String,
    pub kind: Option<String>,
    pub reason_texts: Vec<ReasonOut>,
    pub alerts: Vec<AlertOut>,
    /// The score in the previous run, if the entity was in it.
    pub previous_score: Option<f64>,
    pub score_delta: Option<f64>,
    pub previous_band: Option<String>,
    /// `up`, `down`, `same`, or `new` (not in the previous run).
    pub band_change: String,
    /// On the list (not green) now and not before.
    pub new_on_list: bool,
}

/// How a band moved: up means riskier.
pub fn band_change(now: Band, before: Option<Band>) -> &'static str {
    match before {
        None => "new",
        Some(b) if b == now => "same",
        Some(b) if now < b => "up",
        Some(_) => "down",
    }
}

impl WatchlistItem {
    pub fn from_row(r: &RunRow) -> WatchlistItem {
        WatchlistItem {
            entity_type: r.entity_type.code().to_string(),
            entity_id: r.entity_id.clone(),
            region_code: r.region.to_string(),
            score: r.score,
            rank: r.rank,
            band: r.band.code().to_string(),
            reasons: r.reasons.iter().map(|x| x.code()).collect::<Vec<_>>().join(";"),
            band_floor: BandFloorOut::of_row(r),
            expected_unpaid_yuan: r.expected_unpaid_yuan,
            expected_workers: r.expected_workers,
            levers: LeverOut::of_row(r),
            name: r.name.clone(),
            sector: r.sector.code().to_string(),
            kind: r.kind.map(|k| k.code().to_string()),
            reason_texts: r.reasons.iter().map(ReasonOut::from_reason).collect(),
            alerts: r.alerts.iter().map(AlertOut::from_alert).collect(),
            previous_score: r.previous_score,
            score_delta: r.previous_score.map(|p| r.score - p),
            previous_band: r.previous_band.map(|b| b.code().to_string()),
            band_change: band_change(r.band, r.previous_band).to_string(),
            new_on_list: r.new_on_list,
        }
    }
}

/// A page of the watchlist.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchlistPage<'a> {
    pub run_id: String,
    pub as_of: String,
    pub model_id: String,
    /// Rows matching the filters in all pages.
    pub total: usize,
    /// The rows, rendered once per run (see `WatchlistItem`).
    #[schema(value_type = Vec<WatchlistItem>)]
    pub items: Vec<&'a serde_json::value::RawValue>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Region code prefix: 2 digits province, 4 city, 6 district.
pub const REGION_PATTERN: &str = "^[0-9]{2}([0-9]{2}([0-9]{2})?)?$";
/// A comma-separated list of bands.
pub const BANDS_PATTERN: &str = "^(red|orange|yellow|green)(,(red|orange|yellow|green))*$";
/// A run id.
pub const RUN_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A cursor this API returned: `<run_id>:<position>`.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}:[0-9]{1,9}$";
/// A model id: letters, digits, `.`, `_`, `-`, not starting with `.`.
pub const MODEL_ID_PATTERN: &str = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$";
/// A calendar date within the data contract's range (1990-01-01 to 2100-12-31).
pub const DATE_PATTERN: &str = "^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// An id of the data contract: 1 to 64 characters.
pub const ID_MAX_CHARS: usize = 64;

/// An entity type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityTypeCode {
    Employer,
    Project,
}

impl From<EntityTypeCode> for EntityType {
    fn from(c: EntityTypeCode) -> EntityType {
        match c {
            EntityTypeCode::Employer => EntityType::Employer,
            EntityTypeCode::Project => EntityType::Project,
        }
    }
}

/// A sector of the data contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectorCode {
    Construction,
    Manufacturing,
    Services,
    Transport,
    Other,
}

impl From<SectorCode> for Sector {
    fn from(c: SectorCode) -> Sector {
        match c {
            SectorCode::Construction => Sector::Construction,
            SectorCode::Manufacturing => Sector::Manufacturing,
            SectorCode::Services => Sector::Services,
            SectorCode::Transport => Sector::Transport,
            SectorCode::Other => Sector::Other,
        }
    }
}

/// An employer kind of the data contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindCode {
    GeneralContractor,
    Subcontractor,
    LaborService,
    Manufacturer,
    Service,
    Other,
}

impl From<KindCode> for EmployerKind {
    fn from(c: KindCode) -> EmployerKind {
        match c {
            KindCode::GeneralContractor => EmployerKind::GeneralContractor,
            KindCode::Subcontractor => EmployerKind::Subcontractor,
            KindCode::LaborService => EmployerKind::LaborService,
            KindCode::Manufacturer => EmployerKind::Manufacturer,
            KindCode::Service => EmployerKind::Service,
            KindCode::Other => EmployerKind::Other,
        }
    }
}

/// A token's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleCode {
    Inspector,
    Supervisor,
    Admin,
}

impl From<RoleCode> for Role {
    fn from(c: RoleCode) -> Role {
        match c {
            RoleCode::Inspector => Role::Inspector,
            RoleCode::Supervisor => Role::Supervisor,
            RoleCode::Admin => Role::Admin,
        }
    }
}

/// The file format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormatCode {
    #[default]
    Csv,
    Parquet,
    Xlsx,
}

/// Filters of the watchlist and its exports.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WatchlistQuery {
    /// Both types when absent.
    pub entity_type: Option<EntityTypeCode>,
    /// Region code prefix: 2 digits province, 4 city, 6 district. Narrowed to the token's region.
    #[param(pattern = "^[0-9]{2}([0-9]{2}([0-9]{2})?)?$")]
    pub region: Option<String>,
    pub sector: Option<SectorCode>,
    pub kind: Option<KindCode>,
    /// One band or several separated by commas, e.g. `red,orange`.
    #[param(pattern = "^(red|orange|yellow|green)(,(red|orange|yellow|green))*$")]
    pub band: Option<String>,
    /// Lowest score to include.
    #[param(minimum = 0, maximum = 1)]
    pub min_score: Option<f64>,
    /// Text that the name or id contains (case-insensitive).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// A run id; the current run when absent (or the cursor's run).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub run: Option<String>,
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}:h?[0-9]{1,9}$")]
    pub cursor: Option<String>,
    /// Rows per page (default 50; the maximum is the server's `max_page`, 500 by default).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// `probability` (the default: the model's rank) or `expected_harm` (expected unpaid wages, highest
    /// first). A cursor is read in the order it was made in: keep `rank_by` when paging.
    pub rank_by: Option<RankByCode>,
}

/// The order a watchlist is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankByCode {
    Probability,
    ExpectedHarm,
}

impl From<RankByCode> for crate::query::RankBy {
    fn from(c: RankByCode) -> crate::query::RankBy {
        match c {
            RankByCode::Probability => crate::query::RankBy::Probability,
            RankByCode::ExpectedHarm => crate::query::RankBy::ExpectedHarm,
        }
    }
}

impl WatchlistQuery {
    /// The typed filters, or the parameter at fault.
    pub fn spec(&self) -> Result<FilterSpec, crate::query::BadFilter> {
        let bad = |parameter: &'static str, reason: &'static str| crate::query::BadFilter { parameter, reason };
        let region = self
            .region
            .as_deref()
            .map(|r| {
                RegionPrefix::parse(r).filter(|_| !r.is_empty()).ok_or_else(|| bad("region", "use 2, 4 or 6 digits"))
            })
            .transpose()?;
        let bands = self
            .band
            .as_deref()
            .map(|b| parse_bands(b).ok_or_else(|| bad("band", "use red, orange, yellow or green, separated by commas")))
            .transpose()?;
        let checked = |v: &Option<String>, pattern_ok: fn(&str) -> bool, name: &'static str| match v {
            Some(x) if !pattern_ok(x) => Err(bad(name, "not one this API returned")),
            _ => Ok(()),
        };
        checked(&self.run, run_id_ok, "run")?;
        Ok(FilterSpec {
            entity_type: self.entity_type.map(Into::into),
            region,
            sector: self.sector.map(Into::into),
            kind: self.kind.map(Into::into),
            bands,
            min_score: self.min_score,
            text: self.q.clone(),
        })
    }
}

/// Whether `id` could be a run id.
pub fn run_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Export parameters besides the filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// CSV (UTF-8 with a BOM, as Excel reads it) when absent.
    pub format: Option<ExportFormatCode>,
}

/// A feature value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureOut {
    pub name: String,
    pub unit: String,
    pub meaning: String,
    pub value: f64,
}

impl FeatureOut {
    pub fn new(f: Feature, value: f64) -> FeatureOut {
        let d = f.def();
        FeatureOut { name: d.name.to_string(), unit: d.unit.to_string(), meaning: d.meaning.to_string(), value }
    }
}

/// The entity's score in one run.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPoint {
    pub run_id: String,
    pub as_of: String,
    pub created_at: String,
    pub score: f64,
    pub rank: u32,
    pub band: String,
}

/// An entity linked to this one.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedOut {
    pub entity_type: String,
    pub entity_id: String,
    pub name: Option<String>,
    /// `general_contractor`, `subcontractor`, `owner` (a project's) or `project` (an employer's).
    pub relation: String,
    pub region_code: Option<String>,
    /// Absent for owners, who are not scored, and for entities outside the caller's region.
    pub band: Option<String>,
    pub score: Option<f64>,
}

/// An employer or project in detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityDetail {
    pub entity_type: String,
    pub entity_id: String,
    pub name: String,
    pub region_code: String,
    pub sector: String,
    pub kind: Option<String>,
    pub run_id: String,
    pub as_of: String,
    pub score: f64,
    pub rank: u32,
    pub band: String,
    pub previous_score: Option<f64>,
    pub band_change: String,
    pub new_on_list: bool,
    /// The configured floor that raised the band above what the score gives, if one did.
    pub band_floor: Option<BandFloorOut>,
    pub reasons: Vec<ReasonOut>,
    /// Expected unpaid wages (yuan) and workers affected in the horizon.
    pub expected_unpaid_yuan: Option<f64>,
    pub expected_workers: Option<f64>,
    /// What to fix (建议措施), for red and orange entities.
    pub levers: Vec<LeverOut>,
    pub alerts: Vec<AlertOut>,
    pub key_features: Vec<FeatureOut>,
    /// Newest first, across the kept runs.
    pub history: Vec<HistoryPoint>,
    pub related: Vec<RelatedOut>,
}

/// Counts of a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunCountsOut {
    pub employers: u32,
    pub projects: u32,
    pub red: u32,
    pub orange: u32,
    pub yellow: u32,
    pub green: u32,
    pub new_on_list: u32,
}

/// A run (published, or a failed attempt).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub run_id: String,
    pub as_of: String,
    pub model_id: String,
    pub data_fingerprint: String,
    pub created_at: String,
    /// `published` or `failed`.
    pub status: String,
    /// `cli`, `api`, `schedule` or `new_data`.
    pub trigger: String,
    pub previous_run_id: Option<String>,
    pub counts: RunCountsOut,
    pub seconds: f64,
    pub error: Option<String>,
    /// Whether this is the run served by default.
    pub current: bool,
    /// How far the run's data moved, in brief (none for failed runs and runs from before drift was
    /// measured).
    pub drift: Option<RunDriftOut>,
    /// The challenger scored in shadow beside the run's model, when there was one.
    pub shadow: Option<ShadowOut>,
}

/// A challenger's list in shadow.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShadowOut {
    pub model_id: String,
    /// Entities it would band red and orange (by the probability cut-offs).
    pub red: u32,
    pub orange: u32,
    /// The share of the served model's red-and-orange entities it also bands red or orange.
    pub listed_overlap: Option<f64>,
}

/// A run's drift in brief: the largest population stability index (PSI) of any feature or the score.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDriftOut {
    /// A PSI above this counts as drift.
    pub threshold: f64,
    /// Whether either largest PSI is above the threshold.
    pub drifted: bool,
    /// Against the model's training panel (none when the model kept no distributions).
    pub training_max_psi: Option<f64>,
    /// Against the previous published run (none for the first run).
    pub previous_max_psi: Option<f64>,
}

/// One run, with its drift per feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunOut,
    /// Against the model's training panel: the score's PSI and the features that moved most.
    pub drift_against_training: Option<DriftOut>,
    /// Against the previous published run.
    pub drift_against_previous: Option<DriftOut>,
    /// What came of the run's list, once its horizon has closed in the data (judged by a later re-score).
    pub outcomes: Option<OutcomesOut>,
}

/// What came of a run's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomesOut {
    /// When it was judged, and on which data.
    pub judged_at: String,
    pub data_fingerprint: String,
    pub horizon_days: i32,
    /// Employers, then projects.
    pub entity_types: Vec<ListOutcomeOut>,
}

/// One entity type's list judged against what happened in its horizon.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOutcomeOut {
    /// `employer` or `project`.
    pub entity_type: String,
    pub entities: usize,
    pub events: usize,
    /// Red, orange, yellow, green.
    pub bands: Vec<BandOutcomeOut>,
    /// The share with an event among the red (null when none was red).
    pub precision_at_red: Option<f64>,
    /// ... among the red and orange.
    pub precision_at_orange: Option<f64>,
    /// The share of all events that were red (null when there was no event).
    pub recall_at_red: Option<f64>,
    /// ... that were red or orange.
    pub recall_at_orange: Option<f64>,
    /// Ten equal-mass bins by predicted probability.
    pub calibration: Vec<CalibrationBinOut>,
}

/// One band of a judged list.
#[derive(Debug, Serialize, ToSchema)]
pub struct BandOutcomeOut {
    /// `red`, `orange`, `yellow` or `green`.
    pub band: String,
    pub entities: usize,
    pub events: usize,
    /// Null for an empty band.
    pub event_rate: Option<f64>,
    pub mean_probability: f64,
}

/// One calibration bin: what the list predicted and what happened.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalibrationBinOut {
    pub entities: usize,
    pub mean_probability: f64,
    pub observed_rate: f64,
}

impl OutcomesOut {
    /// The wire form of a judged run.
    pub fn from_outcome(o: &RunOutcome) -> OutcomesOut {
        OutcomesOut {
            judged_at: o.judged_at.to_string(),
            data_fingerprint: o.data_fingerprint.clone(),
            horizon_days: o.horizon_days,
            entity_types: o
                .lists
                .iter()
                .map(|(t, l)| {
                    let (entities, events) = l.totals();
                    ListOutcomeOut {
                        entity_type: t.code().to_string(),
                        entities,
                        events,
                        bands: l
                            .bands
                            .iter()
                            .map(|b| BandOutcomeOut {
                                band: b.band.code().to_string(),
                                entities: b.entities,
                                events: b.events,
                                event_rate: b.rate(),
                                mean_probability: b.mean_probability,
                            })
                            .collect(),
                        precision_at_red: l.precision_at(Band::Red),
                        precision_at_orange: l.precision_at(Band::Orange),
                        recall_at_red: l.recall_at(Band::Red),
                        recall_at_orange: l.recall_at(Band::Orange),
                        calibration: l
                            .calibration
                            .iter()
                            .map(|b| CalibrationBinOut {
                                entities: b.entities,
                                mean_probability: b.mean_probability,
                                observed_rate: b.observed_rate,
                            })
                            .collect(),
                    }
                })
                .collect(),
        }
    }
}

/// The PSI of the score per entity type and the ten features that moved most.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftOut {
    pub score: Vec<PsiOut>,
    pub top_movers: Vec<PsiOut>,
    /// Features with no PSI (the calendar's, the same for every entity on a date).
    pub undefined: usize,
}

/// The PSI of one feature, or of the score, of one entity type.
#[derive(Debug, Serialize, ToSchema)]
pub struct PsiOut {
    /// `employer` or `project`.
    pub entity_type: String,
    /// A feature name, or `score`.
    pub subject: String,
    /// Null where undefined.
    pub psi: Option<f64>,
    /// Why it is undefined.
    pub note: Option<String>,
}

/// How many features a run's drift lists.
pub const TOP_MOVERS: usize = 10;

impl DriftOut {
    /// The rows of one comparison, as the store lists them (largest first); none when there are none.
    pub fn from_rows(rows: &[DriftRow], against: DriftAgainst) -> Option<DriftOut> {
        let of: Vec<&DriftRow> = rows.iter().filter(|r| r.against == against).collect();
        if of.is_empty() {
            return None;
        }
        let psi = |r: &DriftRow| PsiOut {
            entity_type: r.entity_type.code().to_string(),
            subject: r.subject.clone(),
            psi: r.psi,
            note: r.note.clone(),
        };
        let (score, features): (Vec<&DriftRow>, Vec<&DriftRow>) = of.into_iter().partition(|r| r.subject == "score");
        Some(DriftOut {
            score: score.into_iter().map(psi).collect(),
            top_movers: features.iter().filter(|r| r.psi.is_some()).take(TOP_MOVERS).map(|r| psi(r)).collect(),
            undefined: features.iter().filter(|r| r.psi.is_none()).count(),
        })
    }
}

impl RunOut {
    pub fn from_record(r: &RunRecord, current: Option<&str>) -> RunOut {
        let c = &r.counts;
        RunOut {
            run_id: r.run_id.clone(),
            as_of: r.as_of.to_string(),
            model_id: r.model_id.clone(),
            data_fingerprint: r.data_fingerprint.clone(),
            created_at: r.created_at.to_string(),
            status: r.status.code().to_string(),
            trigger: r.trigger.clone(),
            previous_run_id: r.previous_run_id.clone(),
            counts: RunCountsOut {
                employers: c.employers,
                projects: c.projects,
                red: c.red,
                orange: c.orange,
                yellow: c.yellow,
                green: c.green,
                new_on_list: c.new_on_list,
            },
            seconds: r.seconds,
            error: r.error.clone(),
            current: current == Some(r.run_id.as_str()),
            drift: r.drift.map(|d| RunDriftOut {
                threshold: d.threshold,
                drifted: d.drifted(),
                training_max_psi: d.training,
                previous_max_psi: d.previous,
            }),
            shadow: r.shadow.as_ref().map(|s| ShadowOut {
                model_id: s.model_id.clone(),
                red: s.red,
                orange: s.orange,
                listed_overlap: s.listed_overlap,
            }),
        }
    }
}

/// The run registry, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub current_run_id: Option<String>,
    pub runs: Vec<RunOut>,
}

/// A request to re-score (admins of all regions).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescoreIn {
    /// `YYYY-MM-DD` from 1990 to 2100 (422 otherwise); today (China time) when absent. The re-score fails
    /// when the date lies outside the data's payroll history.
    #[schema(format = Date)]
    pub as_of: Option<String>,
    /// A model id; the configured or newest model when absent.
    #[schema(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    pub model_id: Option<String>,
}

/// A re-score job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub job_id: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    pub requested_by: String,
    pub as_of: Option<String>,
    pub model_id: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub run_id: Option<String>,
    pub error: Option<String>,
    /// Where to poll.
    pub href: String,
}

impl JobOut {
    pub fn from_record(j: &JobRecord) -> JobOut {
        JobOut {
            job_id: j.job_id.clone(),
            status: j.status.code().to_string(),
            requested_by: j.requested_by.clone(),
            as_of: j.as_of.map(|d| d.to_string()),
            model_id: j.model_id.clone(),
            created_at: j.created_at.to_string(),
            finished_at: j.finished_at.map(|t| t.to_string()),
            run_id: j.run_id.clone(),
            error: j.error.clone(),
            href: format!("/v1/jobs/{}", j.job_id),
        }
    }
}

/// A model's headline figures for one entity type.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityModelOut {
    pub entity_type: String,
    pub learner: String,
    pub features: usize,
    pub training_rows: usize,
    pub training_events: usize,
    /// Out-of-time validation of the chosen learner.
    pub validation_average_precision: Option<f64>,
    pub validation_roc_auc: Option<f64>,
}

/// A trained model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelOut {
    pub model_id: String,
    pub trained_as_of: String,
    pub horizon_days: i32,
    pub data_fingerprint: String,
    pub entity_models: Vec<EntityModelOut>,
}

impl ModelOut {
    pub fn from_model(m: &wagewatch_core::model::RiskModel) -> ModelOut {
        ModelOut {
            model_id: m.model_id.clone(),
            trained_as_of: m.trained_as_of.to_string(),
            horizon_days: m.horizon_days,
            data_fingerprint: m.data_fingerprint.clone(),
            entity_models: EntityType::ALL
                .iter()
                .map(|&t| {
                    let e = m.entity(t);
                    let v = e.validation.last();
                    EntityModelOut {
                        entity_type: t.code().to_string(),
                        learner: e.learner.name(),
                        features: e.features.len(),
                        training_rows: e.training_rows,
                        training_events: e.training_events,
                        validation_average_precision: v.map(|v| v.average_precision),
                        validation_roc_auc: v.map(|v| v.roc_auc),
                    }
                })
                .collect(),
        }
    }
}

/// The models in the model folder, and the registry's champion and challenger.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    pub models: Vec<ModelOut>,
    /// Registered models: the champion (what re-scores use), the challenger, the retired.
    pub registry: Vec<RegisteredModelOut>,
}

/// A model in the registry, with its lineage and its figures beside the champion's on the same dates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredModelOut {
    pub model_id: String,
    /// `champion`, `challenger` or `retired`.
    pub role: String,
    pub parent_model_id: Option<String>,
    pub data_fingerprint: String,
    pub trained_as_of: String,
    /// The first and last as-of dates of its training panel.
    pub fit_from: Option<String>,
    pub fit_to: Option<String>,
    pub code_version: String,
    pub registered_at: String,
    pub standing: Option<StandingOut>,
    /// The champion it was judged beside, and that model's figures on the same dates.
    pub compared_with_model_id: Option<String>,
    pub compared_with: Option<StandingOut>,
}

/// A model's figures on recent dates with known outcomes.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingOut {
    pub dates: Vec<String>,
    pub average_precision_employer: f64,
    pub average_precision_project: f64,
    pub calibration_gap_employer: Option<f64>,
    pub calibration_gap_project: Option<f64>,
    pub fairness_flags: usize,
}

impl StandingOut {
    fn from_standing(s: &Standing) -> StandingOut {
        StandingOut {
            dates: s.dates.iter().map(ToString::to_string).collect(),
            average_precision_employer: s.average_precision[0],
            average_precision_project: s.average_precision[1],
            calibration_gap_employer: s.calibration_gap[0],
            calibration_gap_project: s.calibration_gap[1],
            fairness_flags: s.fairness_flags,
        }
    }
}

impl RegisteredModelOut {
    pub fn from_record(m: &ModelRecord) -> RegisteredModelOut {
        RegisteredModelOut {
            model_id: m.model_id.clone(),
            role: m.role.code().to_string(),
            parent_model_id: m.parent_model_id.clone(),
            data_fingerprint: m.data_fingerprint.clone(),
            trained_as_of: m.trained_as_of.to_string(),
            fit_from: m.fit_from.map(|d| d.to_string()),
            fit_to: m.fit_to.map(|d| d.to_string()),
            code_version: m.code_version.clone(),
            registered_at: m.registered_at.to_string(),
            standing: m.standing.as_ref().map(StandingOut::from_standing),
            compared_with_model_id: m.compared_with.as_ref().map(|c| c.0.clone()),
            compared_with: m.compared_with.as_ref().map(|c| StandingOut::from_standing(&c.1)),
        }
    }
}

/// A change of champion.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionOut {
    pub at: String,
    /// `promote` or `rollback`.
    pub action: String,
    /// The champion now.
    pub model_id: String,
    pub previous_champion: Option<String>,
    pub by: String,
}

impl PromotionOut {
    pub fn from_promotion(p: &Promotion) -> PromotionOut {
        PromotionOut {
            at: p.at.to_string(),
            action: p.action.clone(),
            model_id: p.model_id.clone(),
            previous_champion: p.previous_champion.clone(),
            by: p.by.clone(),
        }
    }
}

/// A model with its card and backtest.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDetail {
    #[serde(flatten)]
    pub model: ModelOut,
    /// The model card (Markdown).
    pub card_markdown: String,
    /// The model card in Chinese (Markdown); absent for a model saved before cards had two languages.
    pub card_markdown_zh: Option<String>,
    /// The backtest beside the model, when one was run.
    pub backtest: Option<BacktestOut>,
}

/// A model's backtest: at each test date it was trained on the past only and compared with what happened.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestOut {
    /// First test date, `YYYY-MM-DD`.
    pub from: String,
    /// Last test date.
    pub to: String,
    pub dates: Vec<String>,
    pub horizon_days: i32,
    /// Employers, then projects.
    pub entity_types: Vec<BacktestFiguresOut>,
    /// The fairness audit pooled over the test dates (none in reports written before it existed).
    pub fairness: Option<FairnessOut>,
}

/// The fairness audit: per group, selection and error rates and their ratios to the largest group.
#[derive(Debug, Serialize, ToSchema)]
pub struct FairnessOut {
    /// A ratio below this is flagged.
    pub ratio_low: f64,
    /// A ratio above this is flagged.
    pub ratio_high: f64,
    /// Groups with fewer entity-dates are never flagged.
    pub min_group: usize,
    pub attributes: Vec<FairnessAttributeOut>,
}

/// The groups of one attribute of one entity type.
#[derive(Debug, Serialize, ToSchema)]
pub struct FairnessAttributeOut {
    /// `employer` or `project`.
    pub entity_type: String,
    /// `kind`, `sector`, `size`, `firm_age`, `city` or `funding`.
    pub attribute: String,
    /// The largest group, which the ratios are taken against.
    pub reference_group: String,
    pub groups: Vec<FairnessGroupOut>,
}

/// One group's figures (null where the denominator is zero), their ratios to the reference group, and the
/// figures flagged.
#[derive(Debug, Serialize, ToSchema)]
pub struct FairnessGroupOut {
    pub group: String,
    /// Entity-dates in the group.
    pub entities: usize,
    pub events: usize,
    /// Banded red or orange.
    pub selected: usize,
    pub base_rate: Option<f64>,
    pub selection_rate: Option<f64>,
    pub precision: Option<f64>,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
    pub base_rate_ratio: Option<f64>,
    pub selection_rate_ratio: Option<f64>,
    pub precision_ratio: Option<f64>,
    pub false_positive_rate_ratio: Option<f64>,
    pub false_negative_rate_ratio: Option<f64>,
    /// Names of the figures whose ratio is outside the bounds.
    pub flags: Vec<String>,
}

impl FairnessOut {
    /// The wire form of an audit.
    pub fn from_audit(a: &Audit) -> FairnessOut {
        FairnessOut {
            ratio_low: a.ratio_low,
            ratio_high: a.ratio_high,
            min_group: a.min_group,
            attributes: a
                .attributes
                .iter()
                .map(|at| FairnessAttributeOut {
                    entity_type: at.entity_type.clone(),
                    attribute: at.attribute.clone(),
                    reference_group: at.reference_group.clone(),
                    groups: at
                        .groups
                        .iter()
                        .map(|g| FairnessGroupOut {
                            group: g.group.clone(),
                            entities: g.counts.entities,
                            events: g.counts.events,
                            selected: g.counts.selected,
                            base_rate: g.rates.base_rate,
                            selection_rate: g.rates.selection_rate,
                            precision: g.rates.precision,
                            false_positive_rate: g.rates.false_positive_rate,
                            false_negative_rate: g.rates.false_negative_rate,
                            base_rate_ratio: g.ratios.base_rate,
                            selection_rate_ratio: g.ratios.selection_rate,
                            precision_ratio: g.ratios.precision,
                            false_positive_rate_ratio: g.ratios.false_positive_rate,
                            false_negative_rate_ratio: g.ratios.false_negative_rate,
                            flags: g.flags.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The backtest figures of one entity type, pooled over the test dates and per date.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestFiguresOut {
    /// `employer` or `project`.
    pub entity_type: String,
    #[serde(flatten)]
    pub pooled: BacktestDateFigures,
    pub per_date: Vec<BacktestDateOut>,
}

/// The figures of one test date.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestDateOut {
    pub as_of: String,
    /// Whether the horizon overlaps the 60 days before Spring Festival.
    pub pre_festival: bool,
    #[serde(flatten)]
    pub figures: BacktestDateFigures,
}

/// Ranking and calibration figures of the model, beside the platforms' rule baseline.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestDateFigures {
    /// Entity-dates judged.
    pub entities: usize,
    /// Of which had an arrears event in the horizon.
    pub events: usize,
    pub roc_auc: f64,
    pub average_precision: f64,
    pub precision_at_100: Option<f64>,
    pub brier: f64,
    /// The largest gap between mean probability and observed rate over equal-mass bins of 200+ entities.
    pub reliability_worst_gap: Option<f64>,
    pub rule_roc_auc: f64,
    pub rule_average_precision: f64,
    pub rule_precision_at_100: Option<f64>,
}

impl BacktestDateFigures {
    fn from_evaluation(e: &Evaluation) -> BacktestDateFigures {
        BacktestDateFigures {
            entities: e.entities,
            events: e.events,
            roc_auc: e.model.roc_auc,
            average_precision: e.model.average_precision,
            precision_at_100: e.model.precision_at("100"),
            brier: e.model.brier,
            reliability_worst_gap: e.model.reliability_worst_gap,
            rule_roc_auc: e.rule.roc_auc,
            rule_average_precision: e.rule.average_precision,
            rule_precision_at_100: e.rule.precision_at("100"),
        }
    }
}

impl BacktestOut {
    /// The wire form of a backtest report.
    pub fn from_report(r: &Report) -> BacktestOut {
        BacktestOut {
            from: r.from.to_string(),
            to: r.to.to_string(),
            dates: r.dates.iter().map(ToString::to_string).collect(),
            horizon_days: r.horizon_days,
            entity_types: EntityType::ALL
                .iter()
                .map(|&t| {
                    let e = r.entity_types.of(t);
                    BacktestFiguresOut {
                        entity_type: t.code().to_string(),
                        pooled: BacktestDateFigures::from_evaluation(&e.pooled),
                        per_date: e
                            .per_date
                            .iter()
                            .map(|d| BacktestDateOut {
                                as_of: d.as_of.to_string(),
                                pre_festival: d.pre_festival,
                                figures: BacktestDateFigures::from_evaluation(&d.evaluation),
                            })
                            .collect(),
                    }
                })
                .collect(),
            fairness: r.fairness.as_ref().map(FairnessOut::from_audit),
        }
    }
}

/// An inspection outcome to record. Found arrears need the amount and the workers affected; an
/// inspection that found none has neither.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionIn {
    /// Neither end a space, a control character or a byte-order mark.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f\\ufeff]([\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f\\ufeff])?$"
    )]
    pub inspection_id: String,
    #[schema(min_length = 1, max_length = 64)]
    pub employer_id: String,
    /// A project of the employer (its general contractor's, or one it has payroll on).
    #[schema(min_length = 1, max_length = 64)]
    pub project_id: Option<String>,
    /// `YYYY-MM-DD` from 1990 to today (422 otherwise).
    #[schema(format = Date)]
    pub inspected_on: String,
    pub found_arrears: bool,
    /// Yuan, rounded to the fen.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub arrears_amount: Option<f64>,
    #[schema(minimum = 1, maximum = 100000)]
    #[serde(default, deserialize_with = "whole_number")]
    pub workers_affected: Option<u32>,
    /// Why the firm was inspected (`random` for the audit slice); unknown when absent. Parsed by the
    /// handler, so that a wrong value is named.
    #[serde(default)]
    #[schema(value_type = Option<SelectionWire>)]
    pub selection: Option<String>,
    /// The first day of the plan week the visit was on (the `week` of `GET /v1/plans`), when it was
    /// planned: the plan then shows the visit done. `inspected_on` must lie in that week (422 otherwise).
    #[serde(default)]
    #[schema(format = Date)]
    pub plan_week: Option<String>,
}

/// Why a firm was inspected (data contract v1.1).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelectionWire {
    /// Drawn at random from the scored population: the audit slice.
    Random,
    /// Chosen from a watchlist.
    RiskList,
    /// Following a complaint.
    Complaint,
    /// A planned or campaign visit.
    Routine,
    Other,
}

impl SelectionWire {
    /// The value for a contract code.
    pub fn parse(code: &str) -> Option<SelectionWire> {
        Selection::parse(code).map(SelectionWire::from_domain)
    }

    pub fn to_domain(self) -> Selection {
        match self {
            SelectionWire::Random => Selection::Random,
            SelectionWire::RiskList => Selection::RiskList,
            SelectionWire::Complaint => Selection::Complaint,
            SelectionWire::Routine => Selection::Routine,
            SelectionWire::Other => Selection::Other,
        }
    }

    pub fn from_domain(s: Selection) -> SelectionWire {
        match s {
            Selection::Random => SelectionWire::Random,
            Selection::RiskList => SelectionWire::RiskList,
            Selection::Complaint => SelectionWire::Complaint,
            Selection::Routine => SelectionWire::Routine,
            Selection::Other => SelectionWire::Other,
        }
    }
}

/// A count given as a JSON number: `17` and `17.0` alike (JSON Schema's integers include both).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let Some(v) = Option::<f64>::deserialize(d)? else { return Ok(None) };
    if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
        return Err(serde::de::Error::custom(format!("{v} is not a whole number of workers")));
    }
    Ok(Some(v as u32))
}

/// A recorded inspection.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionOut {
    pub inspection_id: String,
    pub employer_id: String,
    pub project_id: Option<String>,
    pub inspected_on: String,
    pub found_arrears: bool,
    pub arrears_amount: Option<f64>,
    pub workers_affected: Option<u32>,
    pub selection: Option<SelectionWire>,
    pub plan_week: Option<String>,
    pub recorded_at: String,
    pub recorded_by: String,
}

impl InspectionOut {
    pub fn from_record(r: &RecordedInspection) -> InspectionOut {
        InspectionOut {
            inspection_id: r.inspection_id.clone(),
            employer_id: r.employer_id.clone(),
            project_id: r.project_id.clone(),
            inspected_on: r.inspected_on.to_string(),
            found_arrears: r.found_arrears,
            arrears_amount: r.arrears_amount.map(|m| m.yuan()),
            selection: r.selection.map(SelectionWire::from_domain),
            workers_affected: r.workers_affected,
            plan_week: r.plan_week.map(|d| d.to_string()),
            recorded_at: r.recorded_at.to_string(),
            recorded_by: r.recorded_by.clone(),
        }
    }
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// Who holds it.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    pub role: RoleCode,
    /// Region code prefix (2, 4 or 6 digits), within the caller's; required except for admins.
    #[schema(pattern = "^[0-9]{2}([0-9]{2}([0-9]{2})?)?$")]
    pub region: Option<String>,
    /// When the token stops working (RFC 3339, in the future: 422 otherwise); never when absent.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// A token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub token_id: i64,
    pub name: String,
    pub role: String,
    /// Empty for the whole country.
    pub region: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub expires_at: Option<String>,
}

impl TokenOut {
    pub fn from_record(t: &TokenRecord) -> TokenOut {
        TokenOut {
            token_id: t.token_id,
            name: t.name.clone(),
            role: t.role.code().to_string(),
            region: t.region.to_string(),
            created_at: t.created_at.to_string(),
            revoked_at: t.revoked_at.map(|t| t.to_string()),
            expires_at: t.expires_at.map(|t| t.to_string()),
        }
    }
}

/// A created token with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    #[serde(flatten)]
    pub token: TokenOut,
    /// The bearer secret; only its hash is stored.
    pub secret: String,
}

/// The tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenOut>,
}

/// Audit log filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    #[param(minimum = 1)]
    pub token_id: Option<i64>,
    /// A route template, e.g. `/v1/watchlist`.
    #[param(max_length = 200)]
    pub route: Option<String>,
    /// RFC 3339 time, e.g. `2026-11-26T00:00:00Z`.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Entries with ids below this (the previous page's `next_before`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Entries per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub audit_id: i64,
    pub at: String,
    pub token_id: Option<i64>,
    pub token_name: String,
    pub role: String,
    pub method: String,
    pub route: String,
    pub filters: String,
    /// Rows returned, over all the repeats.
    pub rows: u64,
    pub status: u16,
    /// How many identical requests this entry stands for (identical reads within `[audit]
    /// coalesce_seconds` of the first are counted here).
    #[schema(minimum = 1)]
    pub repeats: u64,
    /// When the last of them was made (`at` when made once).
    pub last_at: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditOut>,
    pub next_before: Option<i64>,
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// Readiness: a run is loaded and served.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    pub ready: bool,
    pub run_id: Option<String>,
    /// Whether a write to the state database just succeeded.
    pub state_writable: bool,
}

/// Alerts asked for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Region code prefix: 2 digits province, 4 city, 6 district. Narrowed to the token's region.
    #[param(pattern = "^[0-9]{2}([0-9]{2}([0-9]{2})?)?$")]
    pub region: Option<String>,
    /// From the previous page's `next_cursor`: alerts older than this one.
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
    /// Alerts per page (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// One alert a re-score raised.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertEventOut {
    pub alert_id: i64,
    pub run_id: String,
    pub as_of: String,
    /// When the run was published (UTC).
    pub created_at: String,
    /// `newly_red`, `rise`, `rule_fired` or `group_owed_before_festival`.
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
    pub name: String,
    pub region_code: String,
    pub score: f64,
    pub previous_score: Option<f64>,
    /// The rule's code (`rule_fired`) or the workers owed (`group_owed_before_festival`).
    pub detail: String,
    pub zh: String,
    pub en: String,
}

impl AlertEventOut {
    pub fn from_stored(a: &crate::state::StoredAlert) -> AlertEventOut {
        let (zh, en) = a.event.texts();
        AlertEventOut {
            alert_id: a.alert_id,
            run_id: a.run_id.clone(),
            as_of: a.as_of.to_string(),
            created_at: a.created_at.to_string(),
            kind: a.event.kind.code().to_string(),
            entity_type: a.event.entity_type.code().to_string(),
            entity_id: a.event.entity_id.clone(),
            name: a.event.name.clone(),
            region_code: a.event.region.to_string(),
            score: a.event.score,
            previous_score: a.event.previous_score,
            detail: a.event.detail.clone(),
            zh,
            en,
        }
    }
}

/// A page of alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertEventOut>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// A plan asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// The district (6 digits), within the token's region.
    #[param(pattern = "^[0-9]{6}$")]
    pub district: String,
    /// The first day of the week (`YYYY-MM-DD`), not before the current run's as-of date.
    #[param(format = Date)]
    pub week: String,
    /// Visits in the week (1 to 500).
    #[param(minimum = 1, maximum = 500)]
    pub capacity: usize,
    /// The share of the capacity drawn at random, the audit slice (default 0.1; below 1).
    #[param(minimum = 0, exclusive_maximum = 1)]
    pub audit_share: Option<f64>,
    /// Firms inspected within this many days before the week are left out unless their risk rose (default 90).
    #[param(minimum = 0, maximum = 3650)]
    pub skip_days: Option<i32>,
    /// The audit slice's seed (default 1).
    pub seed: Option<u64>,
}

/// One planned visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanLineOut {
    pub order: usize,
    /// `site` (the project and its crews), `firm`, or `audit` (drawn at random).
    pub kind: String,
    pub target_id: String,
    pub target_name: String,
    /// The employers the visit reaches that no earlier visit of the plan reached.
    pub covers: Vec<String>,
    pub expected_unpaid_yuan: f64,
    pub expected_workers: f64,
    pub score: f64,
    /// The inspection recorded against this visit (`plan_week` set to the plan's week), if one was.
    pub done: Option<PlanDoneOut>,
}

/// An inspection recorded against a planned visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDoneOut {
    pub inspection_id: String,
    pub employer_id: String,
    pub inspected_on: String,
    pub found_arrears: bool,
}

impl PlanLineOut {
    pub fn from_line(l: &crate::runs::plan::PlanLine, done: Option<&RecordedInspection>) -> PlanLineOut {
        PlanLineOut {
            order: l.order,
            kind: l.kind.to_string(),
            target_id: l.target_id.clone(),
            target_name: l.target_name.clone(),
            covers: l.covers.clone(),
            expected_unpaid_yuan: (l.expected_yuan * 100.0).round() / 100.0,
            expected_workers: (l.expected_workers * 100.0).round() / 100.0,
            score: l.probability,
            done: done.map(|i| PlanDoneOut {
                inspection_id: i.inspection_id.clone(),
                employer_id: i.employer_id.clone(),
                inspected_on: i.inspected_on.to_string(),
                found_arrears: i.found_arrears,
            }),
        }
    }
}

/// A district's plan for a week.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    pub run_id: String,
    pub as_of: String,
    pub week: String,
    pub district: String,
    /// As people read it, e.g. `苏州市 吴中区`.
    pub district_name: String,
    /// Expected unpaid wages the harm visits reach, yuan.
    pub reached_yuan: f64,
    /// Visits with an inspection recorded against them.
    pub done_visits: usize,
    pub visits: Vec<PlanLineOut>,
}

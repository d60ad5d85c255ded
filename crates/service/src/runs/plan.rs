//! Inspection plans from a published run: per district, the visits of a week within a capacity
//! ([`wagewatch_core::plan`]), with the sites and crews the run's relations give, firms inspected within
//! the skip period left out unless their probability rose since the previous run, and the audit slice drawn
//! at random from a seed. Written as CSV or Excel for the inspectors' week.

use std::collections::{BTreeMap, HashMap};

use rust_xlsxwriter::{Format, Workbook};
use wagewatch_core::contract::{Date, RegionCode};
use wagewatch_core::features::EntityType;
use wagewatch_core::plan::{plan_district, Firm, Plan, PlanError, Site, Target};
use wagewatch_core::regions::RegionNames;
use wagewatch_core::rng::Rng;

use super::export::{spreadsheet_safe, ExportError};
use super::{Happened, Relation, RunData, RunRow};

/// How to plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanRequest {
    /// The Monday (or any first day) of the week planned; not before the run's as-of date.
    pub week: Date,
    /// Visits per district in the week.
    pub capacity: usize,
    /// The share of the capacity reserved for the audit slice (drawn at random).
    pub audit_share: f64,
    /// A firm inspected within this many days before the week is not visited again ...
    pub skip_days: i32,
    /// ... unless its probability rose by more than this many points since the previous run.
    pub rise_points: f64,
    /// The audit slice's seed: the same run, request and seed give the same plan.
    pub seed: u64,
    /// Only this district (all districts of the run when absent).
    pub district: Option<RegionCode>,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanRequestError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the week of {week} lies before the run's as-of date {as_of}: plan from a newer run")]
    PastWeek { week: Date, as_of: Date },
    #[error("district {0} has no scored entity in this run")]
    EmptyDistrict(RegionCode),
}

/// One line of a plan, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanLine {
    pub district: RegionCode,
    pub order: usize,
    /// `site`, `firm` or `audit`.
    pub kind: &'static str,
    pub target_id: String,
    pub target_name: String,
    /// The firms the visit reaches first (ids).
    pub covers: Vec<String>,
    pub expected_yuan: f64,
    pub expected_workers: f64,
    pub probability: f64,
}

/// Whether an employer row is left out: inspected within the skip period before the week, and its
/// probability did not rise by more than the points since the previous run.
fn skipped(r: &RunRow, last_inspected: Option<Date>, req: &PlanRequest) -> bool {
    let recent = last_inspected.is_some_and(|d| req.week.days_since(d) <= req.skip_days);
    let rose = r.previous_score.is_some_and(|p| (r.score - p) * 100.0 > req.rise_points);
    recent && !rose
}

/// The plan of one district of a run.
fn district_plan(
    data: &RunData,
    district: RegionCode,
    req: &PlanRequest,
    last_inspected: &HashMap<&str, Date>,
) -> Result<Vec<PlanLine>, PlanRequestError> {
    let employers: Vec<&RunRow> =
        data.rows.iter().filter(|r| r.entity_type == EntityType::Employer && r.region == district).collect();
    let index: HashMap<&str, usize> = employers.iter().enumerate().map(|(i, r)| (r.entity_id.as_str(), i)).collect();
    let firms: Vec<Firm> = employers
        .iter()
        .map(|r| Firm {
            id: r.entity_id.clone(),
            expected_yuan: r.expected_unpaid_yuan.unwrap_or(0.0),
            expected_workers: r.expected_workers.unwrap_or(0.0),
            probability: r.score,
            band: r.band,
            skip: skipped(r, last_inspected.get(r.entity_id.as_str()).copied(), req),
        })
        .collect();
    let projects: Vec<&RunRow> =
        data.rows.iter().filter(|r| r.entity_type == EntityType::Project && r.region == district).collect();
    let mut covers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for l in data.links.iter().filter(|l| matches!(l.relation, Relation::GeneralContractor | Relation::Subcontractor)) {
        if let Some(&f) = index.get(l.employer_id.as_str()) {
            covers.entry(l.project_id.as_str()).or_default().push(f);
        }
    }
    let sites: Vec<Site> = projects
        .iter()
        .map(|p| Site {
            project_id: p.entity_id.clone(),
            probability: p.score,
            covers: covers.get(p.entity_id.as_str()).cloned().unwrap_or_default(),
        })
        .collect();
    if firms.is_empty() && sites.is_empty() {
        return Err(PlanRequestError::EmptyDistrict(district));
    }
    let seed = req.seed ^ u64::from(district.value());
    let plan = plan_district(&firms, &sites, req.capacity, req.audit_share, |left, k| {
        let mut rng = Rng::new(seed);
        let mut pool = left.to_vec();
        let mut out = Vec::with_capacity(k);
        while out.len() < k && !pool.is_empty() {
            out.push(pool.swap_remove(rng.index(pool.len())));
        }
        out
    })?;
    Ok(lines(district, &plan, &firms, &employers, &projects))
}

/// The plan's visits as lines: harm visits in order, then the audit slice.
fn lines(
    district: RegionCode,
    plan: &Plan,
    firms: &[Firm],
    employers: &[&RunRow],
    projects: &[&RunRow],
) -> Vec<PlanLine> {
    let mut out = Vec::new();
    for v in &plan.visits {
        let (kind, id, name, probability) = match &v.target {
            Target::Site(id) => {
                let p = projects.iter().find(|p| &p.entity_id == id);
                ("site", id.clone(), p.map_or(String::new(), |p| p.name.clone()), p.map_or(0.0, |p| p.score))
            }
            Target::Firm(f) => ("firm", firms[*f].id.clone(), employers[*f].name.clone(), firms[*f].probability),
        };
        out.push(PlanLine {
            district,
            order: out.len() + 1,
            kind,
            target_id: id,
            target_name: name,
            covers: v.newly_covered.iter().map(|&f| firms[f].id.clone()).collect(),
            expected_yuan: v.added_yuan,
            expected_workers: v.added_workers,
            probability,
        });
    }
    for &f in &plan.audit {
        out.push(PlanLine {
            district,
            order: out.len() + 1,
            kind: "audit",
            target_id: firms[f].id.clone(),
            target_name: employers[f].name.clone(),
            covers: vec![firms[f].id.clone()],
            expected_yuan: firms[f].expected_yuan,
            expected_workers: firms[f].expected_workers,
            probability: firms[f].probability,
        });
    }
    out
}

/// The plan of a run: each district's (or the one asked for), districts in code order.
pub fn plan(data: &RunData, req: &PlanRequest) -> Result<Vec<PlanLine>, PlanRequestError> {
    if req.week < data.record.as_of {
        return Err(PlanRequestError::PastWeek { week: req.week, as_of: data.record.as_of });
    }
    let mut last_inspected: HashMap<&str, Date> = HashMap::new();
    for e in data.events.iter().filter(|e| e.entity_type == EntityType::Employer) {
        if matches!(e.what, Happened::Inspection { .. }) {
            let slot = last_inspected.entry(e.entity_id.as_str()).or_insert(e.on);
            *slot = (*slot).max(e.on);
        }
    }
    let districts: Vec<RegionCode> = match req.district {
        Some(d) => vec![d],
        None => {
            let mut all: Vec<RegionCode> = data.rows.iter().map(|r| r.region).collect();
            all.sort();
            all.dedup();
            all
        }
    };
    let mut out = Vec::new();
    for d in districts {
        out.extend(district_plan(data, d, req, &last_inspected)?);
    }
    Ok(out)
}

const HEADERS: [(&str, &str); 9] = [
    ("district", "区县"),
    ("order", "序号"),
    ("kind", "检查方式"),
    ("target_id", "对象编号"),
    ("target_name", "名称"),
    ("covers", "覆盖企业"),
    ("expected_unpaid_yuan", "预计欠薪(元)"),
    ("expected_workers", "预计涉及工人"),
    ("score", "风险概率"),
];

/// A visit's kind as people read it, in Chinese and in English.
pub fn kind_texts(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "site" => ("工地检查", "site visit"),
        "firm" => ("企业检查", "firm visit"),
        _ => ("随机抽查", "drawn at random"),
    }
}

/// The plan as CSV (machine names, a BOM for spreadsheets) or Excel (Chinese headers, one sheet, districts
/// by `names`).
pub fn write(lines: &[PlanLine], names: &RegionNames, excel: bool) -> Result<Vec<u8>, ExportError> {
    if !excel {
        let enc = |e: csv::Error| ExportError::Encode { format: "csv", reason: e.to_string() };
        let mut out = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(HEADERS.iter().map(|h| h.0)).map_err(enc)?;
            for l in lines {
                w.write_record([
                    l.district.to_string(),
                    l.order.to_string(),
                    l.kind.to_string(),
                    spreadsheet_safe(&l.target_id).into_owned(),
                    spreadsheet_safe(&l.target_name).into_owned(),
                    spreadsheet_safe(&l.covers.join(";")).into_owned(),
                    format!("{:.2}", l.expected_yuan),
                    format!("{:.2}", l.expected_workers),
                    l.probability.to_string(),
                ])
                .map_err(enc)?;
            }
            w.flush().map_err(|e| ExportError::Encode { format: "csv", reason: e.to_string() })?;
        }
        return Ok(out);
    }
    let enc = |e: rust_xlsxwriter::XlsxError| ExportError::Encode { format: "xlsx", reason: e.to_string() };
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("检查计划").map_err(enc)?;
    let bold = Format::new().set_bold();
    let yuan = Format::new().set_num_format("#,##0");
    let percent = Format::new().set_num_format("0.0%");
    for (c, (_, zh)) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *zh, &bold).map_err(enc)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, names.label(l.district)).map_err(enc)?;
        sheet.write_number(row, 1, l.order as f64).map_err(enc)?;
        sheet.write_string(row, 2, kind_texts(l.kind).0).map_err(enc)?;
        sheet.write_string(row, 3, &l.target_id).map_err(enc)?;
        sheet.write_string(row, 4, &l.target_name).map_err(enc)?;
        sheet.write_string(row, 5, l.covers.join("、")).map_err(enc)?;
        sheet.write_number_with_format(row, 6, l.expected_yuan, &yuan).map_err(enc)?;
        sheet.write_number(row, 7, (l.expected_workers * 10.0).round() / 10.0).map_err(enc)?;
        sheet.write_number_with_format(row, 8, l.probability, &percent).map_err(enc)?;
    }
    for (c, width) in [18, 6, 10, 22, 30, 40, 14, 12, 10].iter().enumerate() {
        sheet.set_column_width(c as u16, *width).map_err(enc)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(enc)?;
    book.save_to_buffer().map_err(enc)
}

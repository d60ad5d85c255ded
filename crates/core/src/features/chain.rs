//! The subcontracting chain as of T: for each general contractor, its live projects, what their owners
//! owe it and which lack wage accounts or deposits; for each employer, its exposure to the projects it
//! works on (weighted by its wage bill there); for each project, the employers on site.

use crate::contract::Date;
use crate::ingest::tables::Dataset;

use super::alerts::{Alert, Alerts};
use super::progress::ProgressFacts;
use super::wages::WageAcc;

/// A general contractor's live projects.
#[derive(Clone, Debug, Default)]
pub(super) struct Contracted {
    /// Started, not yet ended projects.
    pub active: u32,
    /// Overdue progress payments and their denominators over live projects.
    pub progress: (f64, f64),
    /// The worst owner's overdue ratio over live projects.
    pub owner_max: f64,
    /// The most negative owner punctuality trend over live projects.
    pub owner_trend_min: f64,
    /// Wage-account and deposit alerts of its live projects.
    pub missing: Alerts,
}

/// An employer's exposure to the projects it worked on in the last 90 days.
#[derive(Clone, Debug, Default)]
pub(super) struct Exposure {
    pub weight: f64,
    pub progress: f64,
    pub no_account: f64,
    pub no_deposit: f64,
    pub owner_max: f64,
    pub owner_trend_min: f64,
    /// The worst arrears record (events in the last year) among its projects' general contractors.
    pub contractor_events_max: u32,
    pub projects: u32,
}

/// The chain's facts as of T.
pub(super) struct ChainFacts {
    /// Per employer, as general contractor.
    pub contracted: Vec<Contracted>,
    /// Per employer, as worker on projects.
    pub exposure: Vec<Exposure>,
    /// Per project: the employers with payroll on it in the last 90 days.
    pub crew: Vec<Vec<u32>>,
    /// Per employer: the failing owners (punctuality fallen by [`FAILING_TREND`] or more, or nothing paid
    /// for [`FAILING_DAYS`] days) of the projects it contracts (live) or worked on in the last 90 days,
    /// each once.
    pub owners_failing: Vec<Vec<u32>>,
}

/// A fall in an owner's punctuality that counts it as failing.
const FAILING_TREND: f64 = -0.3;
/// Days without paying any instalment that count an owner as failing.
const FAILING_DAYS: f64 = 120.0;

/// Whether project `p` started by T.
pub(super) fn started(ds: &Dataset, p: usize, t: Date) -> bool {
    ds.projects.start_date[p] <= t
}

/// Whether project `p` ended by T.
pub(super) fn ended_by(ds: &Dataset, p: usize, t: Date) -> bool {
    ds.projects.actual_end_date[p].is_some_and(|d| d <= t)
}

/// The chain's facts from the projects, their progress payments and each employer's wage footprint.
pub(super) fn chain_facts(
    ds: &Dataset,
    t: Date,
    progress: &ProgressFacts<'_>,
    employers: &[WageAcc],
    footprint: &[((u32, u32), i64)],
) -> ChainFacts {
    let (n_e, n_p) = (ds.employers.len(), ds.projects.len());
    let mut contracted = vec![Contracted::default(); n_e];
    let mut owners_failing: Vec<Vec<u32>> = vec![Vec::new(); n_e];
    let live_cutoff = t.add_days(-365);
    for p in (0..n_p).filter(|&p| started(ds, p, t)) {
        let c = &mut contracted[ds.projects.general_contractor[p].index()];
        let live = ds.projects.actual_end_date[p].is_none_or(|d| d > live_cutoff || d > t);
        if live {
            c.progress.0 += progress.overdue(p) as f64;
            c.progress.1 += progress.denominator(p);
            c.owner_max = c.owner_max.max(progress.owner_ratio(p));
            c.owner_trend_min = c.owner_trend_min.min(progress.owner_punctuality_trend(p));
            note_failing(&mut owners_failing[ds.projects.general_contractor[p].index()], ds, progress, p, t);
        }
        if !ended_by(ds, p, t) {
            c.active += 1;
            if !ds.projects.wage_account_opened[p] {
                c.missing.insert(Alert::NoWageAccount);
            }
            if ds.projects.guarantee_deposit[p].is_none() {
                c.missing.insert(Alert::NoGuaranteeDeposit);
            }
        }
    }
    let mut exposure = vec![Exposure::default(); n_e];
    let mut crew: Vec<Vec<u32>> = vec![Vec::new(); n_p];
    for &((e, p), w) in footprint {
        let (e, p) = (e as usize, p as usize);
        let w = w.max(1) as f64;
        let x = &mut exposure[e];
        x.weight += w;
        x.progress += w * progress.ratio(p);
        x.no_account += w * f64::from(u8::from(!ds.projects.wage_account_opened[p]));
        x.no_deposit += w * f64::from(u8::from(ds.projects.guarantee_deposit[p].is_none()));
        x.owner_max = x.owner_max.max(progress.owner_ratio(p));
        x.owner_trend_min = x.owner_trend_min.min(progress.owner_punctuality_trend(p));
        note_failing(&mut owners_failing[e], ds, progress, p, t);
        let gc = ds.projects.general_contractor[p].index();
        if gc != e {
            x.contractor_events_max = x.contractor_events_max.max(employers[gc].events_365);
        }
        x.projects += 1;
        crew[p].push(e as u32);
    }
    ChainFacts { contracted, exposure, crew, owners_failing }
}

/// Adds project `p`'s owner to `failing` when it is failing and not there yet.
fn note_failing(failing: &mut Vec<u32>, ds: &Dataset, progress: &ProgressFacts<'_>, p: usize, t: Date) {
    let Some(owner) = ds.projects.owner[p] else { return };
    let fails = progress.owner_punctuality_trend(p) <= FAILING_TREND
        || (progress.owner_has_paid(p) && progress.owner_days_since_paid(p, t) >= FAILING_DAYS);
    let o = owner.index() as u32;
    if fails && !failing.contains(&o) {
        failing.push(o);
    }
}

//! Inspection plans: for one district and week, the visits within a capacity that reach the most expected
//! unpaid wages. A visit to a site covers the project's general contractor and every crew on it; a visit to
//! a firm covers that firm. Harm is counted once per employer (a project's harm already counts against its
//! general contractor), so a plan never counts the same wages twice however many of its visits reach a
//! firm. Visits are chosen greedily by the harm they add (the best possible for such coverage problems up
//! to a factor of 1 - 1/e, and what an inspector can follow: the first visit is the most valuable). Part of
//! the capacity is reserved for the audit slice, drawn at random ([`crate::sampling`]); firms inspected
//! recently are skipped unless their risk rose since.

use crate::model::Band;

/// An employer a plan may reach.
#[derive(Clone, Debug, PartialEq)]
pub struct Firm {
    pub id: String,
    /// Expected unpaid wages in the horizon, yuan (0 when unknown).
    pub expected_yuan: f64,
    pub expected_workers: f64,
    pub probability: f64,
    pub band: Band,
    /// Inspected within the skip period, and its risk did not rise since: not visited again.
    pub skip: bool,
}

/// A site a plan may visit: the project and the firms a visit there covers (indices into the firms).
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub project_id: String,
    pub probability: f64,
    pub covers: Vec<usize>,
}

/// What a visit is to.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A site: the project id.
    Site(String),
    /// A firm on its own: the index into the firms.
    Firm(usize),
}

/// One planned visit, in the order they are worth.
#[derive(Clone, Debug, PartialEq)]
pub struct Visit {
    pub target: Target,
    /// The firms it reaches that no earlier visit of the plan reached.
    pub newly_covered: Vec<usize>,
    /// The expected unpaid wages and workers of those firms.
    pub added_yuan: f64,
    pub added_workers: f64,
}

/// A district's plan: the visits chosen for harm, then the audit slice's.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub visits: Vec<Visit>,
    /// Firms drawn at random for the audit slice (indices), each a visit of its own.
    pub audit: Vec<usize>,
    /// Expected unpaid wages and workers reached by the chosen visits.
    pub reached_yuan: f64,
    pub reached_workers: f64,
    /// The same of every firm of the district (what a plan without limit would reach).
    pub district_yuan: f64,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("a capacity of 0 visits plans nothing: give at least 1")]
    NoCapacity,
    #[error("the audit share must lie in 0..1, not {0}")]
    BadShare(f64),
}

/// The visits a candidate would add: the firms it covers not yet covered nor skipped.
fn gain(covers: &[usize], firms: &[Firm], covered: &[bool]) -> (f64, f64, Vec<usize>) {
    let new: Vec<usize> = covers.iter().copied().filter(|&f| !covered[f] && !firms[f].skip).collect();
    let yuan = new.iter().map(|&f| firms[f].expected_yuan).sum();
    let workers = new.iter().map(|&f| firms[f].expected_workers).sum();
    (yuan, workers, new)
}

/// The plan of one district: `capacity` visits, `audit_share` of them (rounded) reserved for firms drawn
/// at random by `draw_audit` among those not otherwise visited (with any capacity the harm leaves unused),
/// the rest chosen greedily among the sites and the firms on their own. Ties go to the higher probability, then to the earlier candidate.
pub fn plan_district(
    firms: &[Firm],
    sites: &[Site],
    capacity: usize,
    audit_share: f64,
    draw_audit: impl FnOnce(&[usize], usize) -> Vec<usize>,
) -> Result<Plan, PlanError> {
    if capacity == 0 {
        return Err(PlanError::NoCapacity);
    }
    if !(0.0..1.0).contains(&audit_share) {
        return Err(PlanError::BadShare(audit_share));
    }
    let reserved = (capacity as f64 * audit_share).round() as usize;
    let mut covered = vec![false; firms.len()];
    // Candidates: every site, then every firm on its own (a firm with no site, such as a factory).
    let mut candidates: Vec<(Target, Vec<usize>, f64)> =
        sites.iter().map(|s| (Target::Site(s.project_id.clone()), s.covers.clone(), s.probability)).collect();
    candidates.extend(firms.iter().enumerate().map(|(i, f)| (Target::Firm(i), vec![i], f.probability)));
    let mut visits = Vec::new();
    while visits.len() < capacity - reserved {
        let best = candidates
            .iter()
            .enumerate()
            .map(|(k, (_, covers, p))| (k, gain(covers, firms, &covered), *p))
            .filter(|(_, (yuan, _, new), _)| !new.is_empty() && *yuan > 0.0)
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(a.2.total_cmp(&b.2)).then(b.0.cmp(&a.0)));
        let Some((k, (added_yuan, added_workers, newly_covered), _)) = best else { break };
        for &f in &newly_covered {
            covered[f] = true;
        }
        visits.push(Visit { target: candidates[k].0.clone(), newly_covered, added_yuan, added_workers });
    }
    let left: Vec<usize> = (0..firms.len()).filter(|&f| !covered[f] && !firms[f].skip).collect();
    // The reserve, and whatever the harm left unused, goes to the audit slice.
    let audit_size = (capacity - visits.len()).min(left.len());
    let mut audit = draw_audit(&left, audit_size);
    audit.retain(|f| left.contains(f));
    audit.truncate(audit_size);
    Ok(Plan {
        reached_yuan: visits.iter().map(|v| v.added_yuan).sum(),
        reached_workers: visits.iter().map(|v| v.added_workers).sum(),
        district_yuan: firms.iter().map(|f| f.expected_yuan).sum(),
        visits,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firm(id: &str, yuan: f64, probability: f64) -> Firm {
        Firm {
            id: id.into(),
            expected_yuan: yuan,
            expected_workers: yuan / 10_000.0,
            probability,
            band: Band::Orange,
            skip: false,
        }
    }

    #[test]
    fn a_plan_reaches_the_most_harm_once_and_keeps_the_audit_share() {
        // A general contractor G (index 0) with two crews on site S1 (1, 2), a factory F (3) alone, and a
        // crew (2) also on site S2; firm 4 was inspected last week and did not rise.
        let mut firms = vec![
            firm("G", 50_000.0, 0.2),
            firm("C1", 40_000.0, 0.5),
            firm("C2", 30_000.0, 0.4),
            firm("F", 100_000.0, 0.6),
            firm("R", 500_000.0, 0.9),
        ];
        firms[4].skip = true;
        let sites = vec![
            Site { project_id: "S1".into(), probability: 0.3, covers: vec![0, 1, 2] },
            Site { project_id: "S2".into(), probability: 0.3, covers: vec![0, 2, 4] },
        ];
        let plan = plan_district(&firms, &sites, 2, 0.0, |_, _| Vec::new()).unwrap();
        // S1 reaches 120,000 yuan (G, C1, C2) before F's 100,000; then F. S2 adds nothing new (G and C2
        // covered, R skipped), so the same wages are never counted twice.
        let targets: Vec<&Target> = plan.visits.iter().map(|v| &v.target).collect();
        assert_eq!(targets, vec![&Target::Site("S1".into()), &Target::Firm(3)]);
        assert_eq!(plan.reached_yuan, 220_000.0);
        assert_eq!(plan.district_yuan, 720_000.0);
        // With room for more, nothing already covered or skipped is planned again.
        let roomy = plan_district(&firms, &sites, 10, 0.0, |_, _| Vec::new()).unwrap();
        assert_eq!(roomy.visits.len(), 2);
        // A quarter of 4 visits is reserved for the audit slice, drawn among the firms not visited.
        let drawn =
            plan_district(&firms, &sites, 4, 0.25, |left, k| left.iter().rev().take(k).copied().collect()).unwrap();
        assert_eq!(drawn.visits.len(), 2, "the plan runs out of harm before the reserve");
        assert!(drawn.audit.iter().all(|f| !drawn.visits.iter().any(|v| v.newly_covered.contains(f))));
        assert!(drawn.audit.iter().all(|f| !firms[*f].skip));
        // Bad requests are clear errors.
        assert_eq!(plan_district(&firms, &sites, 0, 0.1, |_, _| Vec::new()), Err(PlanError::NoCapacity));
        assert_eq!(plan_district(&firms, &sites, 3, 1.5, |_, _| Vec::new()), Err(PlanError::BadShare(1.5)));
        // A district with nothing scored plans no visit.
        let empty = plan_district(&[], &[], 5, 0.1, |_, _| Vec::new()).unwrap();
        assert!(empty.visits.is_empty() && empty.audit.is_empty());
    }
}

//! Backtests across worlds: one cell per world, test date and entity type, with wagewatch's figures beside
//! each reference pipeline's, the verdict against the best of them, and the worst world as well as the mean.
//!
//! A cell passes when wagewatch's average precision is at or above the best reference's, its AUC within
//! [`AUC_TOLERANCE`] of the best or above, and its Brier score at or below the best (each figure against
//! the best reference on that figure).

use std::fmt::Write as _;

use crate::contract::Date;
use crate::features::EntityType;

/// How far below the best reference's AUC a cell's AUC may fall and still pass.
pub const AUC_TOLERANCE: f64 = 0.005;

/// The three figures a world is judged on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    pub average_precision: f64,
    pub roc_auc: f64,
    pub brier: f64,
}

/// One world (scenario and seed), test date and entity type.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Such as `developer_collapse seed 21`.
    pub world: String,
    pub as_of: Date,
    pub entity_type: EntityType,
    pub ours: Figures,
    /// Each reference pipeline's figures, by name (none when the references were not run).
    pub references: Vec<(String, Figures)>,
}

/// wagewatch against the best reference on each figure: positive margins are better for wagewatch (a
/// Brier margin is the reference's Brier less ours).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    pub ap_margin: f64,
    pub auc_margin: f64,
    pub brier_margin: f64,
}

impl Verdict {
    /// Whether the cell meets all three conditions.
    pub fn passes(&self) -> bool {
        self.ap_margin >= 0.0 && self.auc_margin >= -AUC_TOLERANCE && self.brier_margin >= 0.0
    }
}

impl Cell {
    /// The best reference figures, each taken over the references separately; none without references.
    pub fn best_reference(&self) -> Option<Figures> {
        let refs = self.references.iter().map(|(_, f)| f);
        let first = self.references.first()?.1;
        Some(refs.fold(first, |best, f| Figures {
            average_precision: best.average_precision.max(f.average_precision),
            roc_auc: best.roc_auc.max(f.roc_auc),
            brier: best.brier.min(f.brier),
        }))
    }

    /// wagewatch against the best reference; none without references.
    pub fn verdict(&self) -> Option<Verdict> {
        let best = self.best_reference()?;
        Some(Verdict {
            ap_margin: self.ours.average_precision - best.average_precision,
            auc_margin: self.ours.roc_auc - best.roc_auc,
            brier_margin: best.brier - self.ours.brier,
        })
    }

    /// What ranks the worst world: the AP margin when there are references, else wagewatch's own AP.
    fn standing(&self) -> f64 {
        self.verdict().map_or(self.ours.average_precision, |v| v.ap_margin)
    }
}

/// The cell of `entity_type` that stands worst (see [`Cell`]'s standing): the worst world at a glance.
pub fn worst(cells: &[Cell], entity_type: EntityType) -> Option<&Cell> {
    cells.iter().filter(|c| c.entity_type == entity_type).min_by(|a, b| a.standing().total_cmp(&b.standing()))
}

/// The mean of wagewatch's figures and of the best references' over the cells of `entity_type`.
pub fn mean(cells: &[Cell], entity_type: EntityType) -> Option<(Figures, Option<Figures>)> {
    let of_type: Vec<&Cell> = cells.iter().filter(|c| c.entity_type == entity_type).collect();
    let average = |figures: &[Figures]| {
        let n = figures.len() as f64;
        (n > 0.0).then(|| Figures {
            average_precision: figures.iter().map(|f| f.average_precision).sum::<f64>() / n,
            roc_auc: figures.iter().map(|f| f.roc_auc).sum::<f64>() / n,
            brier: figures.iter().map(|f| f.brier).sum::<f64>() / n,
        })
    };
    let ours: Vec<Figures> = of_type.iter().map(|c| c.ours).collect();
    let best: Vec<Figures> = of_type.iter().filter_map(|c| c.best_reference()).collect();
    let best = if best.len() == ours.len() { average(&best) } else { None };
    average(&ours).map(|o| (o, best))
}

/// The Markdown page: every cell, how many pass, and per entity type the worst world and the mean.
pub fn markdown(cells: &[Cell]) -> String {
    let mut md = String::from("# Backtest across worlds\n\n");
    let judged = cells.iter().filter(|c| c.verdict().is_some()).count();
    let passing = cells.iter().filter(|c| c.verdict().is_some_and(|v| v.passes())).count();
    if judged > 0 {
        let _ = writeln!(
            md,
            "{passing} of {judged} cells meet all three conditions: average precision at or above the best \
             reference, AUC within {AUC_TOLERANCE} of it or above, Brier score at or below it.\n"
        );
    }
    md.push_str(&cell_table(cells));
    for t in EntityType::ALL {
        let Some(w) = worst(cells, t) else { continue };
        let _ = write!(
            md,
            "\n**{}s, worst world:** {} as of {}: AP {:.3}",
            t.code(),
            w.world,
            w.as_of,
            w.ours.average_precision
        );
        if let Some(v) = w.verdict() {
            let _ = write!(md, " ({:+.3} against the best reference)", v.ap_margin);
        }
        if let Some((ours, best)) = mean(cells, t) {
            let _ = write!(
                md,
                "; mean over {} cells: AP {:.3} AUC {:.3} Brier {:.4}",
                count(cells, t),
                ours.average_precision,
                ours.roc_auc,
                ours.brier
            );
            if let Some(b) = best {
                let _ = write!(
                    md,
                    " (best reference AP {:.3} AUC {:.3} Brier {:.4})",
                    b.average_precision, b.roc_auc, b.brier
                );
            }
        }
        md.push_str(".\n");
    }
    md
}

fn count(cells: &[Cell], t: EntityType) -> usize {
    cells.iter().filter(|c| c.entity_type == t).count()
}

fn cell_table(cells: &[Cell]) -> String {
    let names: Vec<&str> =
        cells.first().map(|c| c.references.iter().map(|(n, _)| n.as_str()).collect()).unwrap_or_default();
    let mut md = String::from("| world | as of | entity | wagewatch AP / AUC / Brier |");
    for n in &names {
        let _ = write!(md, " {n} AP / AUC / Brier |");
    }
    md.push_str(if names.is_empty() { "\n|---|---|---|---|\n" } else { " passes |\n|---|---|---|---|" });
    if !names.is_empty() {
        md.push_str(&"---|".repeat(names.len() + 1));
        md.push('\n');
    }
    for c in cells {
        let _ = write!(md, "| {} | {} | {} | {} |", c.world, c.as_of, c.entity_type.code(), figures(&c.ours));
        for (_, f) in &c.references {
            let _ = write!(md, " {} |", figures(f));
        }
        if let Some(v) = c.verdict() {
            let _ = write!(md, " {} |", if v.passes() { "yes" } else { "no" });
        }
        md.push('\n');
    }
    md
}

fn figures(f: &Figures) -> String {
    format!("{:.3} / {:.3} / {:.4}", f.average_precision, f.roc_auc, f.brier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(ap: f64, auc: f64, brier: f64) -> Figures {
        Figures { average_precision: ap, roc_auc: auc, brier }
    }

    fn cell(world: &str, t: EntityType, ours: Figures, refs: &[Figures]) -> Cell {
        Cell {
            world: world.into(),
            as_of: Date::parse("2026-06-01").unwrap(),
            entity_type: t,
            ours,
            references: refs.iter().enumerate().map(|(i, r)| (format!("ref{i}"), *r)).collect(),
        }
    }

    /// One cell against its references: whether it passes, and its AP margin.
    fn check(ours: Figures, refs: &[Figures], passes: Option<bool>, ap_margin: Option<f64>) {
        let c = cell("w", EntityType::Employer, ours, refs);
        let v = c.verdict();
        assert_eq!(v.map(|v| v.passes()), passes, "{ours:?} against {refs:?}");
        match (v, ap_margin) {
            (Some(v), Some(m)) => assert!((v.ap_margin - m).abs() < 1e-12, "{} vs {m}", v.ap_margin),
            (None, None) => {}
            (v, m) => panic!("verdict {v:?}, expected margin {m:?}"),
        }
    }

    #[test]
    fn a_cell_passes_against_the_best_reference_on_each_figure() {
        // Better than both.
        check(f(0.5, 0.9, 0.03), &[f(0.4, 0.85, 0.04), f(0.45, 0.88, 0.035)], Some(true), Some(0.05));
        // AP ties the best: passes; AUC 0.004 below the best: within the tolerance.
        check(f(0.45, 0.876, 0.03), &[f(0.45, 0.88, 0.04)], Some(true), Some(0.0));
        // AUC 0.006 below: fails.
        check(f(0.5, 0.874, 0.03), &[f(0.45, 0.88, 0.04)], Some(false), Some(0.05));
        // Each figure against the best on it: one reference's AP and another's Brier.
        check(f(0.5, 0.9, 0.035), &[f(0.45, 0.88, 0.034), f(0.49, 0.8, 0.05)], Some(false), Some(0.01));
        check(f(0.48, 0.9, 0.03), &[f(0.45, 0.88, 0.034), f(0.49, 0.8, 0.05)], Some(false), Some(-0.01));
        // No references: no verdict.
        check(f(0.5, 0.9, 0.03), &[], None, None);
    }

    #[test]
    fn the_worst_world_is_the_smallest_margin_and_the_mean_covers_every_cell() {
        let cells = vec![
            cell("a", EntityType::Employer, f(0.6, 0.9, 0.03), &[f(0.5, 0.9, 0.03)]),
            cell("b", EntityType::Employer, f(0.3, 0.8, 0.05), &[f(0.32, 0.8, 0.05)]),
            cell("c", EntityType::Employer, f(0.2, 0.8, 0.05), &[f(0.1, 0.8, 0.05)]),
            cell("d", EntityType::Project, f(0.1, 0.7, 0.05), &[f(0.2, 0.7, 0.05)]),
        ];
        assert_eq!(worst(&cells, EntityType::Employer).map(|c| c.world.as_str()), Some("b"));
        assert_eq!(worst(&cells, EntityType::Project).map(|c| c.world.as_str()), Some("d"));
        let (ours, best) = mean(&cells, EntityType::Employer).unwrap();
        assert!((ours.average_precision - 1.1 / 3.0).abs() < 1e-12);
        assert!((best.unwrap().average_precision - 0.92 / 3.0).abs() < 1e-12);
        let md = markdown(&cells);
        assert!(md.contains("2 of 4 cells meet all three conditions"), "{md}");
        assert!(md.contains("**employers, worst world:** b as of 2026-06-01: AP 0.300 (-0.020"), "{md}");
        // Without references the worst world is the lowest AP, and nothing claims to pass.
        let own: Vec<Cell> = cells.iter().map(|c| Cell { references: vec![], ..c.clone() }).collect();
        assert_eq!(worst(&own, EntityType::Employer).map(|c| c.world.as_str()), Some("c"));
        assert!(!markdown(&own).contains("cells meet"));
    }
}

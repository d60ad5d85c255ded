//! Ranking and calibration metrics for binary events: ROC AUC, average precision, precision and recall at
//! k, Brier score, log loss, an equal-mass reliability table and lift of the top decile. Pure functions of
//! scores and outcomes.
//!
//! Equal scores are ties where the metric is defined over thresholds, as the reference judge
//! (scikit-learn) computes them: ROC AUC gives tied entities their average rank, and average precision
//! takes tied entities in together at one threshold. Precision and recall at k take the first k by score,
//! ties by position, as a watchlist's ranks do.

/// Indices ordered by descending score (ties by index).
fn order_desc(score: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order
}

/// The area under the ROC curve (0.5 when undefined).
pub fn roc_auc(score: &[f64], y: &[bool]) -> f64 {
    let pos = y.iter().filter(|v| **v).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    // Mann-Whitney with average ranks for ties.
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if y[k] {
                rank_sum += avg_rank;
            }
        }
        i = j + 1;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Average precision: the precision at each distinct score, weighted by the share of events that score
/// adds to recall (scikit-learn's `average_precision_score`). Entities with equal scores enter together, so
/// the figure does not depend on how ties happen to be ordered.
pub fn average_precision(score: &[f64], y: &[bool]) -> f64 {
    let pos = y.iter().filter(|v| **v).count();
    if pos == 0 {
        return 0.0;
    }
    let order = order_desc(score);
    let (mut hits, mut seen, mut sum) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < order.len() {
        let threshold = score[order[i]];
        let before = hits;
        while i < order.len() && score[order[i]] == threshold {
            hits += usize::from(y[order[i]]);
            seen += 1;
            i += 1;
        }
        sum += (hits - before) as f64 * (hits as f64 / seen as f64);
    }
    sum / pos as f64
}

/// Precision and recall among the top `k` scores.
pub fn precision_recall_at(score: &[f64], y: &[bool], k: usize) -> (f64, f64) {
    let k = k.min(score.len());
    let pos = y.iter().filter(|v| **v).count();
    if k == 0 {
        return (0.0, 0.0);
    }
    let hits = order_desc(score).into_iter().take(k).filter(|&i| y[i]).count();
    (hits as f64 / k as f64, if pos == 0 { 0.0 } else { hits as f64 / pos as f64 })
}

/// The mean squared error of probabilities.
pub fn brier(prob: &[f64], y: &[bool]) -> f64 {
    if prob.is_empty() {
        return 0.0;
    }
    prob.iter().zip(y).map(|(p, v)| (p - f64::from(u8::from(*v))).powi(2)).sum::<f64>() / prob.len() as f64
}

/// The mean negative log-likelihood of probabilities (clipped away from 0 and 1).
pub fn log_loss(prob: &[f64], y: &[bool]) -> f64 {
    if prob.is_empty() {
        return 0.0;
    }
    prob.iter()
        .zip(y)
        .map(|(p, v)| {
            let p = p.clamp(1e-12, 1.0 - 1e-12);
            if *v {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / prob.len() as f64
}

/// One bin of a reliability table.
#[derive(Clone, Debug, PartialEq)]
pub struct ReliabilityBin {
    pub entities: usize,
    pub mean_probability: f64,
    pub observed_rate: f64,
}

/// Equal-mass reliability table: entities sorted by probability, cut into `bins` bins of equal size.
pub fn reliability(prob: &[f64], y: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    let n = prob.len();
    if n == 0 || bins == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| prob[a].total_cmp(&prob[b]).then(a.cmp(&b)));
    (0..bins)
        .filter_map(|b| {
            let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
            (hi > lo).then(|| {
                let slice = &order[lo..hi];
                ReliabilityBin {
                    entities: slice.len(),
                    mean_probability: slice.iter().map(|&i| prob[i]).sum::<f64>() / slice.len() as f64,
                    observed_rate: slice.iter().filter(|&&i| y[i]).count() as f64 / slice.len() as f64,
                }
            })
        })
        .collect()
}

/// Bins smaller than this are too noisy to judge calibration by (the binomial standard error of a rate
/// near 0.5 is 0.035 at 200 entities).
pub const RELIABILITY_MIN_ENTITIES: usize = 200;

/// The largest gap between mean probability and observed rate over the bins of at least `min_entities`
/// entities; `None` when no bin is that large.
pub fn worst_reliability_gap(table: &[ReliabilityBin], min_entities: usize) -> Option<f64> {
    table
        .iter()
        .filter(|b| b.entities >= min_entities)
        .map(|b| (b.mean_probability - b.observed_rate).abs())
        .reduce(f64::max)
}

/// The event rate of the top decile divided by the overall rate.
pub fn lift_top_decile(score: &[f64], y: &[bool]) -> f64 {
    let n = score.len();
    let pos = y.iter().filter(|v| **v).count();
    if n == 0 || pos == 0 {
        return 0.0;
    }
    let k = n.div_ceil(10);
    let (precision, _) = precision_recall_at(score, y, k);
    precision / (pos as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use linfa::dataset::Pr;
    use linfa::prelude::BinaryClassification;

    use super::*;
    use crate::rng::Rng;

    #[test]
    fn roc_auc_agrees_with_linfas_roc() {
        // Probabilities on a grid of 0.05 (offset by 0.025), so that many are tied, exactly in f32 too. The
        // grid avoids 0: linfa 0.8's curve starts at the first score unequal to 0, so a group scored exactly
        // 0 would lose its segment there.
        let mut rng = Rng::new(3);
        let (mut score, mut y) = (Vec::new(), Vec::new());
        for _ in 0..5_000 {
            let p = ((rng.uniform() * 20.0).floor() + 0.5) / 20.0;
            score.push(p);
            y.push(rng.uniform() < 0.1 + 0.5 * p);
        }
        let probabilities: Vec<Pr> = score.iter().map(|p| Pr::new(*p as f32)).collect();
        let linfa_auc = probabilities.as_slice().roc(&y).unwrap().area_under_curve();
        let ours = roc_auc(&score, &y);
        assert!((ours - f64::from(linfa_auc)).abs() < 1e-5, "ours {ours}, linfa {linfa_auc}");
        assert!(ours > 0.6, "{ours}");
    }

    #[test]
    fn metrics_on_a_small_known_case() {
        let s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let y = [true, false, true, false, false, false];
        assert!((roc_auc(&s, &y) - 7.0 / 8.0).abs() < 1e-12);
        assert!((average_precision(&s, &y) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // Tied scores enter together, whatever their order: {0.9: event}, {0.5 x3: one event}, {0.1: event}.
        let tied = [0.5, 0.9, 0.5, 0.1, 0.5];
        for y in [[false, true, true, true, false], [true, true, false, true, false], [false, true, false, true, true]]
        {
            // Precision 1 at 0.9; 2/4 after the tie (recall +1/3); 3/5 at 0.1 (recall +1/3).
            let expected = (1.0 + 0.5 + 0.6) / 3.0;
            assert!((average_precision(&tied, &y) - expected).abs() < 1e-12, "{y:?}");
        }
        assert_eq!(precision_recall_at(&s, &y, 2), (0.5, 0.5));
        assert!((lift_top_decile(&s, &y) - 3.0).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), 0.5);
        let table = reliability(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true], 2);
        assert_eq!(table.len(), 2);
        assert!((table[1].observed_rate - 1.0).abs() < 1e-12);
        assert!((brier(&[1.0, 0.0], &[true, false])).abs() < 1e-12);
        let bin =
            |entities, mean_probability, observed_rate| ReliabilityBin { entities, mean_probability, observed_rate };
        let table = [bin(300, 0.10, 0.12), bin(199, 0.50, 0.20), bin(200, 0.40, 0.35)];
        assert_eq!(worst_reliability_gap(&table, 200).map(|g| (g * 1e6).round()), Some(50_000.0));
        assert_eq!(worst_reliability_gap(&table[1..2], 200), None);
    }
}

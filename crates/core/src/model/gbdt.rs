//! Gradient-boosted decision trees for a binary event, a linfa model end to end: unchecked params
//! ([`GbdtParams`]) checked into [`GbdtValidParams`], which implement `linfa::traits::Fit` on a linfa
//! `Dataset` (sample weights honoured) and give a fitted [`Gbdt`], which implements
//! `linfa::traits::PredictInplace` (each row's raw score, the log-odds of an event). Early stopping on a
//! held-out set is [`EarlyStopping`], checked params with a validation dataset, which fits the same way and
//! also returns the validation loss after every round.
//!
//! linfa 0.8's own tree ensembles give labels, not probabilities, and do not serialise, so the ensemble is
//! written here: second-order boosting of the logistic loss on histogram-binned features (up to 255 bins a
//! feature, a bin of its own for a value as common as a bin), leaf-wise trees (best split first) with the
//! parent-minus-sibling histogram trick, row and feature subsampling, and per-feature contributions (the
//! change of node value along each decision path) for reasons.

use linfa::dataset::{AsSingleTargets, DatasetBase};
use linfa::traits::{Fit, PredictInplace};
use linfa::ParamGuard;
use ndarray::{Array1, ArrayBase, ArrayView1, ArrayView2, Data, Ix2};
use serde::{Deserialize, Serialize};

use super::{check_finite, ModelError};
use crate::rng::SplitMix64;

/// The seed rows and features are sampled with, unless another is given ([`GbdtParams::seed`]).
pub const DEFAULT_SEED: u64 = 17;

/// Boosting hyperparameters, unchecked.
#[derive(Clone, Debug, PartialEq)]
pub struct GbdtParams(GbdtValidParams);

/// Boosting hyperparameters that passed [`ParamGuard::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct GbdtValidParams {
    pub trees: usize,
    pub learning_rate: f64,
    pub max_depth: usize,
    /// Leaves per tree: trees grow leaf-wise, best split first.
    pub max_leaves: usize,
    pub min_leaf_rows: usize,
    pub min_leaf_hessian: f64,
    pub l2: f64,
    pub row_fraction: f64,
    pub feature_fraction: f64,
    pub max_bins: usize,
    pub seed: u64,
    /// With a validation set, stop after this many rounds without a better validation loss.
    pub patience: usize,
    /// Per feature: `1` where the score may only rise with the feature, `-1` where it may only fall, `0`
    /// where it is free; empty, every feature is free. Enforced as LightGBM's basic method does: a split on
    /// a constrained feature whose leaves go the wrong way is refused, and the subtrees on either side are
    /// bounded by the midpoint of the two leaves, so that no later split reverses the order.
    pub monotone: Vec<i8>,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams(GbdtValidParams {
            trees: 1000,
            learning_rate: 0.03,
            max_depth: 8,
            max_leaves: 15,
            min_leaf_rows: 40,
            min_leaf_hessian: 0.5,
            l2: 1.0,
            row_fraction: 0.8,
            feature_fraction: 0.8,
            max_bins: 255,
            seed: DEFAULT_SEED,
            patience: 60,
            monotone: Vec::new(),
        })
    }
}

impl GbdtParams {
    /// The seed rows and features are sampled with.
    pub fn seed_value(&self) -> u64 {
        self.0.seed
    }

    /// The number of boosting rounds.
    pub fn trees(mut self, n: usize) -> Self {
        self.0.trees = n;
        self
    }

    /// At least `n` leaves per tree.
    pub fn at_least_leaves(mut self, n: usize) -> Self {
        self.0.max_leaves = self.0.max_leaves.max(n);
        self
    }

    /// The shrinkage applied to every tree.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.0.learning_rate = rate;
        self
    }

    /// The deepest a tree may grow.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.0.max_depth = depth;
        self
    }

    /// The fewest training rows a leaf may hold.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.0.min_leaf_rows = rows;
        self
    }

    /// The share of rows each tree sees.
    pub fn row_fraction(mut self, fraction: f64) -> Self {
        self.0.row_fraction = fraction;
        self
    }

    /// The share of features each tree may split on.
    pub fn feature_fraction(mut self, fraction: f64) -> Self {
        self.0.feature_fraction = fraction;
        self
    }

    /// Leaves per tree.
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.0.max_leaves = leaves;
        self
    }

    /// The L2 penalty on leaf values.
    pub fn l2(mut self, l2: f64) -> Self {
        self.0.l2 = l2;
        self
    }

    /// The smallest sum of hessians a leaf may hold.
    pub fn min_leaf_hessian(mut self, hessian: f64) -> Self {
        self.0.min_leaf_hessian = hessian;
        self
    }

    /// The direction each feature must move the score in (`1` up, `-1` down, `0` free), one per feature.
    pub fn monotone(mut self, directions: Vec<i8>) -> Self {
        self.0.monotone = directions;
        self
    }

    /// The seed of the subsampling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for GbdtParams {
    type Checked = GbdtValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&GbdtValidParams, ModelError> {
        let p = &self.0;
        let bad = |reason: &str| Err(ModelError::InvalidParams { reason: reason.to_string() });
        if p.trees == 0 {
            return bad("trees must be at least 1");
        }
        if !(p.learning_rate > 0.0 && p.learning_rate <= 1.0) {
            return bad("learning_rate must be in (0, 1]");
        }
        if p.max_depth == 0 || p.max_depth > 12 {
            return bad("max_depth must be in 1..=12");
        }
        if p.max_leaves < 2 {
            return bad("max_leaves must be at least 2");
        }
        let fraction = |f: f64| f > 0.0 && f <= 1.0;
        if !fraction(p.row_fraction) || !fraction(p.feature_fraction) {
            return bad("row_fraction and feature_fraction must be in (0, 1]");
        }
        if !(2..=256).contains(&p.max_bins) {
            return bad("max_bins must be in 2..=256");
        }
        if p.l2 < 0.0 || p.min_leaf_hessian < 0.0 {
            return bad("l2 and min_leaf_hessian must not be negative");
        }
        if p.monotone.iter().any(|d| !(-1..=1).contains(d)) {
            return bad("monotone directions must be -1, 0 or 1");
        }
        Ok(p)
    }

    fn check(self) -> Result<GbdtValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// One node of a tree: a split (`feature` < `u16::MAX`) or a leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The feature split on, or `u16::MAX` for a leaf.
    pub feature: u16,
    /// Rows with `x[feature] <= threshold` go left.
    pub threshold: f64,
    pub left: u32,
    pub right: u32,
    /// The node's value (log-odds contribution, learning rate applied); a leaf's is its prediction.
    pub value: f64,
}

/// A fitted boosted ensemble.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gbdt {
    /// The initial log-odds.
    pub base_score: f64,
    /// Trees as flat node lists; node 0 is the root.
    pub trees: Vec<Vec<Node>>,
    pub n_features: usize,
}

const LEAF: u16 = u16::MAX;

impl Gbdt {
    /// The raw score (log-odds) of one row.
    pub fn raw_score(&self, x: ArrayView1<f64>) -> f64 {
        self.trees.iter().fold(self.base_score, |s, tree| s + tree_value(tree, x))
    }

    /// Per-feature contributions to the raw score of one row (they sum, with the returned bias, to the score).
    pub fn contributions(&self, x: ArrayView1<f64>) -> (f64, Vec<f64>) {
        let mut contrib = vec![0.0; self.n_features];
        let bias = self.contributions_into(x, &mut contrib);
        (bias, contrib)
    }

    /// [`Gbdt::contributions`] into a buffer of `n_features` zeros; returns the bias.
    pub fn contributions_into(&self, x: ArrayView1<f64>, contrib: &mut [f64]) -> f64 {
        let mut bias = self.base_score;
        for tree in &self.trees {
            let mut n = 0usize;
            bias += tree[0].value;
            loop {
                let node = &tree[n];
                if node.feature == LEAF {
                    break;
                }
                let next = if x[node.feature as usize] <= node.threshold { node.left } else { node.right } as usize;
                contrib[node.feature as usize] += tree[next].value - node.value;
                n = next;
            }
        }
        bias
    }

    /// The mean of `members`' raw scores as one model: their trees in turn, each node's value divided by the
    /// number of members, and the mean base score. Contributions and monotone constraints carry over, since
    /// a mean of sums is a sum of scaled terms. `members` must not be empty.
    pub fn mean_of(members: Vec<Gbdt>) -> Gbdt {
        let k = members.len() as f64;
        assert!(k > 0.0, "a mean of no models");
        let n_features = members[0].n_features;
        let base_score = members.iter().map(|m| m.base_score).sum::<f64>() / k;
        let mut trees: Vec<Vec<Node>> = members.into_iter().flat_map(|m| m.trees).collect();
        for node in trees.iter_mut().flatten() {
            node.value /= k;
        }
        Gbdt { base_score, trees, n_features }
    }

    /// Keeps only the first `n` trees.
    pub fn truncate(&mut self, n: usize) {
        self.trees.truncate(n);
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The bin of value `x` under a feature's `edges`: the number of edges below it.
fn bin_of(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|e| *e < x)
}

/// Bin edges per feature (see [`bin_of`]).
fn bin_edges(x: ArrayView2<f64>, max_bins: usize) -> Vec<Vec<f64>> {
    (0..x.ncols()).map(|j| column_edges(x.column(j).iter().copied().collect(), max_bins)).collect()
}

/// The bin edges of one feature, midway between distinct values. With more distinct values than bins, a
/// value held by at least 1/`max_bins` of the rows (the zero of a count that is mostly zero) gets a bin of
/// its own and the other values share the remaining bins by equal counts, so a mostly-zero feature still
/// gets fine bins over its non-zero tail, where the events are.
fn column_edges(mut v: Vec<f64>, max_bins: usize) -> Vec<f64> {
    v.sort_unstable_by(f64::total_cmp);
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for x in v {
        match distinct.last_mut() {
            Some((d, c)) if *d == x => *c += 1,
            _ => distinct.push((x, 1)),
        }
    }
    let mid = |a: f64, b: f64| a + (b - a) / 2.0;
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| mid(w[0].0, w[1].0)).collect();
    }
    let n: usize = distinct.iter().map(|d| d.1).sum();
    let heavy = |c: usize| c * max_bins >= n;
    let (heavy_values, heavy_rows) = distinct.iter().filter(|d| heavy(d.1)).fold((0, 0), |(k, r), d| (k + 1, r + d.1));
    let light_bins = max_bins.saturating_sub(heavy_values).max(1);
    let mut per_bin = (n - heavy_rows) as f64 / light_bins as f64;
    loop {
        let mut edges = Vec::with_capacity(max_bins);
        let mut filled = 0usize;
        for w in distinct.windows(2) {
            let ((x, c), (next, next_c)) = (w[0], w[1]);
            if !heavy(c) {
                filled += c;
            }
            if heavy(c) || heavy(next_c) || filled as f64 >= per_bin {
                edges.push(mid(x, next));
                filled = 0;
            }
        }
        if edges.len() < max_bins {
            return edges;
        }
        per_bin *= 1.2;
    }
}

#[derive(Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

struct Builder<'a> {
    bins: &'a [u8],
    p: usize,
    edges: &'a [Vec<f64>],
    grad: &'a [f64],
    hess: &'a [f64],
    features: Vec<bool>,
    params: &'a GbdtValidParams,
    /// The largest Newton step of a leaf, before shrinkage.
    max_step: f64,
    nodes: Vec<Node>,
}

/// The range a leaf's value must stay in (after shrinkage), set by monotone splits above it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bounds {
    low: f64,
    high: f64,
}

impl Bounds {
    const FREE: Bounds = Bounds { low: f64::NEG_INFINITY, high: f64::INFINITY };

    fn is_free(self) -> bool {
        self == Bounds::FREE
    }

    fn clamp(self, v: f64) -> f64 {
        v.clamp(self.low, self.high)
    }
}

/// A leaf's best split: its gain, feature and last bin on the left, and the gradient and hessian sums
/// of the two sides (the children's bounds follow from their values when the feature is constrained).
#[derive(Clone, Copy, Debug)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    left: (f64, f64),
    right: (f64, f64),
}

impl Builder<'_> {
    fn stride(&self) -> usize {
        self.params.max_bins
    }

    fn histogram(&self, rows: &[u32]) -> Vec<Bin> {
        let stride = self.stride();
        let mut hist = vec![Bin::default(); self.p * stride];
        for &r in rows {
            let r = r as usize;
            let (g, h) = (self.grad[r], self.hess[r]);
            let row = &self.bins[r * self.p..(r + 1) * self.p];
            for (j, &b) in row.iter().enumerate() {
                let cell = &mut hist[j * stride + b as usize];
                cell.g += g;
                cell.h += h;
                cell.n += 1;
            }
        }
        hist
    }

    fn value(&self, g: f64, h: f64) -> f64 {
        (-g / (h + self.params.l2)).clamp(-self.max_step, self.max_step) * self.params.learning_rate
    }

    /// The direction feature `j` must move the score in.
    fn direction(&self, j: usize) -> i8 {
        self.params.monotone.get(j).copied().unwrap_or(0)
    }

    /// The loss reduction of a leaf with totals `g`, `h` whose value is held in `bounds` (LightGBM's gain
    /// given the output); without bounds, `g² / (h + l2)`.
    fn leaf_gain(&self, g: f64, h: f64, bounds: Bounds) -> f64 {
        let l2 = self.params.l2;
        if bounds.is_free() {
            return g * g / (h + l2);
        }
        let rate = self.params.learning_rate;
        let w = (-g / (h + l2)).clamp(bounds.low / rate, bounds.high / rate);
        -(2.0 * g * w + (h + l2) * w * w)
    }

    /// The best split of a leaf with histogram `hist`, totals `g`, `h` over `n` rows and value bounds
    /// `bounds`; a split on a constrained feature whose leaves go against its direction is not one.
    fn best_split(&self, hist: &[Bin], g: f64, h: f64, n: usize, depth: usize, bounds: Bounds) -> Option<Split> {
        let prm = self.params;
        if depth >= prm.max_depth || n < 2 * prm.min_leaf_rows {
            return None;
        }
        let parent_score = self.leaf_gain(g, h, bounds);
        let stride = self.stride();
        let mut best: Option<Split> = None;
        for j in (0..self.p).filter(|&j| self.features[j]) {
            let direction = self.direction(j);
            let n_bins = self.edges[j].len() + 1;
            let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
            for b in 0..n_bins.saturating_sub(1) {
                let cell = hist[j * stride + b];
                gl += cell.g;
                hl += cell.h;
                nl += cell.n as usize;
                if nl < prm.min_leaf_rows || hl < prm.min_leaf_hessian {
                    continue;
                }
                if n - nl < prm.min_leaf_rows || h - hl < prm.min_leaf_hessian {
                    break;
                }
                let (gr, hr) = (g - gl, h - hl);
                if direction != 0 {
                    let (left, right) = (bounds.clamp(self.value(gl, hl)), bounds.clamp(self.value(gr, hr)));
                    if (direction > 0 && left > right) || (direction < 0 && left < right) {
                        continue;
                    }
                }
                let gain = self.leaf_gain(gl, hl, bounds) + self.leaf_gain(gr, hr, bounds) - parent_score;
                if gain > 1e-9 && best.is_none_or(|s| gain > s.gain) {
                    best = Some(Split { gain, feature: j, bin: b, left: (gl, hl), right: (gr, hr) });
                }
            }
        }
        best
    }

    /// The bounds of the two children of a leaf with bounds `bounds` split by `split`: a constrained
    /// feature puts the midpoint of the two leaves between them.
    fn child_bounds(&self, bounds: Bounds, split: &Split) -> (Bounds, Bounds) {
        let value = |(g, h): (f64, f64)| bounds.clamp(self.value(g, h));
        let mid = (value(split.left) + value(split.right)) / 2.0;
        match self.direction(split.feature) {
            1 => (Bounds { high: bounds.high.min(mid), ..bounds }, Bounds { low: bounds.low.max(mid), ..bounds }),
            -1 => (Bounds { low: bounds.low.max(mid), ..bounds }, Bounds { high: bounds.high.min(mid), ..bounds }),
            _ => (bounds, bounds),
        }
    }

    /// Grows a tree leaf-wise: always splits the open leaf whose best split gains most, up to
    /// `max_leaves` leaves (and `max_depth` levels). `rows` ends up ordered leaf by leaf.
    fn grow(&mut self, rows: &mut [u32], hist: Vec<Bin>) -> Grown {
        struct Open {
            id: u32,
            start: usize,
            end: usize,
            depth: usize,
            hist: Vec<Bin>,
            bounds: Bounds,
            split: Option<Split>,
        }
        let stride = self.stride();
        let totals = move |hist: &[Bin]| hist[..stride].iter().fold((0.0, 0.0), |(g, h), c| (g + c.g, h + c.h));
        let (g, h) = totals(&hist);
        let mut nodes = vec![Node { feature: LEAF, threshold: 0.0, left: 0, right: 0, value: self.value(g, h) }];
        let mut split_bins = vec![0u8];
        let split = self.best_split(&hist, g, h, rows.len(), 0, Bounds::FREE);
        let mut open = vec![Open { id: 0, start: 0, end: rows.len(), depth: 0, hist, bounds: Bounds::FREE, split }];
        let mut leaves = 1;
        while leaves < self.params.max_leaves {
            let Some(k) = (0..open.len())
                .filter(|&k| open[k].split.is_some())
                .max_by(|&a, &b| open[a].split.expect("some").gain.total_cmp(&open[b].split.expect("some").gain))
            else {
                break;
            };
            let leaf = open.swap_remove(k);
            let chosen = leaf.split.expect("chosen for its split");
            let (j, b) = (chosen.feature, chosen.bin);
            let (left_bounds, right_bounds) = self.child_bounds(leaf.bounds, &chosen);
            let part = &mut rows[leaf.start..leaf.end];
            let mut split = 0;
            for i in 0..part.len() {
                if self.bins[part[i] as usize * self.p + j] as usize <= b {
                    part.swap(i, split);
                    split += 1;
                }
            }
            let (left_rows, right_rows) = part.split_at(split);
            let small_is_left = left_rows.len() <= right_rows.len();
            let small_hist = self.histogram(if small_is_left { left_rows } else { right_rows });
            let mut large_hist = leaf.hist;
            for (l, s) in large_hist.iter_mut().zip(&small_hist) {
                l.g -= s.g;
                l.h -= s.h;
                l.n -= s.n;
            }
            let (left_hist, right_hist) =
                if small_is_left { (small_hist, large_hist) } else { (large_hist, small_hist) };
            let mid = leaf.start + split;
            let child = |start: usize, end: usize, hist: Vec<Bin>, bounds: Bounds, nodes: &mut Vec<Node>| {
                let (g, h) = totals(&hist);
                let id = nodes.len() as u32;
                let value = bounds.clamp(self.value(g, h));
                nodes.push(Node { feature: LEAF, threshold: 0.0, left: 0, right: 0, value });
                let split = self.best_split(&hist, g, h, end - start, leaf.depth + 1, bounds);
                Open { id, start, end, depth: leaf.depth + 1, hist, bounds, split }
            };
            let left = child(leaf.start, mid, left_hist, left_bounds, &mut nodes);
            let right = child(mid, leaf.end, right_hist, right_bounds, &mut nodes);
            split_bins.resize(nodes.len(), 0);
            split_bins[leaf.id as usize] = b as u8;
            let parent = &mut nodes[leaf.id as usize];
            parent.feature = j as u16;
            parent.threshold = self.edges[j][b];
            parent.left = left.id;
            parent.right = right.id;
            open.push(left);
            open.push(right);
            leaves += 1;
        }
        self.nodes = nodes;
        Grown { leaves: open.iter().map(|o| (o.id, o.start..o.end)).collect(), split_bins }
    }
}

/// Where a grown tree put the rows it was grown on, and how to route others by their bins.
struct Grown {
    /// Each leaf and its range of the row list.
    leaves: Vec<(u32, std::ops::Range<usize>)>,
    /// Per node: the last bin that goes left (for a split).
    split_bins: Vec<u8>,
}

impl Grown {
    /// Adds the tree's leaf values to the scores of the rows it was grown on (`rows`, in the order growing
    /// left them: their leaves are known) and of the rows it was not (`skipped`, routed by their bins).
    fn add_to(&self, tree: &[Node], rows: &[u32], skipped: &[u32], (bins, p): (&[u8], usize), score: &mut [f64]) {
        for (leaf, range) in &self.leaves {
            let value = tree[*leaf as usize].value;
            for &r in &rows[range.clone()] {
                score[r as usize] += value;
            }
        }
        for &r in skipped {
            let r = r as usize;
            score[r] += self.leaf_value(tree, &bins[r * p..(r + 1) * p]);
        }
    }

    /// The leaf value of a row with bins `row`: x <= edges[b] exactly when the row's bin is at most b, so
    /// this is the leaf [`Gbdt::raw_score`] finds from the raw values.
    fn leaf_value(&self, tree: &[Node], row: &[u8]) -> f64 {
        let mut k = 0usize;
        while tree[k].feature != LEAF {
            let node = &tree[k];
            k = if row[node.feature as usize] <= self.split_bins[k] { node.left } else { node.right } as usize;
        }
        tree[k].value
    }
}

/// Checked params with a held-out dataset: boosting records the validation loss after every round and
/// stops after `patience` rounds without a better one.
pub struct EarlyStopping<'v> {
    params: &'v GbdtValidParams,
    valid_x: ArrayView2<'v, f64>,
    valid_y: ArrayView1<'v, bool>,
}

/// What an early-stopped fit gives: the model and the mean validation log loss after every round.
#[derive(Clone, Debug)]
pub struct Stopped {
    pub model: Gbdt,
    pub valid_loss: Vec<f64>,
}

impl Stopped {
    /// The number of rounds with the lowest validation loss (at least `min_rounds`).
    pub fn best_rounds(&self, min_rounds: usize) -> usize {
        self.valid_loss
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(self.model.trees.len(), |(i, _)| i + 1)
            .max(min_rounds)
    }
}

impl GbdtValidParams {
    /// These params, stopping early on the held-out `valid` dataset.
    pub fn with_validation<'v, D: Data<Elem = f64>, T: AsSingleTargets<Elem = bool>>(
        &'v self,
        valid: &'v DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> EarlyStopping<'v> {
        EarlyStopping { params: self, valid_x: valid.records().view(), valid_y: valid.as_single_targets() }
    }
}

impl<D: Data<Elem = f64>, T: AsSingleTargets<Elem = bool>> Fit<ArrayBase<D, Ix2>, T, ModelError> for GbdtValidParams {
    type Object = Gbdt;

    /// Boosts `trees` rounds on the dataset's rows, events and sample weights.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Gbdt, ModelError> {
        Ok(boost(self, dataset, None)?.model)
    }
}

impl<D: Data<Elem = f64>, T: AsSingleTargets<Elem = bool>> Fit<ArrayBase<D, Ix2>, T, ModelError> for EarlyStopping<'_> {
    type Object = Stopped;

    /// Boosts on the dataset, recording the held-out loss after every round, until it stops improving.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Stopped, ModelError> {
        check_finite(self.valid_x)?;
        boost(self.params, dataset, Some((self.valid_x, self.valid_y)))
    }
}

/// The leaf value `tree` gives a row of raw values.
fn tree_value(tree: &[Node], x: ArrayView1<f64>) -> f64 {
    let mut n = 0usize;
    loop {
        let node = &tree[n];
        if node.feature == LEAF {
            return node.value;
        }
        n = if x[node.feature as usize] <= node.threshold { node.left as usize } else { node.right as usize };
    }
}

/// Rows predicted together, every tree in turn: a block's rows stay in cache while the trees stream by once
/// (row by row, every row would stream all the trees).
const PREDICT_BLOCK_ROWS: usize = 64;

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for Gbdt {
    /// The raw score (log-odds of an event) of every row: [`Gbdt::raw_score`]'s sums, in its order.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(x.nrows(), y.len(), "one prediction per row");
        y.fill(self.base_score);
        for start in (0..x.nrows()).step_by(PREDICT_BLOCK_ROWS) {
            let block = start..(start + PREDICT_BLOCK_ROWS).min(x.nrows());
            for tree in &self.trees {
                for i in block.clone() {
                    y[i] += tree_value(tree, x.row(i));
                }
            }
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

/// The loss boosting minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Objective {
    /// Log loss of a binary event; the raw score is the log-odds.
    Logistic,
    /// Squared error of a real target; the raw score is the prediction.
    Squared,
    /// Poisson deviance of a non-negative amount; the raw score is the log of the expected amount. Each
    /// leaf's Newton step is capped at [`POISSON_MAX_STEP`] before shrinkage, as a leaf of rows with small
    /// predictions and large amounts would otherwise jump.
    Poisson,
}

/// The largest Newton step of a Poisson leaf, before shrinkage (0.7, the value of LightGBM's
/// `poisson_max_delta_step`, which there guards the hessian instead).
const POISSON_MAX_STEP: f64 = 0.7;

impl Objective {
    /// The starting score: the log-odds of the weighted event rate, or the weighted mean.
    fn base(self, y: &[f64], weight: &dyn Fn(usize) -> f64) -> Result<f64, ModelError> {
        let (mut sum, mut total) = (0.0, 0.0);
        for (i, v) in y.iter().enumerate() {
            total += weight(i);
            sum += weight(i) * v;
        }
        match self {
            Objective::Logistic if sum == 0.0 || sum == total => Err(ModelError::OneClass),
            Objective::Logistic => Ok((sum / (total - sum)).ln()),
            Objective::Squared => Ok(sum / total),
            Objective::Poisson if sum <= 0.0 => {
                Err(ModelError::InvalidParams { reason: "a Poisson target must have a positive mean".into() })
            }
            Objective::Poisson => Ok((sum / total).ln()),
        }
    }

    /// The largest Newton step of a leaf, before shrinkage.
    fn max_step(self) -> f64 {
        match self {
            Objective::Poisson => POISSON_MAX_STEP,
            Objective::Logistic | Objective::Squared => f64::INFINITY,
        }
    }

    /// The gradient and hessian of the loss of one row at `score`.
    fn derivatives(self, score: f64, y: f64, w: f64) -> (f64, f64) {
        match self {
            Objective::Logistic => {
                let prob = sigmoid(score);
                (w * (prob - y), w * (prob * (1.0 - prob)).max(1e-12))
            }
            Objective::Squared => (w * (score - y), w),
            Objective::Poisson => {
                let mu = score.exp();
                (w * (mu - y), w * mu.max(1e-12))
            }
        }
    }

    /// The loss of one row at `score`.
    fn loss(self, score: f64, y: f64) -> f64 {
        match self {
            Objective::Logistic => {
                let prob = sigmoid(score).clamp(1e-12, 1.0 - 1e-12);
                -(y * prob.ln() + (1.0 - y) * (1.0 - prob).ln())
            }
            Objective::Squared => (score - y) * (score - y),
            Objective::Poisson => score.exp() - y * score,
        }
    }
}

/// Checked params boosting the squared error of a real target (`params.regression()`) or the Poisson
/// deviance of an amount (`params.poisson()`, the amount model) instead of the logistic loss, optionally
/// stopping early on a held-out set ([`Regression::with_validation`]). The fitted [`Gbdt`]'s raw score is
/// then the prediction itself, or its logarithm.
pub struct Regression<'v> {
    params: &'v GbdtValidParams,
    valid: Option<(ArrayView2<'v, f64>, ArrayView1<'v, f64>)>,
    objective: Objective,
}

impl GbdtValidParams {
    /// These params, boosting the squared error of a real target.
    pub fn regression(&self) -> Regression<'_> {
        Regression { params: self, valid: None, objective: Objective::Squared }
    }

    /// These params, boosting the Poisson deviance of a non-negative amount (a count, or yuan): the raw
    /// score is the log of the expected amount, so `exp(raw)` is the mean itself.
    pub fn poisson(&self) -> Regression<'_> {
        Regression { params: self, valid: None, objective: Objective::Poisson }
    }
}

impl<'v> Regression<'v> {
    /// Stops early on the held-out `valid` dataset (its mean loss).
    pub fn with_validation<D: Data<Elem = f64>, T: AsSingleTargets<Elem = f64>>(
        self,
        valid: &'v DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Regression<'v> {
        Regression { valid: Some((valid.records().view(), valid.as_single_targets())), ..self }
    }
}

impl<D: Data<Elem = f64>, T: AsSingleTargets<Elem = f64>> Fit<ArrayBase<D, Ix2>, T, ModelError> for Regression<'_> {
    type Object = Stopped;

    /// Boosts on the dataset's rows, targets and sample weights (recording the held-out loss when given).
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Stopped, ModelError> {
        let y: Vec<f64> = dataset.as_single_targets().to_vec();
        if y.iter().any(|v| !v.is_finite() || (self.objective == Objective::Poisson && *v < 0.0)) {
            return Err(ModelError::InvalidParams {
                reason: "a regression target is not a finite number (or, for Poisson, is negative)".into(),
            });
        }
        let valid = match self.valid {
            Some((vx, vy)) => {
                check_finite(vx)?;
                Some((vx, vy.to_vec()))
            }
            None => None,
        };
        boost_objective(self.params, dataset, &y, valid, self.objective)
    }
}

/// Second-order boosting of the logistic loss on `dataset`, recording the mean log loss on `valid` after
/// every round when given (and stopping after `patience` rounds without a better one).
fn boost<D: Data<Elem = f64>, T: AsSingleTargets<Elem = bool>>(
    params: &GbdtValidParams,
    dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
    valid: Option<(ArrayView2<f64>, ArrayView1<bool>)>,
) -> Result<Stopped, ModelError> {
    let as_f64 = |v: &bool| f64::from(u8::from(*v));
    let y: Vec<f64> = dataset.as_single_targets().iter().map(as_f64).collect();
    let valid = valid.map(|(vx, vy)| (vx, vy.iter().map(as_f64).collect()));
    boost_objective(params, dataset, &y, valid, Objective::Logistic)
}

/// Histogram-binned features: each feature's bin edges and every row's bin per feature (row-major).
fn binned(x: ArrayView2<f64>, max_bins: usize) -> (Vec<Vec<f64>>, Vec<u8>) {
    let edges = bin_edges(x, max_bins);
    let bins = bins_on(x, &edges);
    (edges, bins)
}

/// Every row's bin per feature (row-major) on the given edges.
fn bins_on(x: ArrayView2<f64>, edges: &[Vec<f64>]) -> Vec<u8> {
    let (n, p) = x.dim();
    let mut bins = vec![0u8; n * p];
    for i in 0..n {
        for j in 0..p {
            bins[i * p + j] = bin_of(&edges[j], x[(i, j)]) as u8;
        }
    }
    bins
}

/// Second-order boosting of `objective` on the dataset's rows with targets `y` (0/1 for an event), recording
/// the mean loss on `valid` after every round when given.
fn boost_objective<D: Data<Elem = f64>, T>(
    params: &GbdtValidParams,
    dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
    y: &[f64],
    valid: Option<(ArrayView2<f64>, Vec<f64>)>,
    objective: Objective,
) -> Result<Stopped, ModelError> {
    let x = dataset.records().view();
    let (n, p) = x.dim();
    if n == 0 || y.len() != n {
        return Err(ModelError::EmptyTrainingSet);
    }
    if p >= LEAF as usize {
        return Err(ModelError::InvalidParams { reason: "too many features".into() });
    }
    if !params.monotone.is_empty() && params.monotone.len() != p {
        let reason = format!("{} monotone directions for {p} features", params.monotone.len());
        return Err(ModelError::InvalidParams { reason });
    }
    check_finite(x)?;
    let sample_weights = dataset.weights();
    let weight = |i: usize| sample_weights.map_or(1.0, |w| f64::from(w[i]));
    let base = objective.base(y, &weight)?;
    let (edges, bins) = binned(x, params.max_bins);
    let valid = valid.map(|(vx, vy)| (vy, bins_on(vx, &edges)));
    let mut score = vec![base; n];
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut rng = SplitMix64::new(params.seed);
    let mut model = Gbdt { base_score: base, trees: Vec::with_capacity(params.trees), n_features: p };
    let mut valid_score: Option<Vec<f64>> = valid.as_ref().map(|(vy, _)| vec![base; vy.len()]);
    let mut valid_loss = Vec::new();
    for _ in 0..params.trees {
        for i in 0..n {
            (grad[i], hess[i]) = objective.derivatives(score[i], y[i], weight(i));
        }
        let (mut rows, mut skipped) = (Vec::with_capacity(n), Vec::new());
        for r in 0..n as u32 {
            if params.row_fraction >= 1.0 || rng.uniform() < params.row_fraction {
                rows.push(r);
            } else {
                skipped.push(r);
            }
        }
        let features: Vec<bool> =
            (0..p).map(|_| params.feature_fraction >= 1.0 || rng.uniform() < params.feature_fraction).collect();
        let mut builder = Builder {
            bins: &bins,
            p,
            edges: &edges,
            grad: &grad,
            hess: &hess,
            features,
            params,
            max_step: objective.max_step(),
            nodes: Vec::new(),
        };
        let hist = builder.histogram(&rows);
        let grown = builder.grow(&mut rows, hist);
        let tree = builder.nodes;
        grown.add_to(&tree, &rows, &skipped, (&bins, p), &mut score);
        let mut stop = false;
        if let (Some((vy, vbins)), Some(vs)) = (valid.as_ref(), valid_score.as_mut()) {
            let mut loss = 0.0;
            for (i, row) in vbins.chunks_exact(p).enumerate() {
                vs[i] += grown.leaf_value(&tree, row);
                loss += objective.loss(vs[i], vy[i]);
            }
            valid_loss.push(loss / vy.len().max(1) as f64);
            // Early stopping: no better validation loss in the last `patience` rounds.
            let best = valid_loss.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
            stop = valid_loss.len() - 1 - best >= params.patience;
        }
        model.trees.push(tree);
        if stop {
            break;
        }
    }
    Ok(Stopped { model, valid_loss })
}

#[cfg(test)]
mod tests {
    use linfa::traits::{Fit, Predict};
    use linfa::{Dataset, ParamGuard};
    use ndarray::{Array1, Array2};

    use super::{bin_of, binned, column_edges, Builder, Gbdt, GbdtParams, ModelError, Objective};

    /// Rows whose event follows the first feature.
    fn rows(n: usize) -> (Array2<f64>, Array1<bool>) {
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3)) % 17) as f64);
        let y = (0..n).map(|i| (i * 3) % 17 > 12).collect();
        (x, y)
    }

    #[test]
    fn fit_predict_and_early_stopping_through_linfa() {
        let (x, y) = rows(2_000);
        let params = GbdtParams::default().trees(40).min_leaf_rows(5).check().unwrap();
        let data = Dataset::new(x.clone(), y.clone());
        let model = params.fit(&data).unwrap();
        assert_eq!(model.trees.len(), 40);
        let raw: Array1<f64> = model.predict(&x);
        assert!(x.rows().into_iter().zip(&raw).all(|(r, p)| *p == model.raw_score(r)));
        // Events score higher than non-events.
        let mean = |event: bool| {
            let v: Vec<f64> = raw.iter().zip(&y).filter(|(_, e)| **e == event).map(|(r, _)| *r).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(true) > mean(false) + 1.0);
        // With a held-out set: one loss per round, and the kept rounds are the best ones.
        let stopped = params.with_validation(&data).fit(&data).unwrap();
        assert_eq!(stopped.valid_loss.len(), stopped.model.trees.len());
        assert!(stopped.best_rounds(10) >= 10);
        // Sample weights count: all the weight on one class is one class.
        let weights = Array1::from_iter(y.iter().map(|e| if *e { 0.0f32 } else { 1.0 }));
        let weighted = Dataset::new(x, y).with_weights(weights);
        assert!(matches!(params.fit(&weighted), Err(ModelError::OneClass)));
    }

    #[test]
    fn boosting_keeps_the_scores_the_model_gives() {
        // A tree grown on every other row: the scores added from where growing put the rows, and from the
        // bins of the rows it skipped, are the scores the tree gives from the raw values.
        let (x, y) = rows(600);
        let params = GbdtParams::default().min_leaf_rows(5).check().unwrap();
        let (edges, bins) = binned(x.view(), params.max_bins);
        let grad: Vec<f64> = x.rows().into_iter().map(|r| r[0] - 8.0 + 0.5 * (r[1] - 8.0) + 0.25 * r[2]).collect();
        let hess = vec![0.21; y.len()];
        let mut builder = Builder {
            bins: &bins,
            p: x.ncols(),
            edges: &edges,
            grad: &grad,
            hess: &hess,
            features: vec![true; x.ncols()],
            params: &params,
            max_step: Objective::Logistic.max_step(),
            nodes: Vec::new(),
        };
        let (mut grown_on, skipped): (Vec<u32>, Vec<u32>) = (0..y.len() as u32).partition(|r| r % 2 == 0);
        let hist = builder.histogram(&grown_on);
        let grown = builder.grow(&mut grown_on, hist);
        let tree = std::mem::take(&mut builder.nodes);
        assert!(grown.leaves.len() > 4, "{} leaves", grown.leaves.len());
        let mut score = vec![0.0; y.len()];
        grown.add_to(&tree, &grown_on, &skipped, (&bins, x.ncols()), &mut score);
        let model = Gbdt { base_score: 0.0, trees: vec![tree], n_features: x.ncols() };
        for (i, row) in x.rows().into_iter().enumerate() {
            assert_eq!(score[i], model.raw_score(row), "row {i}");
        }
        // The validation loss recorded after every round is that of the model's own scores so far.
        let data = Dataset::new(x.clone(), y.clone());
        let params = GbdtParams::default().trees(30).min_leaf_rows(5).check().unwrap();
        let stopped = params.with_validation(&data).fit(&data).unwrap();
        let mut model = stopped.model;
        for k in (1..=model.trees.len()).rev() {
            model.truncate(k);
            let loss: f64 = x
                .rows()
                .into_iter()
                .zip(&y)
                .map(|(r, e)| Objective::Logistic.loss(model.raw_score(r), f64::from(u8::from(*e))))
                .sum();
            assert_eq!(stopped.valid_loss[k - 1], loss / y.len() as f64, "round {k}");
        }
    }

    #[test]
    fn poisson_boosting_learns_the_mean_amount_and_refuses_what_is_not_an_amount() {
        // Amounts whose mean is 1,000 yuan times 2^(first feature), mostly zero: one row in four owes
        // four times the mean, the rest nothing.
        let n = 4_000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { (i % 5) as f64 } else { (i % 7) as f64 });
        let mean = |i: usize| 1_000.0 * 2f64.powi((i % 5) as i32);
        let y = Array1::from_iter((0..n).map(|i| if (i / 5) % 4 == 0 { 4.0 * mean(i) } else { 0.0 }));
        let params = GbdtParams::default().trees(300).learning_rate(0.1).min_leaf_rows(20).check().unwrap();
        let data = Dataset::new(x.clone(), y.clone());
        let stopped = params.poisson().with_validation(&data).fit(&data).unwrap();
        assert_eq!(stopped.valid_loss.len(), stopped.model.trees.len());
        let model = stopped.model;
        for i in 0..5 {
            let predicted = model.raw_score(x.row(i)).exp();
            assert!((predicted / mean(i) - 1.0).abs() < 0.05, "row {i}: {predicted} against {}", mean(i));
        }
        // Whatever the first steps, no prediction jumps past the amounts seen.
        assert!(x.rows().into_iter().all(|r| model.raw_score(r).exp() < 4.0 * mean(4)));
        // A negative amount, an amount that is not a number, or nothing owed at all is refused.
        for bad in [-1.0, f64::NAN] {
            let mut y = y.clone();
            y[3] = bad;
            let err = params.poisson().fit(&Dataset::new(x.clone(), y)).unwrap_err();
            assert!(matches!(err, ModelError::InvalidParams { .. }), "{err}");
        }
        let zeros = Dataset::new(x.clone(), Array1::zeros(n));
        assert!(matches!(params.poisson().fit(&zeros), Err(ModelError::InvalidParams { .. })));
        // Squared error learns the same means without a link.
        let squared = params.regression().fit(&data).unwrap().model;
        assert!((squared.raw_score(x.row(2)) / mean(2) - 1.0).abs() < 0.05);
    }

    #[test]
    fn a_monotone_feature_never_lowers_the_score_however_the_data_bends() {
        // The event rises with feature 0 overall, but dips in its middle, and interacts with feature 1:
        // free trees follow the dip; constrained trees may not.
        let n = 6_000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => ((i * 7919) % 100) as f64,
            1 => ((i * 104_729) % 10) as f64,
            _ => ((i * 31) % 13) as f64,
        });
        let rate = |a: f64, b: f64| {
            let base = 0.05 + 0.004 * a;
            let dip = if (40.0..60.0).contains(&a) { 0.25 } else { 1.0 };
            (base * dip * if b > 6.0 { 1.5 } else { 1.0 }).min(0.95)
        };
        let mut rng = crate::rng::SplitMix64::new(3);
        let y = Array1::from_iter((0..n).map(|i| rng.uniform() < rate(x[(i, 0)], x[(i, 1)])));
        let data = Dataset::new(x.clone(), y);
        let free = GbdtParams::default().trees(120).learning_rate(0.1).min_leaf_rows(20).check().unwrap();
        let constrained = GbdtParams::default()
            .trees(120)
            .learning_rate(0.1)
            .min_leaf_rows(20)
            .monotone(vec![1, 0, -1])
            .check()
            .unwrap();
        let (free, constrained) = (free.fit(&data).unwrap(), constrained.fit(&data).unwrap());
        let along = |m: &super::Gbdt, b: f64, c: f64, j: usize| -> Vec<f64> {
            (0..100)
                .map(|v| {
                    let mut row = [10.0, b, c];
                    row[j] = if j == 0 { v as f64 } else { (v % [100, 10, 13][j]) as f64 };
                    m.raw_score(ndarray::ArrayView1::from(&row))
                })
                .collect()
        };
        let rises = |s: &[f64]| s.windows(2).all(|w| w[1] >= w[0] - 1e-12);
        assert!(!rises(&along(&free, 3.0, 5.0, 0)), "the free trees follow the dip");
        for b in 0..10 {
            for c in 0..13 {
                assert!(rises(&along(&constrained, b as f64, c as f64, 0)), "feature 0 at b={b} c={c}");
                let mut falls = along(&constrained, b as f64, c as f64, 2)[..13].to_vec();
                falls.reverse();
                assert!(rises(&falls), "feature 2 at b={b} c={c}");
            }
        }
        // A direction per feature, and only -1, 0 or 1.
        assert!(GbdtParams::default().monotone(vec![2]).check().is_err());
        let short = GbdtParams::default().trees(2).monotone(vec![1]).check().unwrap();
        assert!(matches!(short.fit(&data), Err(ModelError::InvalidParams { .. })));
    }

    #[test]
    fn a_mean_of_models_scores_and_explains_each_row_as_the_mean_of_theirs() {
        let (x, y) = rows(2_000);
        let data = Dataset::new(x.clone(), y);
        let members: Vec<Gbdt> = [17, 18, 19]
            .iter()
            .map(|&seed| {
                GbdtParams::default().trees(20).learning_rate(0.1).seed(seed).check().unwrap().fit(&data).unwrap()
            })
            .collect();
        assert_ne!(members[0], members[1], "seeds sample differently");
        let mean = Gbdt::mean_of(members.clone());
        assert_eq!(mean.trees.len(), 60);
        let predicted: Array1<f64> = mean.predict(&x);
        for (i, row) in x.rows().into_iter().enumerate().step_by(97) {
            let expected = members.iter().map(|m| m.raw_score(row)).sum::<f64>() / 3.0;
            assert!((mean.raw_score(row) - expected).abs() < 1e-12, "row {i}");
            assert!((predicted[i] - expected).abs() < 1e-12, "row {i} predicted in blocks");
            let (bias, contrib) = mean.contributions(row);
            assert!((bias + contrib.iter().sum::<f64>() - expected).abs() < 1e-12, "row {i} explained");
        }
        // One member is itself, bit for bit.
        assert_eq!(Gbdt::mean_of(vec![members[0].clone()]), members[0]);
    }

    #[test]
    fn non_finite_features_are_refused_at_the_boundary() {
        let (mut x, y) = rows(500);
        let params = GbdtParams::default().trees(5).check().unwrap();
        let clean = Dataset::new(x.clone(), y.clone());
        x[(7, 2)] = f64::NAN;
        let dirty = Dataset::new(x, y);
        let err = params.fit(&dirty).unwrap_err();
        assert!(matches!(err, ModelError::NonFinite { row: 7, column: 2 }), "{err}");
        let err = params.with_validation(&dirty).fit(&clean).unwrap_err();
        assert!(matches!(err, ModelError::NonFinite { row: 7, column: 2 }), "{err}");
        assert!(err.to_string().contains("not a finite number"), "{err}");
    }

    /// Bins of `values` under `edges`, as training assigns them.
    fn bins(values: &[f64], edges: &[f64]) -> Vec<usize> {
        values.iter().map(|x| bin_of(edges, *x)).collect()
    }

    #[test]
    fn binning_gives_the_tail_of_a_mostly_zero_feature_its_own_bins() {
        // 9,000 zeros and 1,000 distinct positive values, 16 bins.
        let mut values = vec![0.0; 9_000];
        values.extend((1..=1_000).map(f64::from));
        let edges = column_edges(values.clone(), 16);
        assert!(edges.len() < 16, "{} edges", edges.len());
        assert!(edges.windows(2).all(|w| w[0] < w[1]), "edges ascend");
        let b = bins(&values, &edges);
        // The zeros alone in the first bin; the positive values spread over all the others, evenly.
        assert!(b[..9_000].iter().all(|&k| k == 0));
        assert!(b[9_000..].iter().all(|&k| k > 0));
        let mut counts = vec![0usize; edges.len() + 1];
        for &k in &b[9_000..] {
            counts[k] += 1;
        }
        assert_eq!(counts.len(), 16, "all 16 bins used: {counts:?}");
        assert!(counts[1..].iter().all(|&c| (50..=90).contains(&c)), "{counts:?}");
    }

    #[test]
    fn binning_keeps_every_value_apart_when_there_are_few() {
        let edges = column_edges(vec![3.0, 1.0, 2.0, 1.0, 3.0], 16);
        assert_eq!(edges, vec![1.5, 2.5]);
        // Two common values among many rare ones each keep a bin of their own.
        let mut values: Vec<f64> = (0..2_000).map(|i| f64::from(i) / 10.0).collect();
        values.extend(vec![5.05; 500]);
        values.extend(vec![150.05; 500]);
        let edges = column_edges(values.clone(), 8);
        assert!(edges.len() < 8);
        let of = |x: f64| bin_of(&edges, x);
        for common in [5.05, 150.05] {
            assert!(
                of(common) != of(common - 0.05) && of(common) != of(common + 0.05),
                "{common} shares a bin: {edges:?}"
            );
        }
    }
}

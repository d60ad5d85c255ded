//! Features, labels and models: point-in-time discipline, the contract's event, and saved models that score
//! bit for bit like the ones trained.

use wagewatch_core::contract::{Category, Channel, Date, Money, Month, Outcome};
use wagewatch_core::features::{self, EntityType, Feature};
use wagewatch_core::ingest::tables::{Dataset, EmployerIx, KeyColumns, Payments, ProjectIx};
use wagewatch_core::ingest::WorkerKey;
use wagewatch_core::model::{self, artifact, BandCutoffs, TrainConfig};
use wagewatch_core::rng::SplitMix64;
use wagewatch_core::target;
use wagewatch_core::worker_months::{DueDays, MonthByMonth, WorkerMonths};
use wagewatch_synth::{self as synth, OutputFormat, SynthConfig};

use crate::support::*;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn province(employers: usize, seed: u64, start: &str, end: &str) -> Dataset {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        scenario: Default::default(),
        employers,
        seed,
        start: d(start),
        end: d(end),
        format: OutputFormat::Parquet,
    };
    synth::generate(&config, dir.path(), &|_| {}).unwrap();
    load_strict(dir.path()).unwrap().dataset
}

/// The workspace's generator, with the one draw the mutations need.
struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
}

/// Adds and changes facts dated after `t` in random ways.
fn add_future_facts(ds: &mut Dataset, t: Date, rng: &mut Rng) {
    let after = |rng: &mut Rng| t.add_days(1 + rng.below(400) as i32);
    let n_e = ds.employers.len();
    let n_p = ds.projects.len();
    for _ in 0..200 {
        // New worker-months due after T, and payments after T for worker-months due before T.
        let e = EmployerIx::new(rng.below(n_e));
        let p = (n_p > 0 && rng.below(2) == 0).then(|| ProjectIx::new(rng.below(n_p)));
        let due = after(rng);
        ds.payroll.project.push(p);
        ds.payroll.employer.push(e);
        ds.payroll.worker.push(ds.payroll.worker[rng.below(ds.payroll.len())]);
        ds.payroll.period.push(Month::from_index(due.month().index() + 1000));
        ds.payroll.days_worked.push(20);
        ds.payroll.wage_due.push(Money::from_fen(600_000));
        ds.payroll.due_date.push(due);
        let r = rng.below(ds.payroll.len());
        ds.payments.project.push(ds.payroll.project[r]);
        ds.payments.employer.push(ds.payroll.employer[r]);
        ds.payments.worker.push(ds.payroll.worker[r]);
        ds.payments.period.push(ds.payroll.period[r]);
        ds.payments.amount.push(Money::from_fen(rng.below(5_000_000) as i64));
        ds.payments.paid_on.push(after(rng).max(ds.payroll.due_date[r]));
    }
    for _ in 0..40 {
        ds.complaints.complaint_id.push(&format!("FUT{}", rng.0.next_u64()));
        ds.complaints.received_on.push(after(rng));
        ds.complaints.employer.push(Some(EmployerIx::new(rng.below(n_e))));
        ds.complaints.project.push((n_p > 0).then(|| ProjectIx::new(rng.below(n_p))));
        ds.complaints.channel.push(Channel::Hotline);
        ds.complaints.category.push(Category::GroupIncident);
        ds.complaints.workers_involved.push(30);
        ds.complaints.amount_claimed.push(Some(Money::from_fen(90_000_000)));
        ds.complaints.closed_on.push(None);
        ds.complaints.outcome.push(None);
        ds.inspections.inspection_id.push(&format!("FUT{}", rng.0.next_u64()));
        ds.inspections.employer.push(EmployerIx::new(rng.below(n_e)));
        ds.inspections.project.push(None);
        ds.inspections.inspected_on.push(after(rng));
        ds.inspections.found_arrears.push(true);
        ds.inspections.arrears_amount.push(Some(Money::from_fen(1_000_000)));
        ds.inspections.workers_affected.push(Some(3));
        ds.inspections.selection.push(Some(wagewatch_core::contract::Selection::Random));
        if n_p > 0 {
            ds.progress_payments.project.push(ProjectIx::new(rng.below(n_p)));
            ds.progress_payments.scheduled_on.push(after(rng));
            ds.progress_payments.amount_due.push(Money::from_fen(1_000_000_000));
            ds.progress_payments.paid_on.push(None);
            ds.progress_payments.amount_paid.push(None);
        }
    }
    // Change what is dated after T: outcomes closed later, later project ends, later blacklistings,
    // later payments of instalments.
    for i in 0..ds.complaints.len() {
        if ds.complaints.closed_on[i].is_some_and(|c| c > t) {
            ds.complaints.outcome[i] =
                Some(if rng.below(2) == 0 { Outcome::Substantiated } else { Outcome::Withdrawn });
        }
    }
    for p in 0..n_p {
        if ds.projects.actual_end_date[p].is_none_or(|e| e > t) && rng.below(2) == 0 {
            ds.projects.actual_end_date[p] = Some(after(rng));
        }
    }
    for e in 0..n_e {
        if ds.employers.blacklisted_on[e].is_none_or(|b| b > t) && rng.below(5) == 0 {
            ds.employers.blacklisted_on[e] = Some(after(rng));
        }
    }
    for i in 0..ds.progress_payments.len() {
        if ds.progress_payments.paid_on[i].is_none_or(|p| p > t) {
            ds.progress_payments.paid_on[i] = Some(after(rng));
            ds.progress_payments.amount_paid[i] = Some(ds.progress_payments.amount_due[i]);
        }
    }
}

#[test]
fn adding_future_facts_changes_no_feature() {
    let ds = province(80, 11, "2023-01-01", "2025-06-30");
    let wm = WorkerMonths::build(&ds);
    let mut rng = Rng(SplitMix64::new(99));
    for t in ["2024-01-15", "2024-06-01", "2024-12-20"] {
        let t = d(t);
        let before = features::compute(&ds, &wm, t, 60).unwrap();
        assert!(before.employers.rows() > 20, "{} employers scored", before.employers.rows());
        for _ in 0..3 {
            let mut changed = ds.clone();
            add_future_facts(&mut changed, t, &mut rng);
            let wm2 = WorkerMonths::build(&changed);
            let after = features::compute(&changed, &wm2, t, 60).unwrap();
            assert_eq!(before, after, "features as of {t} changed with facts dated after it");
        }
    }
}

/// Applies `order` (new row i is old row `order[i]`) to the named columns of a table.
macro_rules! for_each_column {
    ($table:expr, $order:expr, $($column:ident),+) => {
        $( $table.$column = $order.iter().map(|&i| $table.$column[i]).collect(); )+
    };
}

fn permute_payments(pm: &mut wagewatch_core::ingest::tables::Payments, order: &[usize]) {
    for_each_column!(pm, order, project, employer, worker, period, amount, paid_on);
}

fn shuffled(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

#[test]
fn worker_month_index_matches_a_naive_join() {
    let mut ds = province(40, 5, "2023-01-01", "2024-12-31");
    // Split some payments in two, out of date order, and add payments that match no payroll row.
    let mut rng = Rng(SplitMix64::new(3));
    for _ in 0..300 {
        let i = rng.below(ds.payments.len());
        let half = Money::from_fen(ds.payments.amount[i].fen() / 2);
        ds.payments.amount[i] = half;
        ds.payments.project.push(ds.payments.project[i]);
        ds.payments.employer.push(ds.payments.employer[i]);
        ds.payments.worker.push(ds.payments.worker[i]);
        ds.payments.period.push(ds.payments.period[i]);
        ds.payments.amount.push(half);
        ds.payments.paid_on.push(ds.payments.paid_on[i].add_days(-(rng.below(20) as i32) - 1));
    }
    let strays = 50;
    let outsider = wagewatch_core::ingest::Pseudonymizer::from_key([1; 32]);
    for k in 0..strays {
        let i = rng.below(ds.payments.len());
        ds.payments.project.push(ds.payments.project[i]);
        ds.payments.employer.push(ds.payments.employer[i]);
        ds.payments.worker.push(outsider.pseudonym(&format!("not-on-any-payroll-{k}")));
        ds.payments.period.push(ds.payments.period[i]);
        ds.payments.amount.push(Money::from_fen(100));
        ds.payments.paid_on.push(ds.payments.paid_on[i]);
    }
    // The same facts in the orders a join may meet them: as written (payments follow their payroll rows,
    // the split and stray ones at the end), payments in random order, payments backwards, payroll rows in
    // random order, a few payroll rows out of place, and whole employers' payments missing (gaps the
    // in-order walk must step over).
    let mut payments_shuffled = ds.clone();
    let order = shuffled(ds.payments.len(), &mut rng);
    permute_payments(&mut payments_shuffled.payments, &order);
    let mut payments_backwards = ds.clone();
    permute_payments(&mut payments_backwards.payments, &(0..ds.payments.len()).rev().collect::<Vec<_>>());
    let mut payroll_shuffled = ds.clone();
    let order = shuffled(ds.payroll.len(), &mut rng);
    let pr = &mut payroll_shuffled.payroll;
    for_each_column!(pr, order, project, employer, worker, period, days_worked, wage_due, due_date);
    let mut payroll_moved = ds.clone();
    let moved = |r: usize| r % 29 == 7;
    let order: Vec<usize> =
        (0..ds.payroll.len()).filter(|&r| !moved(r)).chain((0..ds.payroll.len()).filter(|&r| moved(r))).collect();
    let pr = &mut payroll_moved.payroll;
    for_each_column!(pr, order, project, employer, worker, period, days_worked, wage_due, due_date);
    let mut gaps = ds.clone();
    let kept: Vec<usize> =
        (0..ds.payments.len()).filter(|&i| !ds.payments.employer[i].index().is_multiple_of(3)).collect();
    permute_payments(&mut gaps.payments, &kept);
    let strays_kept = kept.iter().filter(|&&i| i >= ds.payments.len() - strays).count();
    // Payroll in wage-month order (as a store reads it), with a payment too large for 32 bits of fen.
    let mut month_order = ds.clone();
    let mut order: Vec<usize> = (0..ds.payroll.len()).collect();
    order.sort_by_key(|&r| ds.payroll.period[r]);
    let pr = &mut month_order.payroll;
    for_each_column!(pr, order, project, employer, worker, period, days_worked, wage_due, due_date);
    month_order.payments.amount[0] = Money::from_fen(50_000_000_000);
    let whole = |ds: &Dataset| WorkerMonths::build(ds);
    for (layout, ds, strays, build) in [
        ("as written", &ds, strays, &whole as &dyn Fn(&Dataset) -> WorkerMonths),
        ("payments shuffled", &payments_shuffled, strays, &whole),
        ("payments backwards", &payments_backwards, strays, &whole),
        ("payroll shuffled", &payroll_shuffled, strays, &whole),
        ("a few payroll rows moved to the end", &payroll_moved, strays, &whole),
        ("every third employer unpaid", &gaps, strays_kept, &whole),
        ("payroll in month order", &month_order, strays, &whole),
        ("payroll in month order, joined month by month", &month_order, strays, &month_by_month),
    ] {
        check_join(layout, ds, strays, build(ds));
    }
}

/// The worker-month index built one wage month at a time, as a store's read builds it (payroll in month
/// order); payments of months without payroll rows are left out, as a store's read leaves them.
fn month_by_month(ds: &Dataset) -> WorkerMonths {
    let (pr, pm) = (&ds.payroll, &ds.payments);
    assert!(pr.period.is_sorted());
    let mut index = MonthByMonth::with_capacity(pr.len(), pm.len());
    let mut start = 0;
    while start < pr.len() {
        let m = pr.period[start];
        let end = start + pr.period[start..].iter().take_while(|&&p| p == m).count();
        let keys = KeyColumns {
            project: &pr.project[start..end],
            employer: &pr.employer[start..end],
            worker: &pr.worker[start..end],
            period: &pr.period[start..end],
        };
        let mut pays = Payments::default();
        for i in (0..pm.len()).filter(|&i| pm.period[i] == m) {
            pays.project.push(pm.project[i]);
            pays.employer.push(pm.employer[i]);
            pays.worker.push(pm.worker[i]);
            pays.period.push(pm.period[i]);
            pays.amount.push(pm.amount[i]);
            pays.paid_on.push(pm.paid_on[i]);
        }
        index.add_month(keys, &pays);
        start = end;
    }
    index.finish(DueDays::of(&[&pr.due_date[..pr.len() / 2], &pr.due_date[pr.len() / 2..]]))
}

/// A worker-month index of `ds` against a naive join: every row's payments as of three dates, the
/// unmatched count, and the rows in due-date order.
fn check_join(layout: &str, ds: &Dataset, strays: usize, wm: WorkerMonths) {
    let pr = &ds.payroll;
    let pm = &ds.payments;
    let key = |p: Option<ProjectIx>, e: EmployerIx, w: WorkerKey, m: Month| (p, e, w, m);
    let mut expected: std::collections::HashMap<_, Vec<(Date, i64)>> = std::collections::HashMap::new();
    for i in 0..pm.len() {
        expected
            .entry(key(pm.project[i], pm.employer[i], pm.worker[i], pm.period[i]))
            .or_default()
            .push((pm.paid_on[i], pm.amount[i].fen()));
    }
    let mut matched = 0;
    for r in 0..pr.len() {
        let pays = expected.get(&key(pr.project[r], pr.employer[r], pr.worker[r], pr.period[r]));
        let pays = pays.map_or(&[][..], Vec::as_slice);
        matched += pays.len();
        for as_of in [pr.due_date[r].add_days(-1), pr.due_date[r].add_days(10), pr.due_date[r].add_days(400)] {
            let seen: Vec<&(Date, i64)> = pays.iter().filter(|(on, _)| *on <= as_of).collect();
            let within_30 = pr.due_date[r].add_days(30).min(as_of);
            let got = wm.paid_as_of(r, pr.due_date[r], as_of);
            assert_eq!(got.paid.fen(), seen.iter().map(|(_, a)| a).sum::<i64>(), "{layout}: row {r} as of {as_of}");
            assert_eq!(
                got.paid_within_30_days.fen(),
                seen.iter().filter(|(on, _)| *on <= within_30).map(|(_, a)| a).sum::<i64>(),
                "{layout}: row {r} as of {as_of}"
            );
            assert_eq!(got.last_paid_on, seen.iter().map(|(on, _)| *on).max(), "{layout}: row {r} as of {as_of}");
        }
    }
    assert!(wm.unmatched_payments >= strays, "{layout}: {} unmatched", wm.unmatched_payments);
    assert_eq!(matched + wm.unmatched_payments, pm.len(), "{layout}");
    // Rows come back in due-date order.
    let all = wm.due_between(&pr.due_date, Date::from_days(i32::MIN / 2), Date::from_days(i32::MAX / 2));
    assert_eq!(all.len(), pr.len(), "{layout}");
    assert!(all.windows(2).all(|w| pr.due_date[w[0] as usize] <= pr.due_date[w[1] as usize]));
}

#[test]
fn features_do_not_depend_on_the_order_of_payroll_and_payment_rows() {
    // Wage features are sums, maxima and distinct counts walked in row order: any order of the rows gives
    // the same values, and the same population.
    let ds = province(60, 13, "2023-01-01", "2025-06-30");
    let mut rng = Rng(SplitMix64::new(5));
    let mut shuffled_rows = ds.clone();
    let order = shuffled(ds.payroll.len(), &mut rng);
    let pr = &mut shuffled_rows.payroll;
    for_each_column!(pr, order, project, employer, worker, period, days_worked, wage_due, due_date);
    permute_payments(&mut shuffled_rows.payments, &shuffled(ds.payments.len(), &mut rng));
    let (wm, wm_shuffled) = (WorkerMonths::build(&ds), WorkerMonths::build(&shuffled_rows));
    for t in ["2024-02-01", "2025-03-15"] {
        let before = features::compute(&ds, &wm, d(t), 60).unwrap();
        let after = features::compute(&shuffled_rows, &wm_shuffled, d(t), 60).unwrap();
        assert!(before.employers.rows() > 20, "{} employers scored", before.employers.rows());
        assert_eq!(before, after, "features as of {t} changed with the order of the rows");
    }
}

#[test]
fn labels_and_population_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    // E2 works on P1 (general contractor E1). W1's June wage is due 2024-07-15; 80% is paid by 08-14 (an event),
    // W2 is paid in full but 35 days late (an event), E3's worker is paid on time.
    let payroll = "project_id,employer_id,worker_id,period,days_worked,wage_due,due_date
P1,E2,W1,2024-05,26,6000,2024-06-15
P1,E2,W1,2024-06,26,6000,2024-07-15
P1,E2,W2,2024-06,26,5000,2024-07-15
,E3,W3,2024-05,21,4000,2024-06-10
,E3,W3,2024-06,21,4000,2024-07-10
";
    let payments = "project_id,employer_id,worker_id,period,amount,paid_on
P1,E2,W1,2024-05,6000,2024-06-15
P1,E2,W1,2024-06,4800,2024-07-20
P1,E2,W2,2024-06,5000,2024-08-19
,E3,W3,2024-05,4000,2024-06-10
,E3,W3,2024-06,4000,2024-07-10
";
    let complaints = "complaint_id,received_on,employer_id,project_id,channel,category,workers_involved,amount_claimed,closed_on,outcome
C1,2024-07-20,E3,,hotline,wage_arrears,1,4000,2024-09-30,unsubstantiated
C2,2024-07-25,,P2,online,wage_arrears,1,100,2024-12-01,substantiated
";
    write_dataset(
        dir.path(),
        &[
            ("payroll.csv", Some(payroll)),
            ("payments.csv", Some(payments)),
            ("complaints.csv", Some(complaints)),
            ("inspections.csv", None),
        ],
    );
    let ds = load_strict(dir.path()).unwrap().dataset;
    let wm = WorkerMonths::build(&ds);
    let t = d("2024-07-01");
    let pop = target::population(&ds, &wm, t);
    // P2 ended 2024-08-01 but that is after T-60; it has no payroll in the last year, so it is not scored.
    assert_eq!(pop.projects, vec![ProjectIx::new(0)]);
    // E1 is scored as general contractor of P1, E2 and E3 by their payroll.
    assert_eq!(pop.employers, vec![EmployerIx::new(0), EmployerIx::new(1), EmployerIx::new(2)]);
    let labels = target::labels(&ds, &wm, t, 60);
    assert!(labels.employers[1].payroll, "E2 short-paid W1");
    assert!(labels.employers[0].payroll, "a project's events count against its general contractor");
    assert!(labels.projects[0].payroll);
    assert!(!labels.employers[2].any(), "E3 paid on time; its complaint was unsubstantiated");
    assert!(labels.projects[1].complaint, "P2's complaint was substantiated");
    assert!(labels.employers[0].complaint, "and counts against P2's contractor E1");
    // Known at 2024-10-01, C2's outcome (closed 2024-12-01) was not yet known.
    let early = target::labels_known_at(&ds, &wm, t, 60, Some(d("2024-10-01")));
    assert!(!early.projects[1].complaint);
    // A shorter horizon that ends before the paydays sees no payroll event.
    let short = target::labels(&ds, &wm, t, 10);
    assert!(!short.employers[1].payroll);
    // What went unpaid: W1 short 1,200 of 6,000 and W2 all 5,000 (paid 35 days late), two workers; the
    // project's harm is its contractor's too, and E3 owes nothing.
    let harm = target::harm(&ds, &wm, t, 60, None);
    let h = |unpaid_yuan: f64, workers: u32| target::Harm { unpaid_yuan, workers };
    assert_eq!(harm.employers, vec![h(6_200.0, 2), h(6_200.0, 2), h(0.0, 0)]);
    assert_eq!(harm.projects, vec![h(6_200.0, 2), h(0.0, 0)]);
    // Known on 07-18, W1's payment of 07-20 was not yet made: all 6,000 were still owed.
    assert_eq!(target::harm(&ds, &wm, t, 60, Some(d("2024-07-18"))).projects[0], h(11_000.0, 2));
    let _ = WorkerKey::value;
}

/// A 160-employer province and a training set-up as of 2025-09-01 on 12 monthly dates, 3 held out, with at
/// most `trees` boosting rounds.
fn small_panel(trees: usize) -> (Dataset, WorkerMonths, TrainConfig) {
    let ds = province(160, 21, "2023-01-01", "2025-12-31");
    let wm = WorkerMonths::build(&ds);
    let mut config = TrainConfig::new(d("2025-09-01"), 60);
    config.panel_months = 12;
    config.calibration_months = 3;
    config.gbdt = model::GbdtParams::default().trees(trees);
    (ds, wm, config)
}

#[test]
fn a_bag_of_tree_models_is_trained_member_by_member_and_an_empty_bag_is_refused() {
    let (ds, wm, mut config) = small_panel(40);
    let fingerprint = model::fingerprint(&ds);
    let one = model::train(&ds, &wm, &config, "one".into(), &fingerprint).unwrap();
    config.bags = 3;
    let bag = model::train(&ds, &wm, &config, "bag".into(), &fingerprint).unwrap();
    for (single, bagged) in [(&one.employer, &bag.employer), (&one.project, &bag.project)] {
        let (single_trees, bagged_trees) = (&single.learner.gbdt.trees, &bagged.learner.gbdt.trees);
        assert_eq!(bagged.trees, bagged_trees.len());
        // Three members, each stopped on its own between 10 and 40 rounds.
        assert!((30..=120).contains(&bagged.trees), "{} trees", bagged.trees);
        // The first member samples with the single model's seed: its trees are the single model's, a third
        // of their weight; the others sample differently.
        for (a, b) in single_trees.iter().zip(bagged_trees) {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert_eq!((x.feature, x.threshold.to_bits()), (y.feature, y.threshold.to_bits()));
                assert!((x.value - 3.0 * y.value).abs() < 1e-12, "{} against 3 x {}", x.value, y.value);
            }
        }
        assert_ne!(bagged_trees[single_trees.len()], bagged_trees[0], "the second member's first tree is its own");
    }
    config.bags = 0;
    let err = model::train(&ds, &wm, &config, "none".into(), &fingerprint).unwrap_err();
    assert!(matches!(err, model::ModelError::InvalidParams { .. }) && err.to_string().contains("bags"), "{err}");
}

#[test]
fn another_model_seed_draws_other_trees_and_the_same_seed_the_same() {
    let (ds, wm, mut config) = small_panel(30);
    let fingerprint = model::fingerprint(&ds);
    let trees = |config: &TrainConfig| {
        let m = model::train(&ds, &wm, config, "seeded".into(), &fingerprint).unwrap();
        (m.employer.learner.gbdt.trees, m.project.learner.gbdt.trees)
    };
    let default = trees(&config);
    assert_eq!(config.gbdt.seed_value(), model::DEFAULT_SEED);
    config.gbdt = config.gbdt.clone().seed(model::DEFAULT_SEED);
    assert_eq!(trees(&config), default, "the same seed, the same trees");
    config.gbdt = config.gbdt.clone().seed(model::DEFAULT_SEED + 1);
    let other = trees(&config);
    assert_ne!(other.0, default.0, "another seed samples other rows and features for employers");
    assert_ne!(other.1, default.1, "and for projects");
}

#[test]
fn a_saved_model_scores_bit_for_bit_like_the_trained_one() {
    let (ds, wm, config) = small_panel(60);
    let trained = model::train(&ds, &wm, &config, "test-model".into(), &model::fingerprint(&ds)).unwrap();
    // No training row's label window reaches past the cutoff.
    assert!(trained.calibration_dates.last().unwrap().add_days(90) <= d("2025-09-01"));
    let dir = tempfile::tempdir().unwrap();
    artifact::save(&trained, dir.path(), &Default::default()).unwrap();
    let loaded = artifact::load(dir.path(), "test-model").unwrap();
    assert_eq!(loaded, trained);
    let feats = features::compute(&ds, &wm, d("2025-09-01"), 60).unwrap();
    let a = model::score(&trained, &feats, &BandCutoffs::default()).unwrap();
    let b = model::score(&loaded, &feats, &BandCutoffs::default()).unwrap();
    assert_eq!(a.len(), feats.employers.rows() + feats.projects.rows());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.probability.to_bits(), y.probability.to_bits());
        assert_eq!(x.raw_score.to_bits(), y.raw_score.to_bits());
        assert_eq!(x.rank, y.rank);
        assert!((0.0..=1.0).contains(&x.probability));
        assert!(x.reasons.len() <= 3);
    }
    // The reasons explain the score they stand beside: contributions and bias add up to the raw score.
    let m = &feats.employers;
    for i in 0..m.rows().min(50) {
        let x = ndarray::ArrayView1::from(m.row(i));
        let (bias, contributions) = trained.employer.learner.contributions(x);
        let raw = trained.employer.learner.raw_score(x);
        assert!((bias + contributions.iter().sum::<f64>() - raw).abs() < 1e-9, "row {i}");
    }
    // Expected harm is the probability times the amount given an event, finite and not negative, also for a
    // firm with no wage history at all (every wage feature zero): its other features give the amount.
    assert!(trained.employer.amount.is_some(), "enough events to learn amounts from");
    for s in a.iter().filter(|s| s.entity_type == EntityType::Employer) {
        let e = s.expected.expect("an employer model with amounts gives expected harm");
        assert!(e.unpaid_yuan.is_finite() && e.unpaid_yuan >= 0.0 && e.workers.is_finite() && e.workers >= 0.0);
    }
    let mut blank = feats.employers.clone();
    blank.values.iter_mut().for_each(|v| *v = 0.0);
    for s in model::score_matrix(&trained.employer, &blank, &BandCutoffs::default()).unwrap() {
        let e = s.expected.unwrap();
        assert!(e.unpaid_yuan.is_finite() && e.unpaid_yuan >= 0.0 && e.workers.is_finite(), "{e:?}");
    }
    // A feature that is not a finite number is refused at the model boundary, not scored.
    let mut broken = feats.employers.clone();
    broken.values[broken.features.len() + 4] = f64::NAN;
    let err = model::score_matrix(&trained.employer, &broken, &BandCutoffs::default()).unwrap_err();
    assert!(matches!(err, model::ModelError::NonFinite { row: 1, column: 4 }), "{err}");
    check_reasons_tell_entities_apart(&feats, &a);
    check_levers_are_counterfactuals(&trained, &feats);
    // Ranks are 1..n within each entity type.
    for t in EntityType::ALL {
        let mut ranks: Vec<u32> = a.iter().filter(|s| s.entity_type == t).map(|s| s.rank).collect();
        ranks.sort_unstable();
        assert!(ranks.iter().enumerate().all(|(i, r)| *r as usize == i + 1));
    }
    // The card states the training window.
    let card = std::fs::read_to_string(dir.path().join("test-model/model_card.md")).unwrap();
    assert!(card.contains("training cutoff: 2025-09-01"), "{card}");
    // And in Chinese, for Chinese readers: the same figures, no English headings.
    let zh = std::fs::read_to_string(dir.path().join("test-model/model_card.zh.md")).unwrap();
    assert!(zh.contains("训练截止日: 2025-09-01") && zh.contains("## 已知局限"), "{zh}");
    assert!(!zh.contains("## Known limits") && !zh.contains("## Training"), "{zh}");
    for m in [&trained.employer, &trained.project] {
        let rows = format!("{}: {} ({}", "训练样本", m.training_rows, m.training_events);
        assert!(zh.contains(&rows), "{rows} missing from {zh}");
    }
    assert!(matches!(artifact::load(dir.path(), "nope"), Err(model::ModelError::UnknownModel { .. })));
    // The training panel's distributions travel with the model (runs measure drift against them); a
    // damaged one is refused, not read as no drift.
    assert!(trained.employer.drift_reference.as_ref().is_some_and(|r| r.score.is_some()));
    let path = dir.path().join("test-model/model.json");
    let good = std::fs::read(&path).unwrap();
    let mut file: serde_json::Value = serde_json::from_slice(&good).unwrap();
    file["entities"][0]["drift_reference"]["features"][0]["shares"] = serde_json::json!([0.5]);
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    let err = artifact::load(dir.path(), "test-model").unwrap_err();
    assert!(err.to_string().contains("drift reference"), "{err}");
    // A model saved before drift was kept still loads, without a reference.
    let mut file: serde_json::Value = serde_json::from_slice(&good).unwrap();
    file["entities"][0].as_object_mut().unwrap().remove("drift_reference");
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    assert!(artifact::load(dir.path(), "test-model").unwrap().employer.drift_reference.is_none());
    // A model saved before amounts were kept still loads, without expected harm.
    let mut file: serde_json::Value = serde_json::from_slice(&good).unwrap();
    file["entities"][0].as_object_mut().unwrap().remove("amount");
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    let old = artifact::load(dir.path(), "test-model").unwrap();
    assert!(old.employer.amount.is_none());
    assert!(model::score(&old, &feats, &BandCutoffs::default()).unwrap()[0].expected.is_none());
    // A model written by an older schema (version 1 held an isotonic curve) is refused by name, not misread.
    let path = dir.path().join("test-model/model.json");
    let mut file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    file["schema_version"] = serde_json::json!(1);
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    let err = artifact::load(dir.path(), "test-model").unwrap_err();
    assert!(matches!(err, model::ModelError::SchemaVersion { found: 1, expected: 2, .. }), "{err}");
    assert!(err.to_string().contains("train the model again"), "{err}");
    let _ = Feature::ALL;
}

#[test]
fn backtest_and_watchlist_follow_the_contract() {
    use wagewatch_core::backtest::{self, BacktestConfig};
    let ds = province(160, 31, "2023-01-01", "2026-03-31");
    let wm = WorkerMonths::build(&ds);
    let out = tempfile::tempdir().unwrap();
    let config = BacktestConfig {
        from: d("2025-06-01"),
        to: d("2025-12-01"),
        step_months: 6,
        horizon_days: 60,
        panel_months: 12,
        calibration_months: 3,
        watchlists: Some(out.path().join("watchlists")),
        selection_weights: true,
        monotone: true,
        recency_half_life_months: None,
        bags: wagewatch_core::model::BAGS,
        model_seed: wagewatch_core::model::DEFAULT_SEED,
    };
    let seen = std::cell::Cell::new(0);
    let result = backtest::run(&ds, &wm, &config, &|_, _| seen.set(seen.get() + 1)).unwrap();
    assert_eq!(result.dates, vec![d("2025-06-01"), d("2025-12-01")]);
    assert_eq!(seen.get(), 2);
    let report = result.report(None);
    let employers = &report.entity_types.employer;
    let auc = employers.pooled.model.roc_auc;
    assert!((0.0..=1.0).contains(&auc), "{auc}");
    assert!(employers.pooled.events > 0);
    // 2025-12-01 is pre-festival (the 2026 festival is on 02-17), 2025-06-01 off-peak.
    assert!(employers.pre_festival.entities > 0);
    assert!(employers.off_peak.entities > 0);
    // One learner per date and type, each with the boosting rounds early stopping kept (at least 10).
    assert_eq!(report.learners.len(), 4, "{:?}", report.learners);
    assert!(report.learners.iter().all(|l| l.trees >= 10), "{:?}", report.learners);
    let md_path = backtest::write_report(&result, None, out.path()).unwrap();
    let md = std::fs::read_to_string(md_path).unwrap();
    assert!(md.contains("rule baseline") && md.contains("Reliability"), "{md}");
    // Each date's calibration gap is judged over bins of 200+ entities only: this province's are smaller.
    assert!(md.contains("| calibration |"), "{md}");
    for d in &employers.per_date {
        assert!(d.evaluation.model.reliability_worst_gap.is_none(), "{d:?}");
        assert!(d.evaluation.model.reliability.iter().all(|b| b.entities < 200));
    }
    let pooled_gap = employers.pooled.model.reliability_worst_gap;
    assert!(pooled_gap.is_none_or(|g| (0.0..=1.0).contains(&g)), "{pooled_gap:?}");
    // The JSON written is the same report, read back by its one type.
    let read = backtest::Report::read(&out.path().join("report.json")).unwrap();
    assert_eq!(read, report);
    check_fairness(&report, out.path());
    check_harm(&report);
    for svg in ["precision_at_k_employer.svg", "reliability_project.svg"] {
        let text = std::fs::read_to_string(out.path().join(svg)).unwrap();
        assert!(text.starts_with("<svg") && text.contains("polyline"), "{svg}");
    }
    // The watchlist: the contract's columns, ranks 1..n within each type, scores in 0..1, known bands.
    let csv = std::fs::read_to_string(out.path().join("watchlists/watchlist_2025-12-01.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "entity_type,entity_id,region_code,score,rank,band,reasons,expected_unpaid_yuan,expected_workers,levers,band_floor,alerts,raw_score");
    let mut ranks: std::collections::HashMap<String, Vec<u32>> = Default::default();
    let mut by_rank: std::collections::HashMap<String, Vec<(u32, f64)>> = Default::default();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let score: f64 = f[3].parse().unwrap();
        by_rank.entry(f[0].to_string()).or_default().push((f[4].parse().unwrap(), score));
        assert!((0.0..=1.0).contains(&score), "{line}");
        assert!(["red", "orange", "yellow", "green"].contains(&f[5]), "{line}");
        assert_eq!(f[2].len(), 6, "{line}");
        assert!(f[6].split(';').filter(|c| !c.is_empty()).all(|c| Feature::parse(c).is_some()), "{line}");
        // Expected harm: yuan and workers, never negative or NaN, present for employers (enough events to
        // learn amounts from).
        let expected: Vec<Option<f64>> = f[7..9].iter().map(|v| v.parse().ok()).collect();
        assert!(expected.iter().flatten().all(|v| v.is_finite() && *v >= 0.0), "{line}");
        assert!(f[0] == "project" || expected.iter().all(|v| v.is_some()), "{line}");
        ranks.entry(f[0].to_string()).or_default().push(f[4].parse().unwrap());
    }
    assert_eq!(ranks.len(), 2);
    for (_, mut r) in ranks {
        r.sort_unstable();
        assert!(r.iter().enumerate().all(|(i, v)| *v as usize == i + 1));
    }
    // Scores fall strictly with the rank: the calibration creates no ties.
    for (t, mut rows) in by_rank {
        rows.sort_unstable_by_key(|r| r.0);
        assert!(rows.windows(2).all(|w| w[0].1 > w[1].1), "{t}: scores tie or disagree with ranks");
    }
}

/// The wages at stake each ranking's top reached: shares of the date's total, none above the best possible
/// list's, the expected-harm ranking present where the model learnt amounts, and the amount model judged.
fn check_harm(report: &wagewatch_core::backtest::Report) {
    for t in EntityType::ALL {
        for d in &report.entity_types.of(t).per_date {
            let h = d.harm.as_ref().expect("every date reports harm");
            assert!(h.unpaid_yuan > 0.0 && h.workers > 0, "{t} {}: some wages went unpaid", d.as_of);
            for at in &h.at_k {
                let best = at.best_possible;
                let rankings = [Some(at.by_probability), at.by_expected_harm, Some(at.rule)];
                for c in rankings.iter().flatten() {
                    assert!((0.0..=best.unpaid_yuan + 1e-12).contains(&c.unpaid_yuan), "{t} {at:?}");
                    assert!((0.0..=best.workers + 1e-12).contains(&c.workers), "{t} {at:?}");
                }
                assert!(best.unpaid_yuan <= 1.0 + 1e-12 && best.workers <= 1.0 + 1e-12);
            }
            if t == EntityType::Employer {
                assert!(h.at_k.iter().all(|a| a.by_expected_harm.is_some()), "{:?}", h.at_k);
                assert!(h.amount_log_mae.is_some_and(|e| e.is_finite() && e >= 0.0));
                assert!(h.expected_total_ratio.is_some_and(|r| r.is_finite() && r > 0.0));
            }
        }
    }
}

/// The backtest's fairness audit partitions every entity type's outcomes once per attribute, and
/// attaching the report to a model puts it in the model card (once, however often it is attached).
fn check_fairness(report: &wagewatch_core::backtest::Report, report_dir: &std::path::Path) {
    let audit = report.fairness.as_ref().expect("a fairness audit");
    let attributes = |t: &str| audit.attributes.iter().filter(|a| a.entity_type == t).count();
    assert_eq!(attributes("employer"), 5, "kind, sector, size, firm age, city");
    assert_eq!(attributes("project"), 3, "size, city, funding");
    for a in &audit.attributes {
        let whole = &report.entity_types.of(EntityType::parse(&a.entity_type).unwrap()).pooled;
        let entities: usize = a.groups.iter().map(|g| g.counts.entities).sum();
        let events: usize = a.groups.iter().map(|g| g.counts.events).sum();
        assert_eq!((entities, events), (whole.entities, whole.events), "{} by {}", a.entity_type, a.attribute);
        let largest = a.groups.iter().map(|g| g.counts.entities).max().unwrap();
        let reference = a.groups.iter().find(|g| g.group == a.reference_group).unwrap();
        assert_eq!(reference.counts.entities, largest);
        assert!(reference.flags.is_empty());
        for g in &a.groups {
            for (name, r) in g.ratios.named() {
                let out = r.is_some_and(|r| !(0.8..=1.25).contains(&r));
                if g.flags.iter().any(|f| f == name) {
                    assert!(out && g.counts.entities >= 30, "{} {name} flagged at {r:?}", g.group);
                }
            }
        }
    }
    let models = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(models.path().join("m")).unwrap();
    std::fs::write(models.path().join("m/model_card.md"), "# Model card: m\n\nbody\n").unwrap();
    std::fs::write(models.path().join("m/model_card.zh.md"), "# 模型说明: m\n\n正文\n").unwrap();
    for _ in 0..2 {
        artifact::attach_backtest(models.path(), "m", report_dir).unwrap();
    }
    let card = std::fs::read_to_string(models.path().join("m/model_card.md")).unwrap();
    assert!(card.starts_with("# Model card: m\n\nbody\n"), "{card}");
    assert_eq!(card.matches("## Fairness audit").count(), 1, "{card}");
    assert!(card.contains("employers by kind") && card.contains("projects by funding"), "{card}");
    let zh = std::fs::read_to_string(models.path().join("m/model_card.zh.md")).unwrap();
    assert!(zh.starts_with("# 模型说明: m\n\n正文\n"), "{zh}");
    assert_eq!(zh.matches("## 公平性审计").count(), 1, "{zh}");
    assert!(!zh.contains("## Fairness audit"), "{zh}");
}

#[test]
fn the_audit_slice_is_drawn_at_random_and_its_findings_weigh_by_the_inverse_share() {
    use wagewatch_core::contract::Selection;
    let f = crate::server::fixture();
    let mut ds = load_strict(&f.data).unwrap().dataset;
    // The generator records why each firm was inspected, and draws a random slice.
    let ins = &ds.inspections;
    let count = |s: Selection| ins.selection.iter().filter(|x| **x == Some(s)).count();
    assert!(ins.selection.iter().all(Option::is_some));
    assert!(count(Selection::Random) >= 10 && count(Selection::Complaint) > 0 && count(Selection::Routine) > 0);
    let found_rate = |s: Selection| {
        let of: Vec<usize> = (0..ins.len()).filter(|&i| ins.selection[i] == Some(s)).collect();
        of.iter().filter(|&&i| ins.found_arrears[i]).count() as f64 / of.len() as f64
    };
    assert!(found_rate(Selection::Complaint) > 3.0 * found_rate(Selection::Random), "complaints pick owing firms");
    // The slice of a horizon: exactly the employers inspected at random in it.
    let t = d("2025-06-01");
    let slice = target::audit_slice(&ds, t, 60, None);
    let expected: std::collections::BTreeSet<usize> = (0..ins.len())
        .filter(|&i| ins.selection[i] == Some(Selection::Random))
        .filter(|&i| ins.inspected_on[i] > t && ins.inspected_on[i] <= t.add_days(60))
        .map(|i| ins.employer[i].index())
        .collect();
    let marked: std::collections::BTreeSet<usize> =
        slice.employers.iter().enumerate().filter(|(_, m)| m.inspected).map(|(e, _)| e).collect();
    assert_eq!(marked, expected);

    // A fixture with findings in the slice: every inspection that found arrears was a random one.
    for i in 0..ds.inspections.len() {
        if ds.inspections.found_arrears[i] {
            ds.inspections.selection[i] = Some(Selection::Random);
        }
    }
    let wm = WorkerMonths::build(&ds);
    let cutoff = d("2025-10-01");
    let dates = model::panel_dates(cutoff, 60, 12);
    let panel = model::panel(&ds, &wm, &dates, 60, Some(cutoff)).unwrap();
    let mut weighted_rows = 0;
    for s in &panel {
        let m = &s.features.employers;
        let w = model::selection_weights(s, EntityType::Employer);
        let drawn = m.entities.iter().filter(|&&e| s.slice.employers[e as usize].inspected).count();
        for (i, &e) in m.entities.iter().enumerate() {
            let expected = if s.slice.employers[e as usize].found {
                (m.rows() as f64 / drawn as f64).min(model::MAX_SELECTION_WEIGHT)
            } else {
                1.0
            };
            assert_eq!(w[i], expected);
            weighted_rows += usize::from(w[i] > 1.0);
        }
    }
    let found: usize = panel.iter().map(|s| s.slice.employers.iter().filter(|m| m.found).count()).sum();
    let drawn: usize = panel.iter().map(|s| s.slice.employers.iter().filter(|m| m.inspected).count()).sum();
    assert!(weighted_rows > 0, "the fixture has findings in the slice: {found} found of {drawn} drawn");
    // Weighting raises the trees' scores of the rows the slice found arrears at; without a slice the
    // switch changes nothing.
    let train = |ds: &Dataset, weights: bool| {
        let wm = WorkerMonths::build(ds);
        let mut c = TrainConfig::new(cutoff, 60);
        c.panel_months = 12;
        c.calibration_months = 3;
        c.gbdt = model::GbdtParams::default().trees(40);
        c.selection_weights = weights;
        model::train(ds, &wm, &c, "w".into(), "fp").unwrap()
    };
    let (on, off) = (train(&ds, true), train(&ds, false));
    let mean_on_found = |m: &model::RiskModel| {
        let mut sum = 0.0;
        for s in &panel {
            let fm = &s.features.employers;
            for (i, &e) in fm.entities.iter().enumerate() {
                if s.slice.employers[e as usize].found {
                    let x = ndarray::Array2::from_shape_vec((1, fm.features.len()), fm.row(i).to_vec()).unwrap();
                    sum += linfa::prelude::Predict::predict(&m.employer.learner.gbdt, &x)[0];
                }
            }
        }
        sum / weighted_rows as f64
    };
    assert!(mean_on_found(&on) > mean_on_found(&off), "{} <= {}", mean_on_found(&on), mean_on_found(&off));
    for s in ds.inspections.selection.iter_mut() {
        *s = None;
    }
    assert_eq!(train(&ds, true), train(&ds, false));
}

/// A 120-employer province of 2024–2025 generated with `seed`, and its features as of `t`.
fn features_of_a_province(seed: u64, t: Date) -> (Dataset, features::Features) {
    let ds = province(120, seed, "2024-01-01", "2025-12-31");
    let wm = WorkerMonths::build(&ds);
    let f = features::compute(&ds, &wm, t, 60).unwrap();
    (ds, f)
}

#[test]
fn a_contractor_sees_the_short_pay_on_its_sites() {
    let (ds, f) = features_of_a_province(33, d("2025-11-01"));
    let employer_row = |e: u32| f.employers.entities.iter().position(|x| *x == e);
    let mut contractors_with_short_pay = 0;
    for e in 0..ds.employers.len() as u32 {
        let Some(i) = employer_row(e) else { continue };
        let site_days = f.employers.get(i, Feature::SiteDaysSinceShortPay).unwrap();
        let site_short = f.employers.get(i, Feature::SiteShortPaidWorkerMonths3m).unwrap();
        let site_owed = f.employers.get(i, Feature::SiteOverdueUnpaidYuan).unwrap();
        // The scored projects it contracts: its sites hold at least their short pay, and at least as recent.
        let (mut days, mut short, mut owed, mut sites) = (730.0f64, 0.0, 0.0, 0);
        for (j, &p) in f.projects.entities.iter().enumerate() {
            if ds.projects.general_contractor[p as usize].index() == e as usize {
                sites += 1;
                days = days.min(f.projects.get(j, Feature::DaysSinceShortPay).unwrap());
                short += f.projects.get(j, Feature::ShortPaidWorkerMonths3m).unwrap();
                owed += f.projects.get(j, Feature::OverdueUnpaidYuan).unwrap();
            }
        }
        assert!(site_days <= days && site_short >= short && site_owed >= owed - 0.01, "employer {e}");
        if sites > 0 && site_days < 730.0 {
            contractors_with_short_pay += 1;
        }
        let contracts_any = (0..ds.projects.len()).any(|p| ds.projects.general_contractor[p].index() == e as usize);
        if !contracts_any {
            assert_eq!((site_days, site_short, site_owed), (730.0, 0.0, 0.0), "employer {e} contracts no project");
        }
    }
    assert!(contractors_with_short_pay > 0, "the province has contractors whose sites short-paid");
}

/// Each project's crew, naively: the employers with a row on it due in the 90 days up to `t`.
fn naive_crews(ds: &Dataset, t: Date) -> std::collections::HashMap<usize, std::collections::BTreeSet<u32>> {
    let mut crew: std::collections::HashMap<usize, std::collections::BTreeSet<u32>> = Default::default();
    for r in 0..ds.payroll.len() {
        let (due, Some(p)) = (ds.payroll.due_date[r], ds.payroll.project[r]) else { continue };
        if due <= t && t.days_since(due) < 90 {
            crew.entry(p.index()).or_default().insert(ds.payroll.employer[r].index() as u32);
        }
    }
    crew
}

#[test]
fn a_site_sees_the_late_pay_of_its_crews_and_its_own_unpaid_quarter() {
    let t = d("2025-11-01");
    let (ds, f) = features_of_a_province(35, t);
    let crew = naive_crews(&ds, t);
    let employer_share = |e: u32| {
        let i = f.employers.entities.iter().position(|x| *x == e).expect("a crew employer has wages due, so is scored");
        f.employers.get(i, Feature::ShareLate90d).unwrap()
    };
    let (mut late_sites, mut unpaid_sites) = (0, 0);
    for (j, &p) in f.projects.entities.iter().enumerate() {
        let expected =
            crew.get(&(p as usize)).map_or(0.0, |c| c.iter().map(|&e| employer_share(e)).fold(0.0, f64::max));
        let got = f.projects.get(j, Feature::CrewMaxShareLate90d).unwrap();
        assert!((got - expected).abs() < 1e-12, "project {p}: {got} against {expected}");
        late_sites += usize::from(got > 0.0);
        // The unpaid share of the quarter's wages is a share, and what it leaves unpaid is overdue.
        let share = f.projects.get(j, Feature::UnpaidRatio90d).unwrap();
        let quarter_bill = 3.0 * f.projects.get(j, Feature::MonthlyWageBillYuan).unwrap();
        let overdue = f.projects.get(j, Feature::OverdueUnpaidYuan).unwrap();
        assert!((0.0..=1.0).contains(&share), "project {p}: share {share}");
        assert!(share * quarter_bill <= overdue + 0.01, "project {p}: {share} of {quarter_bill} > {overdue}");
        unpaid_sites += usize::from(share > 0.0);
    }
    assert!(
        late_sites > 0 && unpaid_sites > 0,
        "the province has late crews ({late_sites}) and unpaid sites ({unpaid_sites})"
    );
    // Employers have no such share: it lowered their ranking (docs/measurements.md, Worlds).
    assert_eq!(f.employers.get(0, Feature::UnpaidRatio90d), None);
}

#[test]
fn a_firm_shows_how_long_it_has_short_paid_what_a_worker_is_due_and_since_when_it_is_blacklisted() {
    let t = d("2025-11-01");
    let (ds, f) = features_of_a_province(41, t);
    let pr = &ds.payroll;
    let window = |r: usize| pr.due_date[r] <= t && t.days_since(pr.due_date[r]) < features::PAYROLL_LOOKBACK_DAYS;
    // The latest wage month on the books, and each employer's wages and workers in it.
    let p0 = (0..pr.len()).filter(|&r| window(r)).map(|r| pr.period[r]).max().unwrap();
    let mut latest: std::collections::HashMap<usize, (i64, u32)> = Default::default();
    for r in (0..pr.len()).filter(|&r| window(r) && pr.period[r] == p0) {
        let e = latest.entry(pr.employer[r].index()).or_default();
        e.0 += pr.wage_due[r].fen();
        e.1 += 1;
    }
    let (mut runs, mut blacklisted) = (0, 0);
    for (i, &e) in f.employers.entities.iter().enumerate() {
        let get = |feature| f.employers.get(i, feature).unwrap();
        let expected = latest.get(&(e as usize)).map_or(0.0, |&(fen, n)| fen as f64 / 100.0 / f64::from(n));
        assert!((get(Feature::WagePerWorkerYuan) - expected).abs() < 1e-9, "employer {e}");
        // A run of short-paid months ends at the latest month or the one before it, so it is seen in the last
        // 90 days' short pay, and each of its months (within the year) counts among the year's.
        let run = get(Feature::ShortPayRunMonths);
        assert!(run == 0.0 || get(Feature::ShortPaidWorkerMonths3m) > 0.0, "employer {e}: run {run}");
        assert!(run.min(11.0) <= get(Feature::ShortPaidWorkerMonths12m), "employer {e}: run {run}");
        runs += usize::from(run >= 2.0);
        let since = ds.employers.blacklisted_on[e as usize].filter(|b| *b <= t);
        let days = since.map_or(730.0, |b| f64::from(t.days_since(b)).min(730.0));
        assert_eq!(get(Feature::DaysSinceBlacklisted), days, "employer {e}");
        blacklisted += usize::from(since.is_some());
    }
    assert!(
        runs > 0 && blacklisted > 0,
        "the province has runs of short pay ({runs}) and blacklisted firms ({blacklisted})"
    );
    // A site's crew: the worst unpaid share of a year's wages among its employers.
    let crew = naive_crews(&ds, t);
    let employer_share = |e: u32| {
        let i = f.employers.entities.iter().position(|x| *x == e).expect("a crew employer is scored");
        f.employers.get(i, Feature::UnpaidRatio365d).unwrap()
    };
    for (j, &p) in f.projects.entities.iter().enumerate() {
        let expected =
            crew.get(&(p as usize)).map_or(0.0, |c| c.iter().map(|&e| employer_share(e)).fold(0.0, f64::max));
        assert_eq!(f.projects.get(j, Feature::CrewMaxUnpaidRatio365d).unwrap(), expected, "project {p}");
    }
}

#[test]
fn sector_and_owner_signals_match_a_naive_count() {
    let ds = province(150, 41, "2024-01-01", "2025-12-31");
    let wm = WorkerMonths::build(&ds);
    let t = d("2025-10-01");
    let f = features::compute(&ds, &wm, t, 60).unwrap();
    // The sector's figures are the same for every employer of a sector; projects carry construction's.
    let mut by_sector: std::collections::HashMap<_, (f64, f64)> = Default::default();
    for (i, &e) in f.employers.entities.iter().enumerate() {
        let values = (
            f.employers.get(i, Feature::SectorUnpaidRatio30d).unwrap(),
            f.employers.get(i, Feature::SectorUnpaidTrend).unwrap(),
        );
        assert!((0.0..=1.0).contains(&values.0) && (0.0..=10.0).contains(&values.1), "{values:?}");
        let seen = *by_sector.entry(ds.employers.sector[e as usize]).or_insert(values);
        assert_eq!(seen, values, "employer {e}");
    }
    let construction = by_sector[&wagewatch_core::contract::Sector::Construction];
    for i in 0..f.projects.rows() {
        let values = (
            f.projects.get(i, Feature::SectorUnpaidRatio30d).unwrap(),
            f.projects.get(i, Feature::SectorUnpaidTrend).unwrap(),
        );
        assert_eq!(values, construction);
    }
    // The owner's punctuality across all its projects, counted naively from the progress payments.
    let pp = &ds.progress_payments;
    let punctuality = |owner| {
        let (mut recent, mut before, mut last) = ((0, 0), (0, 0), None::<Date>);
        for k in (0..pp.len()).filter(|&k| ds.projects.owner[pp.project[k].index()] == Some(owner)) {
            let (scheduled, paid_on) = (pp.scheduled_on[k], pp.paid_on[k].filter(|p| *p <= t));
            if scheduled > t {
                continue;
            }
            last = last.max(paid_on);
            let paid = paid_on.map_or(0, |_| pp.amount_paid[k].map_or(0, |m| m.fen()));
            let on_time = paid_on.is_some_and(|p| p.days_since(scheduled) <= 30)
                && paid as f64 >= 0.9 * pp.amount_due[k].fen() as f64;
            let age = t.days_since(scheduled);
            let window = if (30..120).contains(&age) {
                &mut recent
            } else if (120..395).contains(&age) {
                &mut before
            } else {
                continue;
            };
            window.0 += 1;
            window.1 += i32::from(on_time);
        }
        let trend = if recent.0 > 0 && before.0 > 0 {
            f64::from(recent.1) / f64::from(recent.0) - f64::from(before.1) / f64::from(before.0)
        } else {
            0.0
        };
        (trend, last.map_or(730.0, |l| f64::from(t.days_since(l)).min(730.0)))
    };
    let (mut falling, mut owners_failing) = (0, 0.0f64);
    for (i, &p) in f.projects.entities.iter().enumerate() {
        let expected = ds.projects.owner[p as usize].map_or((0.0, 730.0), punctuality);
        let trend = f.projects.get(i, Feature::OwnerPunctualityTrend).unwrap();
        let days = f.projects.get(i, Feature::OwnerDaysSincePaid).unwrap();
        assert!(
            (trend - expected.0).abs() < 1e-12 && days == expected.1,
            "project {p}: {trend} {days} vs {expected:?}"
        );
        falling += usize::from(trend < 0.0);
    }
    for i in 0..f.employers.rows() {
        owners_failing = owners_failing.max(f.employers.get(i, Feature::OwnersFailing).unwrap());
        assert!(f.employers.get(i, Feature::WorstOwnerPunctualityTrend).unwrap() <= 0.0);
    }
    assert!(falling > 0 && owners_failing >= 1.0, "some owners pay later than before: {falling}, {owners_failing}");
}

/// The environment variable that asks for the cross-check against LightGBM (which needs the Python packages
/// of `../shared/reference/setup.sh`).
const LIGHTGBM_ENV: &str = "WAGEWATCH_LIGHTGBM";

/// Rows of small-integer features with a known, non-linear risk: the same binned features for both libraries.
fn integer_rows(n: usize, seed: u64) -> (ndarray::Array2<f64>, Vec<bool>) {
    let mut rng = wagewatch_core::rng::Rng::new(seed);
    let x = ndarray::Array2::from_shape_fn((n, 6), |_| rng.int_in(0, 40) as f64);
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            let z = -3.0 + 0.08 * r[0] + if r[1] > 25.0 { 1.2 } else { 0.0 } + 0.002 * r[2] * r[3] - 0.03 * r[4];
            rng.uniform() < 1.0 / (1.0 + (-z).exp())
        })
        .collect();
    (x, y)
}

fn write_rows(path: &std::path::Path, x: &ndarray::Array2<f64>, y: &[bool]) {
    let mut text = String::new();
    for (row, event) in x.rows().into_iter().zip(y) {
        text.push_str(if *event { "1" } else { "0" });
        for v in row {
            text.push_str(&format!(",{v}"));
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn boosted_trees_match_lightgbm() {
    use linfa::traits::{Fit, Predict};
    use linfa::ParamGuard;
    if std::env::var_os(LIGHTGBM_ENV).is_none() {
        eprintln!("{LIGHTGBM_ENV} is not set: the cross-check against LightGBM is skipped");
        return;
    }
    let (x, y) = integer_rows(20_000, 5);
    let (tx, ty) = integer_rows(8_000, 6);
    let (rounds, leaves, rate, min_rows, min_hessian, l2) = (200, 15, 0.05, 40, 0.5, 1.0);
    let params = model::GbdtParams::default()
        .trees(rounds)
        .max_leaves(leaves)
        .learning_rate(rate)
        .max_depth(8)
        .min_leaf_rows(min_rows)
        .min_leaf_hessian(min_hessian)
        .l2(l2)
        .row_fraction(1.0)
        .feature_fraction(1.0)
        .check()
        .unwrap();
    let ours = params.fit(&linfa::Dataset::new(x.clone(), ndarray::Array1::from(y.clone()))).unwrap();
    let our_raw: ndarray::Array1<f64> = ours.predict(&tx);
    let dir = tempfile::tempdir().unwrap();
    write_rows(&dir.path().join("train.csv"), &x, &y);
    write_rows(&dir.path().join("test.csv"), &tx, &ty);
    let settings = serde_json::json!({
        "rounds": rounds, "num_leaves": leaves, "learning_rate": rate, "max_depth": 8,
        "min_data_in_leaf": min_rows, "min_sum_hessian_in_leaf": min_hessian, "lambda_l2": l2,
    });
    std::fs::write(dir.path().join("params.json"), settings.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lightgbm_check.py");
    let out = std::process::Command::new(crate::support::python())
        .arg(&script)
        .args(["train.csv", "test.csv", "params.json", "lightgbm.csv"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "LightGBM failed: {}", String::from_utf8_lossy(&out.stderr));
    let their_raw: Vec<f64> = std::fs::read_to_string(dir.path().join("lightgbm.csv"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let prob = |raw: &[f64]| raw.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect::<Vec<f64>>();
    let (our_loss, their_loss) = (
        wagewatch_core::metrics::log_loss(&prob(our_raw.as_slice().unwrap()), &ty),
        wagewatch_core::metrics::log_loss(&prob(&their_raw), &ty),
    );
    let (our_auc, their_auc) = (
        wagewatch_core::metrics::roc_auc(our_raw.as_slice().unwrap(), &ty),
        wagewatch_core::metrics::roc_auc(&their_raw, &ty),
    );
    eprintln!(
        "held-out log loss: wagewatch {our_loss:.5}, LightGBM {their_loss:.5}; AUC {our_auc:.5} vs {their_auc:.5}"
    );
    // Same loss, same splits, same leaf values: the two agree to well within these tolerances.
    assert!((our_loss - their_loss).abs() <= 0.002, "log loss {our_loss} vs LightGBM {their_loss}");
    assert!((our_auc - their_auc).abs() <= 0.002, "AUC {our_auc} vs LightGBM {their_auc}");
    let largest_gap = our_raw.iter().zip(&their_raw).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    eprintln!("largest difference of a held-out raw score: {largest_gap:.4}");
}

/// No reason is a feature every entity of the date shares (the season features, or any column constant
/// over the date's population), every reason quotes the entity's own value and pushed its score up, and
/// reasons are still given.
fn check_reasons_tell_entities_apart(feats: &features::Features, scored: &[model::Scored]) {
    let mut given = 0;
    for t in EntityType::ALL {
        let m = feats.matrix(t);
        let p = m.features.len();
        let shared: Vec<Feature> = (0..p)
            .filter(|&j| (1..m.rows()).all(|i| m.values[i * p + j] == m.values[j]))
            .map(|j| m.features[j])
            .chain(m.features.iter().copied().filter(|f| f.def().group == "season"))
            .collect();
        assert!(shared.contains(&Feature::DaysToSpringFestival), "{t}: the season is the same for all");
        let row_of: std::collections::HashMap<u32, usize> =
            m.entities.iter().enumerate().map(|(i, e)| (*e, i)).collect();
        for s in scored.iter().filter(|s| s.entity_type == t) {
            let row = m.row(row_of[&s.entity]);
            for r in &s.reasons {
                assert!(!shared.contains(&r.feature), "{t} {}: {} is shared by every entity", s.entity, r.code());
                let j = m.features.iter().position(|f| *f == r.feature).unwrap();
                assert_eq!(r.value.to_bits(), row[j].to_bits(), "{t} {}: {} quotes another value", s.entity, r.code());
                assert!(r.weight > 0.0);
                given += 1;
            }
        }
    }
    assert!(given > 0, "some entity has a reason");
}

/// Every lever shown lowers the entity's probability by half a point or more, and is what the model gives
/// the row with the measure applied: paying the overdue wages, re-scored here through `score_matrix` on a
/// changed matrix, gives the same probability. A lever that does not apply is never shown, and only red
/// and orange entities get levers.
fn check_levers_are_counterfactuals(trained: &model::RiskModel, feats: &features::Features) {
    use model::{Band, Lever};
    let bands = BandCutoffs { red: 0.3, orange: 0.1, yellow: 0.05 };
    let mut shown = 0;
    for t in EntityType::ALL {
        let m = feats.matrix(t);
        let scored = model::score_matrix(trained.entity(t), m, &bands).unwrap();
        let mut paid = m.clone();
        let p = m.features.len();
        for i in 0..m.rows() {
            for f in [
                Feature::OverdueUnpaidYuan,
                Feature::OverdueUnpaidToMonthlyWageBill,
                Feature::UnpaidRatio30d,
                Feature::UnpaidRatio90d,
                Feature::ShareWorkersUnpaid90d,
                Feature::SiteOverdueUnpaidYuan,
            ] {
                if let Some(j) = m.features.iter().position(|g| *g == f) {
                    paid.values[i * p + j] = 0.0;
                }
            }
        }
        let after_paying = model::score_matrix(trained.entity(t), &paid, &bands).unwrap();
        for (i, s) in scored.iter().enumerate() {
            if s.band > Band::Orange {
                assert!(s.levers.is_empty(), "{t} {}: levers for a {:?} entity", s.entity, s.band);
                continue;
            }
            assert!(s.levers.windows(2).all(|w| w[0].probability <= w[1].probability), "largest drop first");
            for l in &s.levers {
                assert!(l.probability <= s.probability - model::levers::MIN_DROP, "{t} {}: {l:?}", s.entity);
                shown += 1;
                match l.lever {
                    Lever::PayOverdueWages => {
                        let owed = m.get(i, Feature::OverdueUnpaidYuan).unwrap()
                            + m.get(i, Feature::SiteOverdueUnpaidYuan).unwrap_or(0.0);
                        assert!(owed > 0.0, "{t} {}: nothing overdue to pay", s.entity);
                        assert!((l.probability - after_paying[i].probability).abs() < 1e-12, "{t} {}", s.entity);
                    }
                    Lever::LodgeDeposit if t == EntityType::Project => {
                        assert_eq!(m.get(i, Feature::HasGuaranteeDeposit), Some(0.0), "already lodged");
                    }
                    Lever::OpenWageAccount if t == EntityType::Project => {
                        assert_eq!(m.get(i, Feature::WageAccountOpened), Some(0.0), "already opened");
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(shown > 0, "some red or orange entity has a measure that lowers its risk");
}

/// The shared fixture's model `m-test`, its dataset, and the features of that dataset as of `t`.
fn fixture_features(t: Date) -> (model::RiskModel, Dataset, features::Features) {
    let f = crate::server::fixture();
    let trained = artifact::load(&f.models, "m-test").unwrap();
    let ds = load_strict(&f.data).unwrap().dataset;
    let wm = WorkerMonths::build(&ds);
    let feats = features::compute(&ds, &wm, t, trained.horizon_days).unwrap();
    (trained, ds, feats)
}

#[test]
fn what_is_known_to_raise_risk_never_lowers_a_trained_models_score() {
    // The fixture's model, trained with the known directions: for every scored entity and every feature
    // with a known direction, moving the feature that way (from its own value, by steps small and large)
    // never lowers the raw score, whatever the other features are.
    let (trained, _, feats) = fixture_features(d("2025-12-01"));
    let mut checked = 0;
    for m in [&trained.employer, &trained.project] {
        let matrix = feats.matrix(m.entity_type);
        for i in 0..matrix.rows() {
            let row = matrix.row(i).to_vec();
            for (j, feature) in m.features.iter().enumerate() {
                let direction = f64::from(feature.known_direction());
                if direction == 0.0 {
                    continue;
                }
                let score = |v: f64| {
                    let mut x = row.clone();
                    x[j] = v;
                    m.learner.raw_score(ndarray::ArrayView1::from(&x))
                };
                let mut last = score(row[j]);
                for step in [0.5, 1.0, 3.0, 10.0, 100.0, 1e4, 1e6] {
                    let v = row[j] + direction * step;
                    if direction < 0.0 && v < 0.0 {
                        break;
                    }
                    let now = score(v);
                    assert!(
                        now >= last - 1e-9,
                        "{} {i}: {} -> {v} lowered {last} to {now}",
                        m.entity_type,
                        feature.name()
                    );
                    last = now;
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn a_band_floor_raises_the_band_only_while_its_fact_is_recent_and_not_found_cleared() {
    use model::floors::{self, BandFloor, FloorRule, DEFAULT_FLOORS};
    use model::Band;
    let t = d("2025-12-01");
    let (trained, base, feats) = fixture_features(t);
    let scored = model::score(&trained, &feats, &BandCutoffs::default()).unwrap();
    let green = |ty: EntityType| scored.iter().find(|s| s.entity_type == ty && s.band == Band::Green).unwrap().entity;
    let (employer, project) = (green(EntityType::Employer), green(EntityType::Project));
    let top = scored.iter().find(|s| s.entity_type == EntityType::Employer && s.rank == 1).unwrap();
    assert!(top.band <= Band::Orange, "the top employer is red or orange: {top:?}");
    let (found, substantiated) = (DEFAULT_FLOORS[0], DEFAULT_FLOORS[1]);
    assert_eq!((found.rule, substantiated.rule), (FloorRule::ArrearsFound, FloorRule::SubstantiatedComplaint));
    let found_red = BandFloor { at_least: Band::Red, ..found };

    // (case, floors, inspections of employers as (employer, days before T, found arrears), substantiated
    // complaints about projects as (project, days before T it closed), the entity looked at, its band and
    // floor expected)
    let check = |case: &str,
                 floors: &[BandFloor],
                 inspections: &[(u32, i32, bool)],
                 complaints: &[(u32, i32)],
                 at: (EntityType, u32),
                 expected: (Band, Option<BandFloor>)| {
        let mut ds = base.clone();
        for (k, &(e, days, arrears)) in inspections.iter().enumerate() {
            ds.inspections.inspection_id.push(&format!("FLOOR{k}"));
            ds.inspections.employer.push(EmployerIx::new(e as usize));
            ds.inspections.project.push(None);
            ds.inspections.inspected_on.push(t.add_days(-days));
            ds.inspections.found_arrears.push(arrears);
            ds.inspections.arrears_amount.push(arrears.then(|| Money::from_fen(15_000_000)));
            ds.inspections.workers_affected.push(arrears.then_some(30));
            ds.inspections.selection.push(None);
        }
        for (k, &(p, days)) in complaints.iter().enumerate() {
            ds.complaints.complaint_id.push(&format!("FLOOR{k}"));
            ds.complaints.received_on.push(t.add_days(-days - 20));
            ds.complaints.employer.push(None);
            ds.complaints.project.push(Some(ProjectIx::new(p as usize)));
            ds.complaints.channel.push(Channel::Hotline);
            ds.complaints.category.push(Category::WageArrears);
            ds.complaints.workers_involved.push(5);
            ds.complaints.amount_claimed.push(None);
            ds.complaints.closed_on.push(Some(t.add_days(-days)));
            ds.complaints.outcome.push(Some(Outcome::Substantiated));
        }
        let mut after = scored.clone();
        floors::apply(&mut after, &ds, t, floors);
        let s = after.iter().find(|s| (s.entity_type, s.entity) == at).unwrap();
        assert_eq!((s.band, s.floor), expected, "{case}");
        // A floor moves the band only, and only up: every probability and rank stays the model's.
        assert!(after.iter().zip(&scored).all(|(a, b)| (a.probability, a.rank) == (b.probability, b.rank)), "{case}");
        assert!(after.iter().zip(&scored).all(|(a, b)| a.band <= b.band), "{case}");
    };
    let (e, p, r) =
        ((EntityType::Employer, employer), (EntityType::Project, project), (EntityType::Employer, top.entity));
    let default = &DEFAULT_FLOORS[..];
    let orange = |floor| (Band::Orange, Some(floor));
    let unmoved = (Band::Green, None);
    check("arrears found 10 days ago", default, &[(employer, 10, true)], &[], e, orange(found));
    check("found 30 days ago: still within", default, &[(employer, 30, true)], &[], e, orange(found));
    check("found 31 days ago: too old", default, &[(employer, 31, true)], &[], e, unmoved);
    check("found after T: not known yet", default, &[(employer, -3, true)], &[], e, unmoved);
    check("found, then cleared", default, &[(employer, 10, true), (employer, 4, false)], &[], e, unmoved);
    check("cleared, then found", default, &[(employer, 10, false), (employer, 4, true)], &[], e, orange(found));
    check("a clean inspection alone", default, &[(employer, 4, false)], &[], e, unmoved);
    check("another employer's finding", default, &[(top.entity, 4, true)], &[], e, unmoved);
    check("substantiated 5 days ago", default, &[], &[(project, 5)], p, orange(substantiated));
    check("substantiated 45 days ago", default, &[], &[(project, 45)], p, unmoved);
    check(
        "the strongest floor wins",
        &[found, found_red],
        &[(employer, 3, true)],
        &[],
        e,
        (Band::Red, Some(found_red)),
    );
    check("the top employer keeps its band, no floor", default, &[(top.entity, 3, true)], &[], r, (top.band, None));
    check("no floors configured", &[], &[(employer, 3, true)], &[], e, unmoved);
}

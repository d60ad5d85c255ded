//! What to fix: the measures an inspector can order (建议措施), each judged by re-scoring the entity with it
//! applied. A lever changes the features the measure changes (a deposit lodged, a wage account opened, the
//! overdue wages paid, the owner's overdue progress payments cleared) and the model scores the changed row;
//! only levers that apply to the entity and lower its probability are kept, the largest drop first.

use ndarray::ArrayView1;

use super::EntityModel;
use crate::features::{EntityType, Feature};

/// A measure an inspector can order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lever {
    /// Lodge the wage guarantee deposit (工资保证金), one month of wages at least.
    LodgeDeposit,
    /// Open the dedicated wage account (农民工工资专用账户).
    OpenWageAccount,
    /// Pay the overdue wages, its own and, for a general contractor, those on its sites.
    PayOverdueWages,
    /// The owner (建设单位) clears its overdue progress payments.
    ClearProgressPayments,
}

impl Lever {
    /// Every lever, in the order they are tried.
    pub const ALL: [Lever; 4] =
        [Lever::PayOverdueWages, Lever::ClearProgressPayments, Lever::LodgeDeposit, Lever::OpenWageAccount];

    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Lever::LodgeDeposit => "lodge_deposit",
            Lever::OpenWageAccount => "open_wage_account",
            Lever::PayOverdueWages => "pay_overdue_wages",
            Lever::ClearProgressPayments => "clear_progress_payments",
        }
    }

    /// The lever of a code.
    pub fn parse(code: &str) -> Option<Lever> {
        Lever::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The measure in Chinese and English, without amounts.
    pub fn texts(self) -> (&'static str, &'static str) {
        match self {
            Lever::LodgeDeposit => ("缴纳农民工工资保证金", "lodge the wage guarantee deposit"),
            Lever::OpenWageAccount => ("开设农民工工资专用账户", "open the dedicated wage account"),
            Lever::PayOverdueWages => ("清偿拖欠的工资", "pay the overdue wages"),
            Lever::ClearProgressPayments => {
                ("建设单位支付拖欠的工程款", "the owner pays its overdue progress payments")
            }
        }
    }

    /// The features the measure sets, and to what, for one entity type given the row's current values
    /// (`get`); empty when the measure does not apply (already done, nothing overdue).
    fn changes(self, t: EntityType, get: &dyn Fn(Feature) -> f64) -> Vec<(Feature, f64)> {
        use Feature as F;
        let zero = |fs: &[Feature]| -> Vec<(Feature, f64)> { fs.iter().map(|f| (*f, 0.0)).collect() };
        let any_positive = |fs: &[Feature]| fs.iter().any(|f| get(*f) > 0.0);
        match (self, t) {
            (Lever::LodgeDeposit, EntityType::Project) if get(F::HasGuaranteeDeposit) < 1.0 => vec![
                (F::HasGuaranteeDeposit, 1.0),
                (F::DepositToMonthlyWageBill, get(F::DepositToMonthlyWageBill).max(1.0)),
            ],
            (Lever::LodgeDeposit, EntityType::Employer) if get(F::ExposureNoDeposit) > 0.0 => {
                zero(&[F::ExposureNoDeposit])
            }
            (Lever::OpenWageAccount, EntityType::Project) if get(F::WageAccountOpened) < 1.0 => {
                vec![(F::WageAccountOpened, 1.0)]
            }
            (Lever::OpenWageAccount, EntityType::Employer) if get(F::ExposureNoWageAccount) > 0.0 => {
                zero(&[F::ExposureNoWageAccount])
            }
            (Lever::PayOverdueWages, EntityType::Project) if get(F::OverdueUnpaidYuan) > 0.0 => zero(&[
                F::OverdueUnpaidYuan,
                F::OverdueUnpaidToMonthlyWageBill,
                F::UnpaidRatio30d,
                F::UnpaidRatio90d,
                F::ShareWorkersUnpaid90d,
            ]),
            (Lever::PayOverdueWages, EntityType::Employer)
                if any_positive(&[F::OverdueUnpaidYuan, F::SiteOverdueUnpaidYuan]) =>
            {
                zero(&[
                    F::OverdueUnpaidYuan,
                    F::OverdueUnpaidToMonthlyWageBill,
                    F::UnpaidRatio30d,
                    F::ShareWorkersUnpaid90d,
                    F::SiteOverdueUnpaidYuan,
                ])
            }
            (Lever::ClearProgressPayments, EntityType::Project)
                if any_positive(&[F::ProgressOverdueRatio, F::ProgressUnpaidInstalments]) =>
            {
                zero(&[
                    F::ProgressOverdueRatio,
                    F::ProgressMaxDaysOverdue,
                    F::ProgressUnpaidInstalments,
                    F::OwnerProgressOverdueRatio,
                ])
            }
            (Lever::ClearProgressPayments, EntityType::Employer)
                if any_positive(&[F::ExposureProgressOverdueRatio, F::ContractedProgressOverdueRatio]) =>
            {
                zero(&[
                    F::ExposureProgressOverdueRatio,
                    F::ContractedProgressOverdueRatio,
                    F::MaxOwnerProgressOverdueRatio,
                ])
            }
            _ => Vec::new(),
        }
    }
}

/// The smallest drop of probability a lever must bring to be shown (half a percentage point).
pub const MIN_DROP: f64 = 0.005;

/// A lever and the probability the entity would have with it applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeverEffect {
    pub lever: Lever,
    /// The calibrated probability after the measure.
    pub probability: f64,
}

/// The levers that apply to a row of `model`'s entity type and lower its probability (`probability`, its
/// own) by at least [`MIN_DROP`], the largest drop first, each scored through the model with the row changed as the measure
/// changes it.
pub fn what_to_fix(model: &EntityModel, row: ArrayView1<f64>, probability: f64) -> Vec<LeverEffect> {
    let position = |f: Feature| model.features.iter().position(|g| *g == f);
    let get = |f: Feature| position(f).map_or(0.0, |j| row[j]);
    let mut out: Vec<LeverEffect> = Lever::ALL
        .into_iter()
        .filter_map(|lever| {
            let changes = lever.changes(model.entity_type, &get);
            if changes.is_empty() {
                return None;
            }
            let mut changed = row.to_owned();
            for (f, v) in changes {
                if let Some(j) = position(f) {
                    changed[j] = v;
                }
            }
            let after = model.calibrator.probability(model.learner.raw_score(changed.view()));
            (after <= probability - MIN_DROP).then_some(LeverEffect { lever, probability: after })
        })
        .collect();
    out.sort_by(|a, b| a.probability.total_cmp(&b.probability));
    out
}

/// The measure as an inspector reads it, with the drop it brings (`62% -> 41%`), quoting what is owed
/// (`amount_yuan`) and, for progress payments, to whom (`owner`), when known.
pub fn lever_text(
    effect: &LeverEffect,
    before: f64,
    amount_yuan: Option<f64>,
    owner: Option<&str>,
) -> (String, String) {
    use super::reasons::{money_en, money_zh};
    let drop = format!("{:.0}% -> {:.0}%", before * 100.0, effect.probability * 100.0);
    let amount =
        |m: fn(f64) -> String| amount_yuan.filter(|v| *v > 0.0).map_or(String::new(), |v| format!(" {}", m(v)));
    let (zh, en) = effect.lever.texts();
    match (effect.lever, owner) {
        (Lever::ClearProgressPayments, Some(owner)) => (
            format!("建设单位 {owner} 支付拖欠的工程款{} ({drop})", amount(money_zh)),
            format!("the owner {owner} pays its overdue progress payments{} ({drop})", amount(money_en)),
        ),
        _ => (format!("{zh}{} ({drop})", amount(money_zh)), format!("{en}{} ({drop})", amount(money_en))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_read_with_what_is_owed_to_whom_and_the_drop() {
        let check = |lever: Lever, amount: Option<f64>, owner: Option<&str>, zh: &str, en: &str| {
            let effect = LeverEffect { lever, probability: 0.41 };
            assert_eq!(lever_text(&effect, 0.62, amount, owner), (zh.to_string(), en.to_string()));
            assert_eq!(Lever::parse(lever.code()), Some(lever));
        };
        check(
            Lever::PayOverdueWages,
            Some(420_000.0),
            None,
            "清偿拖欠的工资 42 万元 (62% -> 41%)",
            "pay the overdue wages 420k yuan (62% -> 41%)",
        );
        check(
            Lever::ClearProgressPayments,
            Some(1_500_000.0),
            Some("OW0042"),
            "建设单位 OW0042 支付拖欠的工程款 150 万元 (62% -> 41%)",
            "the owner OW0042 pays its overdue progress payments 1500k yuan (62% -> 41%)",
        );
        check(
            Lever::LodgeDeposit,
            None,
            None,
            "缴纳农民工工资保证金 (62% -> 41%)",
            "lodge the wage guarantee deposit (62% -> 41%)",
        );
        check(
            Lever::OpenWageAccount,
            Some(0.0),
            None,
            "开设农民工工资专用账户 (62% -> 41%)",
            "open the dedicated wage account (62% -> 41%)",
        );
        assert_eq!(Lever::parse("bribe_the_inspector"), None);
    }
}

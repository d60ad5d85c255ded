//! Champion and challenger in the service: `retrain` trains a challenger on the newest data and judges it
//! beside the champion on the same recent dates; `promote` applies the promotion rule and changes the
//! champion in the registry; re-scores use the champion.
//!
//! Judged fairly: the recent dates are the last few whose outcomes were known by the as-of date and that
//! lie after the champion's training panel, so the champion is scored on them out of time, as it is. The
//! challenger's procedure (this code, on the data as they are now) is judged by a twin trained with the
//! champion's cutoff (so the twin has the champion's training dates, and none of the judged dates); the
//! challenger itself is then trained on everything up to the as-of date. What the rule measures is therefore what the challenger changes besides freshness:
//! code, features, corrected or late data, recorded inspections. A refresh alone judges like the champion
//! and is promoted by hand (`--force`, recorded) or once its shadow lists have proved it.

use std::path::PathBuf;

use wagewatch_core::champion::{self, PromotionRule, Standing, Verdict};
use wagewatch_core::contract::Date;
use wagewatch_core::ingest::{Dataset, Pseudonymizer};
use wagewatch_core::model::{self, artifact, ModelError, RiskModel, TrainConfig};
use wagewatch_core::worker_months::WorkerMonths;

use crate::config::Config;
use crate::runs::{self, RunError};
use crate::state::{ModelRecord, ModelRole, Promotion, StateError, Store, Timestamp};

/// Why retraining or promoting did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChampionError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("no date after the champion's training panel (its last date {after}) has outcomes known by {as_of}: judge the challenger later")]
    NoRecentDates { as_of: Date, after: Date },
    #[error("model {model_id} is already the champion: there is nothing new to train as of {as_of}")]
    SameAsChampion { model_id: String, as_of: Date },
    #[error("model {model_id} was judged beside {judged_with}, but the champion is now {champion}: retrain")]
    StaleComparison { model_id: String, judged_with: String, champion: String },
    #[error("model {model_id} has no figures to judge it by (wagewatch retrain judges challengers)")]
    NotJudged { model_id: String },
    #[error("model {model_id} does not meet the promotion rule: {}", reasons.join("; "))]
    RuleNotMet { model_id: String, reasons: Vec<String> },
}

/// What a retraining is asked to do.
#[derive(Clone, Debug)]
pub struct RetrainRequest {
    pub as_of: Date,
    /// How many recent monthly dates the two models are judged on.
    pub recent_months: usize,
}

/// A challenger trained and judged.
#[derive(Clone, Debug)]
pub struct Retrained {
    pub challenger: ModelRecord,
    pub champion: String,
    pub champion_standing: Standing,
    pub verdict: Verdict,
    pub model_dir: PathBuf,
}

/// The wagewatch version models record.
pub const CODE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The champion's id, registering the model re-scores use today as champion when the registry has none.
pub fn champion_or_bootstrap(store: &mut Store, config: &Config) -> Result<String, ChampionError> {
    if let Some(id) = store.champion()? {
        return Ok(id);
    }
    let id = match &config.model {
        Some(m) => m.clone(),
        None => runs::newest_model(&config.models)?,
    };
    let m = artifact::load(&config.models, &id)?;
    store.register_model(&record(&m, ModelRole::Champion, None, None, None))?;
    Ok(id)
}

fn record(
    m: &RiskModel,
    role: ModelRole,
    parent: Option<String>,
    standing: Option<Standing>,
    compared_with: Option<(String, Standing)>,
) -> ModelRecord {
    ModelRecord {
        model_id: m.model_id.clone(),
        role,
        parent_model_id: parent,
        data_fingerprint: m.data_fingerprint.clone(),
        trained_as_of: m.trained_as_of,
        fit_from: m.fit_dates.first().copied(),
        fit_to: m.fit_dates.last().copied(),
        code_version: CODE_VERSION.to_string(),
        registered_at: Timestamp::now(),
        standing,
        compared_with,
    }
}

/// Trains a challenger as of `request.as_of` on the configured data (with recorded inspections), judges it
/// beside the champion, saves it and registers it as the challenger (retiring an earlier one).
pub fn retrain(
    store: &mut Store,
    config: &Config,
    key: &Pseudonymizer,
    request: &RetrainRequest,
) -> Result<Retrained, ChampionError> {
    champion_or_bootstrap(store, config)?;
    let (mut ds, _) = crate::datastore::read_data(&config.data, key, None, None).map_err(RunError::from)?;
    runs::merge_recorded_inspections(&mut ds, &store.recorded_inspections()?);
    let wm = WorkerMonths::build(&ds);
    retrain_on(store, config, &ds, &wm, request, None)
}

/// [`retrain`] on data already read (with the recorded inspections merged). `trained`, when given, is what
/// training as of `request.as_of` on these data gives (a backtest's last model, say): it is used as the
/// challenger instead of training again.
pub fn retrain_on(
    store: &mut Store,
    config: &Config,
    ds: &Dataset,
    wm: &WorkerMonths,
    request: &RetrainRequest,
    trained: Option<RiskModel>,
) -> Result<Retrained, ChampionError> {
    let champion_id = champion_or_bootstrap(store, config)?;
    let champion = artifact::load(&config.models, &champion_id)?;
    let fingerprint = model::fingerprint(ds);
    let horizon = champion.horizon_days;
    let after = champion.training_dates().last().copied().unwrap_or(Date::from_days(0));
    let recent: Vec<Date> = model::panel_dates(request.as_of, horizon, request.recent_months.max(1))
        .into_iter()
        .filter(|d| *d > after)
        .collect();
    if recent.is_empty() {
        return Err(ChampionError::NoRecentDates { as_of: request.as_of, after });
    }
    let id = model::default_model_id(request.as_of, &fingerprint);
    if id == champion_id {
        return Err(ChampionError::SameAsChampion { model_id: id, as_of: request.as_of });
    }
    let champion_standing = champion::evaluate(ds, wm, &champion, &recent)?;
    // The champion's cutoff: the twin's panel is the champion's (all before the judged dates), on today's
    // data. Training is deterministic, so when the data and the code are the champion's and its panel is the
    // default one, the twin is the champion and is not trained again.
    let twin_config = TrainConfig::new(champion.trained_as_of, horizon);
    let is_champion = champion.data_fingerprint == fingerprint
        && store.models()?.iter().any(|m| m.model_id == champion_id && m.code_version == CODE_VERSION)
        && same_panel(&champion, &twin_config);
    let standing = if is_champion {
        champion_standing.clone()
    } else {
        let twin = model::train(ds, wm, &twin_config, format!("{id}-twin"), &fingerprint)?;
        champion::evaluate(ds, wm, &twin, &recent)?
    };
    let config_now = TrainConfig::new(request.as_of, horizon);
    let trained = match trained.filter(|m| m.data_fingerprint == fingerprint && same_panel(m, &config_now)) {
        Some(m) => RiskModel { model_id: id, ..m },
        None => model::train(ds, wm, &config_now, id, &fingerprint)?,
    };
    let verdict = PromotionRule::default().judge(&champion_standing, &standing);
    let judged_on = recent.iter().map(Date::to_string).collect::<Vec<_>>().join(", ");
    let rule = verdict.reasons.join("; ");
    let card = artifact::CardExtra {
        english: format!(
            "## Lineage\n\n- parent (the champion it was judged beside): `{champion_id}`\n- code version: {CODE_VERSION}\n- judged on: {judged_on}\n- promotion rule: {rule}\n\n"
        ),
        chinese: format!(
            "## 谱系\n\n- 上一代（与之比较的现任模型）：`{champion_id}`\n- 代码版本：{CODE_VERSION}\n- 评判日期：{judged_on}\n- 晋升规则：{rule}\n\n"
        ),
    };
    let model_dir = artifact::save(&trained, &config.models, &card)?;
    let challenger = record(
        &trained,
        ModelRole::Challenger,
        Some(champion_id.clone()),
        Some(standing),
        Some((champion_id.clone(), champion_standing.clone())),
    );
    store.register_model(&challenger)?;
    Ok(Retrained { challenger, champion: champion_id, champion_standing, verdict, model_dir })
}

/// Whether `m` was trained on the panel `config` gives (its fitting and calibration dates).
fn same_panel(m: &RiskModel, config: &TrainConfig) -> bool {
    let dates = model::panel_dates(config.as_of, config.horizon_days, config.panel_months);
    m.training_dates() == dates && m.calibration_dates.len() == config.calibration_months.min(dates.len() / 3).max(1)
}

/// The promotion rule applied to a registered model against the champion it was judged beside.
pub fn verdict(store: &Store, model_id: &str) -> Result<Verdict, ChampionError> {
    judged(store, model_id).map(|(verdict, _)| verdict)
}

/// The rule's verdict on a registered model and the champion it was judged beside, which must still be the
/// champion.
fn judged(store: &Store, model_id: &str) -> Result<(Verdict, String), ChampionError> {
    let models = store.models()?;
    let m = models
        .iter()
        .find(|m| m.model_id == model_id)
        .ok_or_else(|| StateError::UnknownModel { model_id: model_id.to_string() })?;
    let (Some(standing), Some((judged_with, champion_standing))) = (&m.standing, &m.compared_with) else {
        return Err(ChampionError::NotJudged { model_id: model_id.to_string() });
    };
    let champion = store.champion()?.unwrap_or_default();
    if *judged_with != champion {
        return Err(ChampionError::StaleComparison {
            model_id: model_id.to_string(),
            judged_with: judged_with.clone(),
            champion,
        });
    }
    Ok((PromotionRule::default().judge(champion_standing, standing), judged_with.clone()))
}

/// Makes `model_id` the champion if it meets the promotion rule (or `force`), recording `by`. The champion
/// it was judged beside must still be the champion when the registry changes (checked in the same
/// transaction), unless forced; an unknown model is refused there too.
pub fn promote(store: &mut Store, model_id: &str, by: &str, force: bool) -> Result<Promotion, ChampionError> {
    let judged_with = match judged(store, model_id) {
        Ok((v, judged_with)) if v.passes => Some(judged_with),
        Ok(_) | Err(_) if force => None,
        Ok((v, _)) => return Err(ChampionError::RuleNotMet { model_id: model_id.to_string(), reasons: v.reasons }),
        Err(e) => return Err(e),
    };
    Ok(match judged_with {
        Some(champion) => store.promote_over(model_id, &champion, by)?,
        None => store.promote(model_id, by)?,
    })
}

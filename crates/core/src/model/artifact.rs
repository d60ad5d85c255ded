//! The saved model: `models/<model_id>/model.json` (a versioned format this crate owns) and a Markdown
//! model card beside it. Floats are written with shortest round-trip formatting, so a loaded model scores
//! bit for bit like the one that was saved.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Calibrator, CandidateScore, EntityModel, Learner, ModelError, RiskModel};
use crate::contract::Date;
use crate::drift::{EntityReference, Profile};
use crate::features::{EntityType, Feature};

/// The version of `model.json` this code writes and reads.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct ModelFile {
    schema_version: u32,
    model_id: String,
    trained_as_of: String,
    horizon_days: i32,
    fit_dates: Vec<String>,
    calibration_dates: Vec<String>,
    data_fingerprint: String,
    entities: Vec<EntityFile>,
}

#[derive(Serialize, Deserialize)]
struct EntityFile {
    entity_type: String,
    features: Vec<String>,
    learner: Learner,
    calibrator: Calibrator,
    validation: Vec<CandidateScore>,
    trees: usize,
    training_rows: usize,
    training_events: usize,
    calibration_rows: usize,
    /// The training panel's distributions (absent from models saved before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drift_reference: Option<ReferenceFile>,
    /// The amount model (absent from models saved before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount: Option<super::AmountModel>,
}

/// The distributions drift is measured against: a profile per feature that has one, and the score's.
#[derive(Serialize, Deserialize)]
struct ReferenceFile {
    features: Vec<ProfileFile>,
    score: Option<ProfileFile>,
}

/// One distribution: decile cut points and the share per bin (one more share than cuts).
#[derive(Serialize, Deserialize)]
struct ProfileFile {
    name: String,
    cuts: Vec<f64>,
    shares: Vec<f64>,
}

impl ReferenceFile {
    fn from_reference(r: &EntityReference) -> ReferenceFile {
        let file = |name: &str, p: &Profile| ProfileFile {
            name: name.to_string(),
            cuts: p.cuts.clone(),
            shares: p.shares.clone(),
        };
        ReferenceFile {
            features: r.features.iter().filter_map(|(f, p)| p.as_ref().map(|p| file(f.name(), p))).collect(),
            score: r.score.as_ref().map(|p| file("score", p)),
        }
    }

    /// The reference over `features`; a profile naming another feature, or whose shares do not fit its
    /// cuts, is refused.
    fn into_reference(self, features: &[Feature]) -> Result<EntityReference, String> {
        let profile = |p: ProfileFile| -> Result<Profile, String> {
            let finite = p.cuts.iter().chain(&p.shares).all(|v| v.is_finite());
            if p.shares.len() != p.cuts.len() + 1 || !finite || p.shares.iter().any(|s| *s <= 0.0) {
                return Err(format!("the drift reference of {} is malformed", p.name));
            }
            Ok(Profile { cuts: p.cuts, shares: p.shares })
        };
        let mut by_feature: Vec<(Feature, Option<Profile>)> = features.iter().map(|f| (*f, None)).collect();
        for p in self.features {
            let slot = by_feature
                .iter_mut()
                .find(|(f, _)| f.name() == p.name)
                .ok_or_else(|| format!("the drift reference names an unknown feature {}", p.name))?;
            slot.1 = Some(profile(p)?);
        }
        Ok(EntityReference { features: by_feature, score: self.score.map(profile).transpose()? })
    }
}

fn entity_file(m: &EntityModel) -> EntityFile {
    EntityFile {
        entity_type: m.entity_type.code().to_string(),
        features: m.features.iter().map(|f| f.name().to_string()).collect(),
        learner: m.learner.clone(),
        calibrator: m.calibrator,
        validation: m.validation.clone(),
        trees: m.trees,
        training_rows: m.training_rows,
        training_events: m.training_events,
        calibration_rows: m.calibration_rows,
        drift_reference: m.drift_reference.as_ref().map(ReferenceFile::from_reference),
        amount: m.amount.clone(),
    }
}

/// The longest model id, in characters.
pub const MAX_MODEL_ID_CHARS: usize = 64;

/// Checks that `id` is a name a model folder may have: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, not
/// starting with `.` (so never a path, a hidden folder or `..`).
pub fn check_model_id(id: &str) -> Result<(), ModelError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_MODEL_ID_CHARS
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::BadModelId { id: id.chars().take(80).collect() })
    }
}

/// The folder of a model.
pub fn model_dir(models: &Path, id: &str) -> PathBuf {
    models.join(id)
}

/// Writes `model.json` and the model cards (`model_card.md`, `model_card.zh.md`) under `models/<id>/`,
/// atomically (written aside, then renamed).
pub fn save(model: &RiskModel, models: &Path, card_extra: &CardExtra) -> Result<PathBuf, ModelError> {
    check_model_id(&model.model_id)?;
    let dir = model_dir(models, &model.model_id);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelError::Io { path, source }
    };
    let tmp = models.join(format!(".{}.partial", model.model_id));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let file = ModelFile {
        schema_version: SCHEMA_VERSION,
        model_id: model.model_id.clone(),
        trained_as_of: model.trained_as_of.to_string(),
        horizon_days: model.horizon_days,
        fit_dates: model.fit_dates.iter().map(Date::to_string).collect(),
        calibration_dates: model.calibration_dates.iter().map(Date::to_string).collect(),
        data_fingerprint: model.data_fingerprint.clone(),
        entities: vec![entity_file(&model.employer), entity_file(&model.project)],
    };
    let json =
        serde_json::to_vec(&file).map_err(|e| ModelError::BadFile { path: tmp.clone(), reason: e.to_string() })?;
    let cards = CardLanguage::ALL.map(|l| (l.file_name(), model_card(model, card_extra, l).into_bytes()));
    for (name, bytes) in [("model.json", json)].into_iter().chain(cards) {
        let path = tmp.join(name);
        let mut f = fs::File::create(&path).map_err(io(&path))?;
        f.write_all(&bytes).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    fs::rename(&tmp, &dir).map_err(io(&dir))?;
    Ok(dir)
}

/// Loads `models/<id>/model.json`.
pub fn load(models: &Path, id: &str) -> Result<RiskModel, ModelError> {
    check_model_id(id)?;
    let path = model_dir(models, id).join("model.json");
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::UnknownModel { id: id.to_string(), dir: models.to_path_buf() })
        }
        Err(source) => return Err(ModelError::Io { path, source }),
    };
    let bad = |reason: String| ModelError::BadFile { path: path.clone(), reason };
    let version: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let found = version.get("schema_version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if found != SCHEMA_VERSION {
        return Err(ModelError::SchemaVersion { path, found, expected: SCHEMA_VERSION });
    }
    let file: ModelFile = serde_json::from_value(version).map_err(|e| bad(e.to_string()))?;
    let date = |s: &str| Date::parse(s).ok_or_else(|| bad(format!("{s:?} is not a date")));
    let mut entities = Vec::new();
    for e in file.entities {
        let entity_type =
            EntityType::parse(&e.entity_type).ok_or_else(|| bad(format!("unknown entity type {}", e.entity_type)))?;
        let features: Vec<Feature> = e
            .features
            .iter()
            .map(|n| Feature::parse(n).ok_or_else(|| bad(format!("unknown feature {n}"))))
            .collect::<Result<_, _>>()?;
        if features != entity_type.features() {
            return Err(bad(format!(
                "the {entity_type} feature list differs from this wagewatch's catalogue: train the model again"
            )));
        }
        let drift_reference = e.drift_reference.map(|r| r.into_reference(&features)).transpose().map_err(bad)?;
        entities.push(EntityModel {
            entity_type,
            features,
            drift_reference,
            amount: e.amount,
            learner: e.learner,
            calibrator: e.calibrator,
            validation: e.validation,
            trees: e.trees,
            training_rows: e.training_rows,
            training_events: e.training_events,
            calibration_rows: e.calibration_rows,
        });
    }
    let project = entities
        .pop()
        .filter(|e| e.entity_type == EntityType::Project)
        .ok_or_else(|| bad("no project model".into()))?;
    let employer = entities
        .pop()
        .filter(|e| e.entity_type == EntityType::Employer)
        .ok_or_else(|| bad("no employer model".into()))?;
    Ok(RiskModel {
        model_id: file.model_id,
        trained_as_of: date(&file.trained_as_of)?,
        horizon_days: file.horizon_days,
        fit_dates: file.fit_dates.iter().map(|d| date(d)).collect::<Result<_, _>>()?,
        calibration_dates: file.calibration_dates.iter().map(|d| date(d)).collect::<Result<_, _>>()?,
        data_fingerprint: file.data_fingerprint,
        employer,
        project,
    })
}

/// Copies a backtest report (written by `backtest::write_report` into `report_dir`) beside a saved model:
/// `report.json` becomes `backtest.json`, and the charts keep their names.
pub fn attach_backtest(models: &Path, id: &str, report_dir: &Path) -> Result<(), ModelError> {
    let dir = model_dir(models, id);
    for (from, to) in crate::backtest::report::MODEL_FILES {
        let (source, target) = (report_dir.join(from), dir.join(to));
        fs::copy(&source, &target).map_err(|e| ModelError::Io { path: source, source: e })?;
    }
    if let Some(audit) = backtest_report(models, id).and_then(|r| r.fairness) {
        add_fairness_to_card(&dir, &audit)?;
    }
    Ok(())
}

/// The heading a model card's fairness section starts with.
fn fairness_heading(lang: CardLanguage) -> &'static str {
    lang.t("## 公平性审计（来自回测）", "## Fairness audit (from the backtest)")
}

/// Rewrites each model card with the backtest's fairness audit as its last section (replacing an earlier
/// one), written aside and renamed. A card that is missing (a model saved before cards had two
/// languages) is left missing.
fn add_fairness_to_card(dir: &Path, audit: &crate::fairness::Audit) -> Result<(), ModelError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelError::Io { path, source }
    };
    for lang in CardLanguage::ALL {
        let path = dir.join(lang.file_name());
        let card = match fs::read_to_string(&path) {
            Ok(card) => card,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && lang != CardLanguage::English => continue,
            Err(e) => return Err(io(&path)(e)),
        };
        let card = with_fairness(card, audit, lang);
        let partial = dir.join(format!("{}.partial", lang.file_name()));
        fs::write(&partial, card).map_err(io(&partial))?;
        fs::rename(&partial, &path).map_err(io(&path))?;
    }
    Ok(())
}

/// `card` with its fairness section replaced by `audit`'s.
fn with_fairness(card: String, audit: &crate::fairness::Audit, lang: CardLanguage) -> String {
    let heading = fairness_heading(lang);
    let mut card = match card.find(heading) {
        Some(at) => card[..at].to_string(),
        None => card,
    };
    if !card.ends_with("\n\n") {
        card.push('\n');
    }
    let flagged = audit.flagged();
    card.push_str(&format!("{heading}\n\n"));
    card.push_str(&match (flagged.len(), lang) {
        (0, CardLanguage::English) => "No group is flagged.\n\n".to_string(),
        (0, CardLanguage::Chinese) => "没有被标记的群体。\n\n".to_string(),
        (n, CardLanguage::English) => format!("{n} flag(s): {}.\n\n", flagged.join("; ")),
        (n, CardLanguage::Chinese) => format!("{n} 处标记：{}。\n\n", flagged.join("；")),
    });
    card.push_str(&audit.markdown());
    card
}

/// The backtest report saved beside a model, if one was attached.
pub fn backtest_report(models: &Path, id: &str) -> Option<crate::backtest::Report> {
    let path = model_dir(models, id).join("backtest.json");
    match crate::backtest::Report::read(&path) {
        Ok(r) => Some(r),
        Err(crate::backtest::report::ReportError::Io { .. }) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the backtest report beside the model cannot be read");
            None
        }
    }
}

/// The ids of the models saved under `models`, sorted.
pub fn list(models: &Path) -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(models)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("model.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|id| check_model_id(id).is_ok())
        .collect();
    ids.sort();
    ids
}

/// The languages a model card is written in, one file each beside `model.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardLanguage {
    English,
    Chinese,
}

impl CardLanguage {
    pub const ALL: [CardLanguage; 2] = [CardLanguage::English, CardLanguage::Chinese];

    /// The card's file name: `model_card.md`, `model_card.zh.md`.
    pub fn file_name(self) -> &'static str {
        match self {
            CardLanguage::English => "model_card.md",
            CardLanguage::Chinese => "model_card.zh.md",
        }
    }

    /// The text in this language.
    fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            CardLanguage::English => en,
            CardLanguage::Chinese => zh,
        }
    }
}

/// Sections a caller adds to the end of the model card (a lineage, say), in both languages.
#[derive(Clone, Debug, Default)]
pub struct CardExtra {
    pub english: String,
    pub chinese: String,
}

impl CardExtra {
    fn of(&self, lang: CardLanguage) -> &str {
        match lang {
            CardLanguage::English => &self.english,
            CardLanguage::Chinese => &self.chinese,
        }
    }
}

/// The model card in Markdown, in `lang`.
pub fn model_card(model: &RiskModel, extra: &CardExtra, lang: CardLanguage) -> String {
    let t = |zh, en| lang.t(zh, en);
    let dates = |d: &[Date]| {
        format!("{} .. {}", d.first().map_or("-".into(), Date::to_string), d.last().map_or("-".into(), Date::to_string))
    };
    let mut s = String::new();
    s.push_str(&format!("# {}: {}\n\n", t("模型说明", "Model card"), model.model_id));
    s.push_str(&match lang {
        CardLanguage::English => format!(
            "Predicts the probability of an arrears event (data contract v1) within {} days of the as-of date, for \
             employers and construction projects.\n\n",
            model.horizon_days
        ),
        CardLanguage::Chinese => format!(
            "预测评分日后 {} 天内发生欠薪事件（数据约定 v1）的概率，对象为用工企业和建设项目。\n\n",
            model.horizon_days
        ),
    });
    s.push_str(&format!("## {}\n\n", t("训练", "Training")));
    s.push_str(&format!(
        "- {}: {} {}\n",
        t("训练截止日", "training cutoff"),
        model.trained_as_of,
        t("（标签以当日所知为准）", "(labels as known on that day)")
    ));
    s.push_str(&format!(
        "- {}: {} {}, {}\n",
        t("拟合日期", "fit dates"),
        model.fit_dates.len(),
        t("个月度评分日", "monthly as-of dates"),
        dates(&model.fit_dates)
    ));
    s.push_str(&format!(
        "- {}: {}\n",
        t("验证与校准日期", "validation and calibration dates"),
        dates(&model.calibration_dates)
    ));
    s.push_str(&format!("- {}: `{}`\n\n", t("数据指纹", "data fingerprint"), model.data_fingerprint));
    for m in [&model.employer, &model.project] {
        entity_section(&mut s, m, lang);
    }
    s.push_str(known_limits(lang));
    s.push_str(extra.of(lang));
    s
}

/// One entity type's learner, rows and candidates.
fn entity_section(s: &mut String, m: &EntityModel, lang: CardLanguage) {
    let t = |zh, en| lang.t(zh, en);
    let name = match (lang, m.entity_type) {
        (CardLanguage::English, e) => format!("{e} model"),
        (CardLanguage::Chinese, EntityType::Employer) => "企业模型".into(),
        (CardLanguage::Chinese, EntityType::Project) => "项目模型".into(),
    };
    s.push_str(&format!("## {name}\n\n"));
    s.push_str(&match lang {
        CardLanguage::English => format!(
            "- chosen learner: **{}** ({} features, {} boosting rounds), calibrated on {} held-out rows (Platt slope {:.3}, intercept {:.3}, one intercept a month in the fit)\n",
            m.learner.name(), m.features.len(), m.trees, m.calibration_rows, m.calibrator.slope, m.calibrator.intercept
        ),
        CardLanguage::Chinese => format!(
            "- 选用的学习器：**{}**（{} 个特征，{} 轮提升），在 {} 条留出样本上校准（Platt 斜率 {:.3}，截距 {:.3}，拟合时每月一个截距）\n",
            m.learner.name(), m.features.len(), m.trees, m.calibration_rows, m.calibrator.slope, m.calibrator.intercept
        ),
    });
    s.push_str(&format!(
        "- {}: {} ({} {})\n\n",
        t("训练样本", "training rows"),
        m.training_rows,
        m.training_events,
        t("条有欠薪事件", "with an event")
    ));
    s.push_str(&format!(
        "| {} | {} | ROC AUC | {} |\n|---|---|---|---|\n",
        t("候选学习器", "candidate"),
        t("平均精确率", "average precision"),
        t("对数损失", "log loss")
    ));
    for c in &m.validation {
        s.push_str(&format!("| {} | {:.3} | {:.3} | {:.4} |\n", c.learner, c.average_precision, c.roc_auc, c.log_loss));
    }
    s.push('\n');
}

/// What the model cannot see or claim.
fn known_limits(lang: CardLanguage) -> &'static str {
    match lang {
        CardLanguage::English => "## Known limits\n\n\
            - Complaints and inspections are selective labels: entities nobody complains about or inspects look safer than \
            they are. Payroll-based events are not selective but depend on complete bank records.\n\
            - The level of the probabilities is the learner's, learnt from the whole panel (season and trend \
            included); the held-out months set only their spread. A shift in the base rate the panel has not seen \
            (a harder winter, a new reporting channel) shows first as miscalibration. Re-train as outcomes come in.\n\
            - Reasons are the features that raise the score most for that entity (path contributions for trees, \
            coefficient times standardised value for the scorecard); they explain the model, not causes.\n\n",
        CardLanguage::Chinese => "## 已知局限\n\n\
            - 投诉和检查是有选择的标签：无人投诉、无人检查的主体看起来比实际更安全。基于工资发放记录的事件没有这种\
            选择性，但依赖完整的银行代发记录。\n\
            - 概率的整体水平来自学习器在整个训练面板（含季节和趋势）上的学习，留出月份只决定其离散程度。面板未见过的\
            基准率变化（更难的冬季、新的投诉渠道）首先表现为校准偏差。结果到来后请重新训练。\n\
            - 原因是对该主体评分抬高最多的特征（树模型为路径贡献，评分卡为系数乘标准化值）；它们解释模型，\
            不代表因果。\n\n",
    }
}

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

/// Writes `model.json` and `model_card.md` under `models/<id>/`, atomically (written aside, then renamed).
pub fn save(model: &RiskModel, models: &Path, card_extra: &str) -> Result<PathBuf, ModelError> {
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
    for (name, bytes) in [("model.json", json), ("model_card.md", model_card(model, card_extra).into_bytes())] {
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

/// The heading the model card's fairness section starts with.
const FAIRNESS_HEADING: &str = "## Fairness audit (from the backtest)";

/// Rewrites the model card with the backtest's fairness audit as its last section (replacing an earlier
/// one), written aside and renamed.
fn add_fairness_to_card(dir: &Path, audit: &crate::fairness::Audit) -> Result<(), ModelError> {
    let path = dir.join("model_card.md");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelError::Io { path, source }
    };
    let card = fs::read_to_string(&path).map_err(io(&path))?;
    let mut card = match card.find(FAIRNESS_HEADING) {
        Some(at) => card[..at].to_string(),
        None => card,
    };
    if !card.ends_with("\n\n") {
        card.push('\n');
    }
    let flagged = audit.flagged();
    card.push_str(&format!("{FAIRNESS_HEADING}\n\n"));
    card.push_str(&match flagged.len() {
        0 => "No group is flagged.\n\n".to_string(),
        n => format!("{n} flag(s): {}.\n\n", flagged.join("; ")),
    });
    card.push_str(&audit.markdown());
    let partial = dir.join("model_card.md.partial");
    fs::write(&partial, card).map_err(io(&partial))?;
    fs::rename(&partial, &path).map_err(io(&path))
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

/// The model card in Markdown.
pub fn model_card(model: &RiskModel, extra: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Model card: {}\n\n", model.model_id));
    s.push_str(&format!(
        "Predicts the probability of an arrears event (data contract v1) within {} days of the as-of date, for \
         employers and construction projects.\n\n",
        model.horizon_days
    ));
    s.push_str("## Training\n\n");
    s.push_str(&format!("- training cutoff: {} (labels as known on that day)\n", model.trained_as_of));
    s.push_str(&format!(
        "- fit dates: {} monthly as-of dates, {} .. {}\n",
        model.fit_dates.len(),
        model.fit_dates.first().map_or("-".into(), Date::to_string),
        model.fit_dates.last().map_or("-".into(), Date::to_string)
    ));
    s.push_str(&format!(
        "- validation and calibration dates: {} .. {}\n",
        model.calibration_dates.first().map_or("-".into(), Date::to_string),
        model.calibration_dates.last().map_or("-".into(), Date::to_string)
    ));
    s.push_str(&format!("- data fingerprint: `{}`\n\n", model.data_fingerprint));
    for m in [&model.employer, &model.project] {
        s.push_str(&format!("## {} model\n\n", m.entity_type));
        s.push_str(&format!(
            "- chosen learner: **{}** ({} features, {} boosting rounds), calibrated on {} held-out rows (Platt slope {:.3}, intercept {:.3}, one intercept a month in the fit)\n",
            m.learner.name(),
            m.features.len(),
            m.trees,
            m.calibration_rows,
            m.calibrator.slope,
            m.calibrator.intercept
        ));
        s.push_str(&format!("- training rows: {} ({} with an event)\n\n", m.training_rows, m.training_events));
        s.push_str("| candidate | average precision | ROC AUC | log loss |\n|---|---|---|---|\n");
        for c in &m.validation {
            s.push_str(&format!(
                "| {} | {:.3} | {:.3} | {:.4} |\n",
                c.learner, c.average_precision, c.roc_auc, c.log_loss
            ));
        }
        s.push('\n');
    }
    s.push_str("## Known limits\n\n");
    s.push_str(
        "- Complaints and inspections are selective labels: entities nobody complains about or inspects look safer than \
         they are. Payroll-based events are not selective but depend on complete bank records.\n\
         - The level of the probabilities is the learner's, learnt from the whole panel (season and trend \
         included); the held-out months set only their spread. A shift in the base rate the panel has not seen \
         (a harder winter, a new reporting channel) shows first as miscalibration. Re-train as outcomes come in.\n\
         - Reasons are the features that raise the score most for that entity (path contributions for trees, \
         coefficient times standardised value for the scorecard); they explain the model, not causes.\n\n",
    );
    s.push_str(extra);
    s
}

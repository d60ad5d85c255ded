//! The watchlist query layer the API and the dashboard share: a run's rows filtered by entity type,
//! region, sector, kind, band, score and text, a page at a time.
//!
//! Parsing turns the request's text into typed values and says which parameter was wrong; narrowing the
//! region to what the caller may see is the server's job (`Caller::scope`), done before a filter is used.

use wagewatch_core::contract::{EmployerKind, RegionCode, RegionPrefix, Sector};
use wagewatch_core::features::{EntityType, Feature};
use wagewatch_core::model::Band;

use crate::runs::RunRow;

/// `%`-encodes everything but the unreserved characters of RFC 3986, so that a value read from a request
/// can pass neither for another parameter nor for another line where it is shown (the audit log, links).
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Parameters as the audit log keeps them: `key=value` joined by `&`, each value `%`-encoded, absent ones
/// left out.
pub fn audited<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> String {
    pairs.into_iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", url_encode(&v)))).collect::<Vec<_>>().join("&")
}

/// The features shown with an entity, when its type has them.
pub const KEY_FEATURES: [Feature; 14] = [
    Feature::OverdueUnpaidYuan,
    Feature::OverdueUnpaidToMonthlyWageBill,
    Feature::MonthlyWageBillYuan,
    Feature::HeadcountLastMonth,
    Feature::ShortPaidWorkerMonths3m,
    Feature::DaysLateMean90d,
    Feature::LeaversOwed6m,
    Feature::Complaints90d,
    Feature::ComplaintsOpen,
    Feature::InspectionsFoundArrears365d,
    Feature::ActiveProjectsAsContractor,
    Feature::MaxOwnerProgressOverdueRatio,
    Feature::ProgressOverdueRatio,
    Feature::DepositToMonthlyWageBill,
];

/// Why a filter's text was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct BadFilter {
    /// The query parameter at fault.
    pub parameter: &'static str,
    pub reason: &'static str,
}

/// The longest search text, in characters.
pub const MAX_TEXT_CHARS: usize = 100;

/// A watchlist request's filters as typed values (the API's parameters parse into these).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterSpec {
    pub entity_type: Option<EntityType>,
    pub region: Option<RegionPrefix>,
    pub sector: Option<Sector>,
    pub kind: Option<EmployerKind>,
    pub bands: Option<Vec<Band>>,
    pub min_score: Option<f64>,
    pub text: Option<String>,
}

/// A comma-separated list of bands (`red,orange`), exactly; `None` when any item is not a band.
pub fn parse_bands(list: &str) -> Option<Vec<Band>> {
    list.split(',').map(Band::parse).collect()
}

/// A watchlist request's filters as text, as they arrived (from the dashboard's form).
#[derive(Clone, Copy, Debug, Default)]
pub struct FilterText<'a> {
    pub entity_type: Option<&'a str>,
    pub region: Option<&'a str>,
    pub sector: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// One band or several separated by commas.
    pub band: Option<&'a str>,
    pub min_score: Option<f64>,
    /// Text the name or id contains.
    pub text: Option<&'a str>,
}

/// The parsed filters of a watchlist request.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub entity_type: Option<EntityType>,
    /// The region asked for; `None` for every region the caller may see.
    pub requested_region: Option<RegionPrefix>,
    /// The region rows must lie in: the requested one narrowed to the caller's by [`Filter::within`].
    pub region: RegionPrefix,
    pub sector: Option<Sector>,
    pub kind: Option<EmployerKind>,
    pub bands: Option<Vec<Band>>,
    pub min_score: Option<f64>,
    /// Lower-cased text the id or name contains.
    pub text: Option<String>,
}

/// `min_score` is never NaN ([`Filter::new`] keeps it within 0..=1), so equality is an equivalence.
impl Eq for Filter {}

/// Equal filters hash alike: `min_score` by the bits of its value, with -0 as 0.
impl std::hash::Hash for Filter {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let Filter { entity_type, requested_region, region, sector, kind, bands, min_score, text } = self;
        (entity_type, requested_region, region, sector, kind, bands, text).hash(state);
        min_score.map(|m| (m + 0.0).to_bits()).hash(state);
    }
}

impl Filter {
    /// A filter of typed values; the region is the requested one until [`Filter::within`] narrows it.
    pub fn new(spec: FilterSpec) -> Result<Filter, BadFilter> {
        let bad = |parameter: &'static str, reason: &'static str| BadFilter { parameter, reason };
        if let Some(m) = spec.min_score {
            if !(0.0..=1.0).contains(&m) {
                return Err(bad("min_score", "must lie in 0..1"));
            }
        }
        if spec.text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
            return Err(bad("q", "at most 100 characters"));
        }
        Ok(Filter {
            entity_type: spec.entity_type,
            requested_region: spec.region,
            region: spec.region.unwrap_or(RegionPrefix::ALL),
            sector: spec.sector,
            kind: spec.kind,
            bands: spec.bands,
            min_score: spec.min_score,
            text: spec.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_lowercase),
        })
    }

    /// Parses the filters' text (empty means "any"); the region is the requested one until
    /// [`Filter::within`] narrows it.
    pub fn parse(q: &FilterText<'_>) -> Result<Filter, BadFilter> {
        let bad = |parameter: &'static str, reason: &'static str| BadFilter { parameter, reason };
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let entity_type = given(q.entity_type)
            .map(|t| EntityType::parse(&t).ok_or_else(|| bad("entity_type", "use employer or project")))
            .transpose()?;
        let region = given(q.region)
            .map(|r| RegionPrefix::parse(&r).ok_or_else(|| bad("region", "use 2, 4 or 6 digits")))
            .transpose()?;
        let sector =
            given(q.sector).map(|s| Sector::parse(&s).ok_or_else(|| bad("sector", "unknown sector"))).transpose()?;
        let kind =
            given(q.kind).map(|k| EmployerKind::parse(&k).ok_or_else(|| bad("kind", "unknown kind"))).transpose()?;
        let bands = given(q.band)
            .map(|b| parse_bands(&b.replace(' ', "")).ok_or_else(|| bad("band", "use red, orange, yellow or green")))
            .transpose()?;
        Filter::new(FilterSpec {
            entity_type,
            region,
            sector,
            kind,
            bands,
            min_score: q.min_score,
            text: q.text.map(str::to_string),
        })
    }

    /// The filter with its region set to `scope` (the requested region narrowed to the caller's).
    pub fn within(mut self, scope: RegionPrefix) -> Filter {
        self.region = scope;
        self
    }

    /// Whether a row passes every filter.
    pub fn matches(&self, r: &RunRow) -> bool {
        self.region.contains(r.region)
            && self.entity_type.is_none_or(|t| t == r.entity_type)
            && self.sector.is_none_or(|s| s == r.sector)
            && self.kind.is_none_or(|k| Some(k) == r.kind)
            && self.bands.as_ref().is_none_or(|b| b.contains(&r.band))
            && self.min_score.is_none_or(|m| r.score >= m)
            && self.text.as_ref().is_none_or(|t| {
                r.entity_id.to_lowercase().contains(t.as_str()) || r.name.to_lowercase().contains(t.as_str())
            })
    }

    /// The rows of a run that pass the filter, in the run's order.
    pub fn select<'r>(&'r self, rows: &'r [RunRow]) -> impl Iterator<Item = &'r RunRow> + 'r {
        rows.iter().filter(move |r| self.matches(r))
    }
}

/// The order a watchlist is read in, within each entity type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RankBy {
    /// The model's rank (the probability of an event), as the run stores its rows.
    #[default]
    Probability,
    /// Expected unpaid wages (probability times the amount at stake given an event), highest first; the
    /// rank breaks ties and orders rows the run has no amounts for.
    ExpectedHarm,
}

impl RankBy {
    /// Two rows of one entity type in this order (rows of different types: employers first).
    fn compare(self, a: &RunRow, b: &RunRow) -> std::cmp::Ordering {
        let harm = |r: &RunRow| r.expected_unpaid_yuan.unwrap_or(0.0);
        let by_type = a.entity_type.cmp(&b.entity_type);
        match self {
            RankBy::Probability => by_type.then(a.rank.cmp(&b.rank)),
            RankBy::ExpectedHarm => by_type.then(harm(b).total_cmp(&harm(a))).then(a.rank.cmp(&b.rank)),
        }
    }

    /// Puts rows of a run in this order.
    pub fn sort(self, rows: &mut [&RunRow]) {
        rows.sort_by(|a, b| self.compare(a, b));
    }
}

/// One page of a filtered run: positions of its rows in the run, how many rows match in all, and the
/// position the next page starts at, if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub positions: Vec<usize>,
    pub total: usize,
    pub next: Option<usize>,
}

/// The page of up to `limit` matching rows at or after position `start` of `rows`.
pub fn page(rows: &[RunRow], filter: &Filter, start: usize, limit: usize) -> Page {
    page_of(rows, 0..rows.len(), filter, start, limit)
}

/// [`page`] for a run whose rows' regions are also held as a column (`regions[i] == rows[i].region`):
/// the region, which every request is narrowed by, is checked on the compact column, and the rest of
/// the filter only on the rows in the region.
pub fn page_in_region(rows: &[RunRow], regions: &[RegionCode], filter: &Filter, start: usize, limit: usize) -> Page {
    let in_region = regions.iter().enumerate().filter(|(_, r)| filter.region.contains(**r)).map(|(i, _)| i);
    page_of(rows, in_region, filter, start, limit)
}

/// [`page_in_region`] in the order `rank_by` gives; the page's `next` is then an index into that order, which
/// only the same `rank_by` reads back.
pub fn page_ranked(
    rows: &[RunRow],
    regions: &[RegionCode],
    filter: &Filter,
    rank_by: RankBy,
    start: usize,
    limit: usize,
) -> Page {
    if rank_by == RankBy::Probability {
        return page_in_region(rows, regions, filter, start, limit);
    }
    let mut order: Vec<usize> = regions
        .iter()
        .enumerate()
        .filter(|(i, r)| filter.region.contains(**r) && filter.matches(&rows[*i]))
        .map(|(i, _)| i)
        .collect();
    order.sort_by(|&a, &b| rank_by.compare(&rows[a], &rows[b]));
    let total = order.len();
    let positions: Vec<usize> = order.into_iter().skip(start).take(limit).collect();
    let next = (start.saturating_add(limit) < total).then_some(start + limit);
    Page { positions, total, next }
}

/// The page over the candidate positions (ascending) that pass the filter.
fn page_of(
    rows: &[RunRow],
    candidates: impl Iterator<Item = usize>,
    filter: &Filter,
    start: usize,
    limit: usize,
) -> Page {
    let (mut total, mut positions, mut more) = (0, Vec::with_capacity(limit.min(rows.len())), false);
    for i in candidates {
        if !filter.matches(&rows[i]) {
            continue;
        }
        total += 1;
        if i < start {
            continue;
        }
        if positions.len() < limit {
            positions.push(i);
        } else {
            more = true;
        }
    }
    let next = if more { positions.last().map(|p| p + 1) } else { None };
    Page { positions, total, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, region: u32, band: Band, score: f64) -> RunRow {
        RunRow::for_tests(EntityType::Employer, id, RegionCode::from_value(region).unwrap(), band, score)
    }

    /// Checks the rows a filter selects, and that a page over the region column is the same as a page
    /// over the rows, from every start.
    #[track_caller]
    fn check(text: FilterText<'_>, expected: &[&str]) {
        let rows = [
            row("E1", 320_102, Band::Red, 0.8),
            row("E2", 320_104, Band::Orange, 0.3),
            row("E3", 320_102, Band::Green, 0.01),
            row("金陵制衣", 330_102, Band::Yellow, 0.12),
        ];
        let filter = Filter::parse(&text).unwrap();
        let got: Vec<&str> = filter.select(&rows).map(|r| r.entity_id.as_str()).collect();
        assert_eq!(got, expected);
        let regions: Vec<RegionCode> = rows.iter().map(|r| r.region).collect();
        for start in 0..=rows.len() {
            for limit in 1..=3 {
                assert_eq!(page_in_region(&rows, &regions, &filter, start, limit), page(&rows, &filter, start, limit));
            }
        }
    }

    #[test]
    fn filters_select_rows() {
        check(FilterText::default(), &["E1", "E2", "E3", "金陵制衣"]);
        check(FilterText { region: Some("3201"), ..Default::default() }, &["E1", "E2", "E3"]);
        check(FilterText { region: Some("320102"), band: Some("red, green"), ..Default::default() }, &["E1", "E3"]);
        check(FilterText { min_score: Some(0.12), ..Default::default() }, &["E1", "E2", "金陵制衣"]);
        check(FilterText { text: Some(" 金陵 "), ..Default::default() }, &["金陵制衣"]);
        check(FilterText { entity_type: Some("project"), ..Default::default() }, &[]);
    }

    #[test]
    fn bad_text_names_the_parameter() {
        let bad = |text: FilterText<'_>| Filter::parse(&text).unwrap_err().parameter;
        assert_eq!(bad(FilterText { entity_type: Some("firm"), ..Default::default() }), "entity_type");
        assert_eq!(bad(FilterText { region: Some("32010"), ..Default::default() }), "region");
        assert_eq!(bad(FilterText { band: Some("red,purple"), ..Default::default() }), "band");
        assert_eq!(bad(FilterText { min_score: Some(1.5), ..Default::default() }), "min_score");
    }

    #[test]
    fn pages_count_every_match_and_point_past_the_last() {
        let rows: Vec<RunRow> = (0..7).map(|i| row(&format!("E{i}"), 320_102, Band::Red, 0.9)).collect();
        let all = Filter::parse(&FilterText::default()).unwrap();
        let first = page(&rows, &all, 0, 3);
        assert_eq!((first.positions, first.total, first.next), (vec![0, 1, 2], 7, Some(3)));
        let last = page(&rows, &all, 6, 3);
        assert_eq!((last.positions, last.total, last.next), (vec![6], 7, None));
    }
}

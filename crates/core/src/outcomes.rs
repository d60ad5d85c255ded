//! Did a list come true? A published list judged against what happened in its horizon: the realised
//! event rate per band, precision and recall at the red and orange cut-offs, and calibration (mean
//! predicted probability against the observed rate in ten equal-mass bins).

use crate::metrics::{self, ReliabilityBin};
use crate::model::Band;

/// The bands from the top down.
pub const BANDS: [Band; 4] = [Band::Red, Band::Orange, Band::Yellow, Band::Green];

/// Bins of the calibration table.
pub const CALIBRATION_BINS: usize = 10;

/// One entity of a list: what it was given and whether the event came.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    pub probability: f64,
    pub band: Band,
    pub event: bool,
}

/// The entities of one band and how many had an event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandOutcome {
    pub band: Band,
    pub entities: usize,
    pub events: usize,
    /// The mean probability the list gave them (0 for an empty band).
    pub mean_probability: f64,
}

impl BandOutcome {
    /// The realised event rate; none for an empty band.
    pub fn rate(&self) -> Option<f64> {
        (self.entities > 0).then(|| self.events as f64 / self.entities as f64)
    }
}

/// A list judged: per band, and its calibration.
#[derive(Clone, Debug, PartialEq)]
pub struct ListOutcome {
    /// Red, orange, yellow, green.
    pub bands: Vec<BandOutcome>,
    pub calibration: Vec<ReliabilityBin>,
}

impl ListOutcome {
    /// Judges a list.
    pub fn judge(rows: &[Judged]) -> ListOutcome {
        let bands = BANDS
            .iter()
            .map(|&band| {
                let of: Vec<&Judged> = rows.iter().filter(|r| r.band == band).collect();
                let entities = of.len();
                BandOutcome {
                    band,
                    entities,
                    events: of.iter().filter(|r| r.event).count(),
                    mean_probability: if entities > 0 {
                        of.iter().map(|r| r.probability).sum::<f64>() / entities as f64
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let prob: Vec<f64> = rows.iter().map(|r| r.probability).collect();
        let y: Vec<bool> = rows.iter().map(|r| r.event).collect();
        ListOutcome { bands, calibration: metrics::reliability(&prob, &y, CALIBRATION_BINS) }
    }

    /// Entities and events at or above `band` (the list down to its cut-off).
    fn down_to(&self, band: Band) -> (usize, usize) {
        self.bands.iter().filter(|b| b.band <= band).fold((0, 0), |(n, e), b| (n + b.entities, e + b.events))
    }

    /// Every entity and every event.
    pub fn totals(&self) -> (usize, usize) {
        self.down_to(Band::Green)
    }

    /// The share with an event among those at or above `band`'s cut-off; none when none were.
    pub fn precision_at(&self, band: Band) -> Option<f64> {
        let (n, e) = self.down_to(band);
        (n > 0).then(|| e as f64 / n as f64)
    }

    /// The share of all events that were at or above `band`'s cut-off; none when there was no event.
    pub fn recall_at(&self, band: Band) -> Option<f64> {
        let (_, e) = self.down_to(band);
        let (_, all) = self.totals();
        (all > 0).then(|| e as f64 / all as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(rows: &[(f64, Band, bool)], precision: [Option<f64>; 2], recall: [Option<f64>; 2]) {
        let rows: Vec<Judged> =
            rows.iter().map(|&(probability, band, event)| Judged { probability, band, event }).collect();
        let o = ListOutcome::judge(&rows);
        assert_eq!([o.precision_at(Band::Red), o.precision_at(Band::Orange)], precision);
        assert_eq!([o.recall_at(Band::Red), o.recall_at(Band::Orange)], recall);
        assert_eq!(o.totals(), (rows.len(), rows.iter().filter(|r| r.event).count()));
        let binned: usize = o.calibration.iter().map(|b| b.entities).sum();
        assert_eq!(binned, rows.len());
    }

    #[test]
    fn precision_and_recall_at_the_cut_offs() {
        // Red: 2 of 4 had an event; orange: 1 of 2; yellow 1 of 2; green 0 of 2. Events 4.
        use Band::*;
        let rows = [
            (0.9, Red, true),
            (0.8, Red, true),
            (0.7, Red, false),
            (0.6, Red, false),
            (0.4, Orange, true),
            (0.3, Orange, false),
            (0.2, Yellow, true),
            (0.15, Yellow, false),
            (0.05, Green, false),
            (0.01, Green, false),
        ];
        check(&rows, [Some(0.5), Some(0.5)], [Some(0.5), Some(0.75)]);
        // Nobody red and no event: precision at red and every recall undefined.
        check(&[(0.3, Orange, false), (0.01, Green, false)], [None, Some(0.0)], [None, None]);
    }

    #[test]
    fn bands_report_their_rates_and_mean_probability() {
        let rows = [
            Judged { probability: 0.6, band: Band::Red, event: true },
            Judged { probability: 0.8, band: Band::Red, event: false },
        ];
        let o = ListOutcome::judge(&rows);
        assert_eq!(o.bands[0].rate(), Some(0.5));
        assert!((o.bands[0].mean_probability - 0.7).abs() < 1e-12);
        assert_eq!(o.bands[1].rate(), None);
    }
}

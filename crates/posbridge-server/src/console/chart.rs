//! The overview's figures: the error rate of the last hour, and the chart of deliveries
//! per hour by outcome as inline SVG (a picture, no script). Integer arithmetic only.

use maud::{Markup, html};
use posbridge_outbox::{DeliveryState, HourlyOutcome};

/// The outcomes the chart stacks, bottom up, with their colours.
pub(crate) const OUTCOMES: [(DeliveryState, &str); 4] = [
    (DeliveryState::Delivered, "#2e7d32"),
    (DeliveryState::Retrying, "#f9a825"),
    (DeliveryState::Uncertain, "#6a1b9a"),
    (DeliveryState::Dead, "#c62828"),
];

/// How many hours the chart shows.
pub(crate) const HOURS: usize = 24;

const MS_PER_HOUR: i64 = 3_600_000;
const BAR_WIDTH: usize = 10;
const BAR_GAP: usize = 2;
const HEIGHT: usize = 60;
const AXIS: usize = 14;

/// The share of failures (retrying, dead, uncertain) among all outcomes, in tenths of a
/// percent; `None` when there were no outcomes.
pub(crate) fn error_permille<'a>(outcomes: impl IntoIterator<Item = &'a HourlyOutcome>) -> Option<u64> {
    let (mut failed, mut all) = (0u64, 0u64);
    for o in outcomes {
        all = all.saturating_add(o.count);
        if matches!(
            o.outcome,
            DeliveryState::Retrying | DeliveryState::Dead | DeliveryState::Uncertain
        ) {
            failed = failed.saturating_add(o.count);
        }
    }
    (all > 0).then(|| failed.saturating_mul(1000) / all)
}

/// Tenths of a percent as `12.5%`.
pub(crate) fn percent(permille: u64) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}

/// Counts per hour (index 0 the oldest of [`HOURS`], the last the hour of `now_ms`) and
/// per outcome (in the order of [`OUTCOMES`]).
pub(crate) fn buckets<'a>(
    outcomes: impl IntoIterator<Item = &'a HourlyOutcome>,
    now_ms: i64,
) -> [[u64; OUTCOMES.len()]; HOURS] {
    let mut out = [[0u64; OUTCOMES.len()]; HOURS];
    let current = now_ms.div_euclid(MS_PER_HOUR);
    for o in outcomes {
        let hour = o.hour.as_millisecond().div_euclid(MS_PER_HOUR);
        let Ok(back) = usize::try_from(current - hour) else {
            continue;
        };
        let Some(slot) = (HOURS - 1).checked_sub(back) else {
            continue;
        };
        if let Some(i) = OUTCOMES.iter().position(|(s, _)| *s == o.outcome) {
            out[slot][i] = out[slot][i].saturating_add(o.count);
        }
    }
    out
}

/// The stacked bar chart of `buckets`, `id` its element id.
pub(crate) fn svg(id: &str, buckets: &[[u64; OUTCOMES.len()]; HOURS], now_ms: i64) -> Markup {
    let totals: Vec<u64> = buckets.iter().map(|b| b.iter().sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let width = HOURS * (BAR_WIDTH + BAR_GAP);
    let height = HEIGHT + AXIS;
    let sum: u64 = totals.iter().sum();
    let label = format!("Deliveries per hour by outcome over the last {HOURS} hours: {sum} outcomes");
    let current_hour = now_ms.div_euclid(MS_PER_HOUR).rem_euclid(24);
    html! {
        svg id=(id) class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label)
            viewBox=(format!("0 0 {width} {height}")) width=(width * 2) height=(height * 2) {
            title { (label) }
            line x1="0" y1=(HEIGHT) x2=(width) y2=(HEIGHT) stroke="#999" stroke-width="1" {}
            @for (slot, counts) in buckets.iter().enumerate() {
                @let x = slot * (BAR_WIDTH + BAR_GAP) + BAR_GAP / 2;
                @let hour = (current_hour + 1 + i64::try_from(slot).unwrap_or(0)).rem_euclid(24);
                g {
                    title { (format!("{hour:02}:00 UTC — ")) (describe(counts)) }
                    // A transparent full-height bar carries the tooltip for empty hours too.
                    rect x=(x) y="0" width=(BAR_WIDTH) height=(HEIGHT) fill="transparent" {}
                    @for (i, segment) in segments(counts, max).into_iter().enumerate() {
                        @if let Some((y, h)) = segment {
                            rect class=(format!("seg-{}", OUTCOMES[i].0.as_str())) x=(x) y=(y) width=(BAR_WIDTH)
                                height=(h) fill=(OUTCOMES[i].1) {}
                        }
                    }
                    @if hour % 6 == 0 {
                        text x=(x) y=(HEIGHT + AXIS - 3) font-size="8" fill="#555" { (format!("{hour:02}h")) }
                    }
                }
            }
        }
    }
}

/// The `(y, height)` of each outcome's segment of a bar, stacked bottom up, scaled so
/// that `max` fills the chart; `None` for an outcome without any.
fn segments(counts: &[u64; OUTCOMES.len()], max: u64) -> [Option<(u64, u64)>; OUTCOMES.len()] {
    let full = HEIGHT as u64;
    let mut out = [None; OUTCOMES.len()];
    let mut below = 0u64;
    let mut running = 0u64;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        running = running.saturating_add(c);
        // The top of this segment, by the cumulative count, so rounding never gaps.
        let top = running.saturating_mul(full) / max;
        let h = top.saturating_sub(below).max(1);
        out[i] = Some((full.saturating_sub(below + h), h));
        below += h;
    }
    out
}

/// `3 delivered, 1 dead` (or `none`).
fn describe(counts: &[u64; OUTCOMES.len()]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .zip(OUTCOMES)
        .filter(|(c, _)| **c > 0)
        .map(|(c, (s, _))| format!("{c} {s}"))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The chart's legend.
pub(crate) fn legend() -> Markup {
    html! {
        ul class="legend" {
            @for (state, _) in OUTCOMES {
                li { span class=(format!("swatch seg-{}", state.as_str())) {} (state.as_str()) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use posbridge_outbox::Target;

    fn outcome(hour_ms: i64, outcome: DeliveryState, count: u64) -> HourlyOutcome {
        HourlyOutcome {
            target: Target::for_tenant("t", "v"),
            hour: Timestamp::from_millisecond(hour_ms).expect("a time"),
            outcome,
            count,
        }
    }

    #[test]
    fn the_error_rate_counts_retrying_dead_and_uncertain() {
        let rows = [
            outcome(0, DeliveryState::Delivered, 5),
            outcome(0, DeliveryState::Retrying, 1),
            outcome(0, DeliveryState::Dead, 1),
            outcome(0, DeliveryState::Uncertain, 1),
        ];
        assert_eq!(error_permille(&rows), Some(375));
        assert_eq!(percent(375), "37.5%");
        assert_eq!(error_permille(&[]), None);
    }

    #[test]
    fn outcomes_fall_in_their_hour() {
        let now = 100 * MS_PER_HOUR + 5;
        let rows = [
            outcome(100 * MS_PER_HOUR, DeliveryState::Dead, 2),
            outcome(77 * MS_PER_HOUR, DeliveryState::Delivered, 3),
            outcome(76 * MS_PER_HOUR, DeliveryState::Delivered, 9),
            outcome(101 * MS_PER_HOUR, DeliveryState::Delivered, 9),
        ];
        let b = buckets(&rows, now);
        assert_eq!(b[HOURS - 1], [0, 0, 0, 2]);
        assert_eq!(b[0], [3, 0, 0, 0]);
        assert_eq!(b.iter().flatten().sum::<u64>(), 5);
    }

    #[test]
    fn segments_stack_to_the_bar_height() {
        let s = segments(&[30, 0, 10, 20], 60);
        assert_eq!(s[0], Some((30, 30)));
        assert_eq!(s[1], None);
        assert_eq!(s[2], Some((20, 10)));
        assert_eq!(s[3], Some((0, 20)));
        // A single outcome among thousands still shows.
        assert_eq!(segments(&[5000, 0, 0, 1], 5001)[3].map(|(_, h)| h), Some(1));
    }
}

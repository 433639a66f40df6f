//! A series of numbers read by a model: a few statistics over every point, and a downsampled
//! view that keeps what matters. prometheus-range-query and cloudwatch's `metric_data` both
//! answer this way, so a model reads a Prometheus range and a CloudWatch metric alike.
//!
//! Downsampling keeps, per time bucket, the lowest and the highest point: an average would
//! flatten the spike an operator is looking for.

/// Smallest, largest and mean of the finite values (`None` when there is none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Smallest finite value.
    pub min: Option<f64>,
    /// Largest finite value.
    pub max: Option<f64>,
    /// Mean of the finite values.
    pub avg: Option<f64>,
}

/// The [`Stats`] of `numbers`; NaN and ±∞ are left out.
pub fn finite_stats(numbers: &[f64]) -> Stats {
    let (mut min, mut max, mut sum, mut finite) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
    for &n in numbers.iter().filter(|n| n.is_finite()) {
        min = min.min(n);
        max = max.max(n);
        sum += n;
        finite += 1;
    }
    let some = |x: f64| (finite > 0).then_some(x);
    Stats {
        min: some(min),
        max: some(max),
        avg: some(sum / finite.max(1) as f64),
    }
}

/// Indices to keep, in time order, at most `max_points`: all of them if they fit, else the
/// lowest and the highest finite point of each of `max_points / 2` equal buckets (the first
/// point of a bucket with no finite value).
pub fn downsample(numbers: &[f64], max_points: usize) -> Vec<usize> {
    let n = numbers.len();
    if n <= max_points {
        return (0..n).collect();
    }
    let buckets = max_points / 2;
    let mut keep = Vec::with_capacity(max_points);
    for b in 0..buckets {
        let (from, to) = (b * n / buckets, (b + 1) * n / buckets);
        let mut lo: Option<usize> = None;
        let mut hi: Option<usize> = None;
        for i in from..to {
            if !numbers[i].is_finite() {
                continue;
            }
            if lo.is_none_or(|l| numbers[i] < numbers[l]) {
                lo = Some(i);
            }
            if hi.is_none_or(|h| numbers[i] > numbers[h]) {
                hi = Some(i);
            }
        }
        match (lo, hi) {
            (Some(l), Some(h)) if l == h => keep.push(l),
            (Some(l), Some(h)) => keep.extend([l.min(h), l.max(h)]),
            _ => keep.push(from),
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_extremes_in_time_order() {
        let mut numbers: Vec<f64> = (0..1000).map(|i| (i % 10) as f64).collect();
        numbers[500] = 1e9; // a spike
        numbers[777] = -1e9; // a dip
        numbers[100] = f64::NAN;
        let keep = downsample(&numbers, 100);
        assert!(keep.len() <= 100);
        assert!(keep.windows(2).all(|w| w[0] < w[1]), "time order");
        assert!(
            keep.contains(&500) && keep.contains(&777),
            "extremes survive"
        );
        assert!(!keep.contains(&100), "NaN is not an extreme");
        assert_eq!(downsample(&numbers[..50], 100), (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn stats_leave_out_special_values() {
        let s = finite_stats(&[1.0, f64::NAN, 3.0, f64::INFINITY]);
        assert_eq!((s.min, s.max, s.avg), (Some(1.0), Some(3.0), Some(2.0)));
        let none = finite_stats(&[f64::NAN]);
        assert_eq!((none.min, none.max, none.avg), (None, None, None));
    }
}

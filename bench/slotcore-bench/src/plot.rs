//! PNG plots with plotters' bitmap backend. Text is drawn with the DejaVu Sans font compiled into
//! the binary (plotters' `ab_glyph` feature), so no system fonts or fontconfig are needed.

use crate::stats::{PercentilePoint, Report};
use anyhow::{anyhow, Context};
use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER_FONT: Once = Once::new();

const WIDTH: u32 = 1000;
const TIMELINE_HEIGHT: u32 = 760;
const DISTRIBUTION_HEIGHT: u32 = 560;
const SERIES_COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn register_font() {
    REGISTER_FONT.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is compiled in and known to parse; a failure would only lose the text.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

fn plot_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow!("plotting: {error:?}")
}

/// One line of a chart.
struct Series<'a> {
    label: String,
    color: RGBColor,
    points: &'a [(f64, f64)],
}

/// Writes `timeline.png` (latency p50/p99/max and throughput per second) and
/// `latency-distribution.png` for one run; returns the files written.
pub fn plot_run(report: &Report, directory: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let timeline = directory.join("timeline.png");
    let distribution = directory.join("latency-distribution.png");
    let title = format!("{}: {}", report.settings.label, report.settings.workload);
    let seconds = |value: fn(&crate::stats::Second) -> f64| -> Vec<(f64, f64)> {
        report
            .timeline
            .iter()
            .map(|second| (second.second as f64 + 0.5, value(second)))
            .collect()
    };
    let p50 = seconds(|second| second.p50_us);
    let p99 = seconds(|second| second.p99_us);
    let max = seconds(|second| second.max_us);
    let rate = seconds(|second| second.requests as f64);
    let latency = [
        Series {
            label: "p50".into(),
            color: SERIES_COLORS[0],
            points: &p50,
        },
        Series {
            label: "p99".into(),
            color: SERIES_COLORS[1],
            points: &p99,
        },
        Series {
            label: "max".into(),
            color: SERIES_COLORS[2],
            points: &max,
        },
    ];
    let throughput = [Series {
        label: "requests/s".into(),
        color: SERIES_COLORS[0],
        points: &rate,
    }];
    draw_timeline(&timeline, &title, &latency, &throughput)?;
    let curve = curve_points(&report.percentile_distribution);
    let series = [Series {
        label: report.settings.label.clone(),
        color: SERIES_COLORS[0],
        points: &curve,
    }];
    draw_distribution(&distribution, &title, &series)?;
    Ok(vec![timeline, distribution])
}

/// Writes `compare-timeline.png` (p99 and throughput of every run) and
/// `compare-distribution.png`; returns the files written.
pub fn plot_compare(
    reports: &[Report],
    labels: &[String],
    directory: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let timeline = directory.join("compare-timeline.png");
    let distribution = directory.join("compare-distribution.png");
    let mut workloads: Vec<&str> = reports
        .iter()
        .map(|report| report.settings.workload.as_str())
        .collect();
    workloads.dedup();
    let title = format!("{} ({})", labels.join(" vs "), workloads.join(" / "));
    let p99: Vec<Vec<(f64, f64)>> = reports
        .iter()
        .map(|report| {
            report
                .timeline
                .iter()
                .map(|second| (second.second as f64 + 0.5, second.p99_us))
                .collect()
        })
        .collect();
    let rate: Vec<Vec<(f64, f64)>> = reports
        .iter()
        .map(|report| {
            report
                .timeline
                .iter()
                .map(|second| (second.second as f64 + 0.5, second.requests as f64))
                .collect()
        })
        .collect();
    let curves: Vec<Vec<(f64, f64)>> = reports
        .iter()
        .map(|report| curve_points(&report.percentile_distribution))
        .collect();
    draw_timeline(
        &timeline,
        &title,
        &labelled(&p99, labels, " p99"),
        &labelled(&rate, labels, ""),
    )?;
    draw_distribution(&distribution, &title, &labelled(&curves, labels, ""))?;
    Ok(vec![timeline, distribution])
}

/// One series per run, each in its own color.
fn labelled<'a>(points: &'a [Vec<(f64, f64)>], labels: &[String], suffix: &str) -> Vec<Series<'a>> {
    points
        .iter()
        .enumerate()
        .map(|(index, points)| Series {
            label: format!("{}{suffix}", labels[index]),
            color: SERIES_COLORS[index % SERIES_COLORS.len()],
            points,
        })
        .collect()
}

/// The distribution's x axis: "nines", -log10(1 - p), so 90% is 1, 99% is 2, 99.9% is 3.
fn nines(percentile: f64) -> f64 {
    -(1.0 - percentile / 100.0).max(1e-9).log10()
}

fn curve_points(curve: &[PercentilePoint]) -> Vec<(f64, f64)> {
    let below_max: Vec<(f64, f64)> = curve
        .iter()
        .filter(|point| point.percentile < 100.0)
        .map(|point| (nines(point.percentile), point.latency_us.max(0.001)))
        .collect();
    let mut points = below_max.clone();
    // The maximum has no finite "nines"; draw it one step beyond the last percentile.
    if let (Some(last), Some(max)) = (below_max.last(), curve.last()) {
        points.push((last.0 + 0.5, max.latency_us.max(0.001)));
    }
    points
}

fn bounds(series: &[Series]) -> (f64, f64, f64, f64) {
    let points = series.iter().flat_map(|series| series.points.iter());
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::MAX, 0.0f64);
    for &(x, y) in points {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if y_min == f64::MAX {
        (0.0, x_max, 1.0, 10.0)
    } else {
        (
            0.0,
            x_max,
            y_min.max(0.001),
            y_max.max(y_min * 1.1).max(0.01),
        )
    }
}

fn draw_timeline(
    path: &Path,
    title: &str,
    latency: &[Series],
    throughput: &[Series],
) -> anyhow::Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (WIDTH, TIMELINE_HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(plot_error)?;
    let (upper, lower) = root.split_vertically(TIMELINE_HEIGHT / 2);
    draw_latency_timeline(&upper, latency)?;
    draw_throughput_timeline(&lower, throughput)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn draw_latency_timeline(
    area: &DrawingArea<BitMapBackend, Shift>,
    series: &[Series],
) -> anyhow::Result<()> {
    let (_, x_max, y_min, y_max) = bounds(series);
    let mut chart = ChartBuilder::on(area)
        .caption("latency per second", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max.ceil(), log_axis(y_min * 0.8, y_max * 1.25))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("seconds")
        .y_desc("latency (µs, log)")
        .y_label_formatter(&|value| format_number(*value))
        .draw()
        .map_err(plot_error)?;
    draw_lines(&mut chart, series)
}

fn draw_throughput_timeline(
    area: &DrawingArea<BitMapBackend, Shift>,
    series: &[Series],
) -> anyhow::Result<()> {
    let (_, x_max, _, y_max) = bounds(series);
    let mut chart = ChartBuilder::on(area)
        .caption("throughput per second", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max.ceil(), 0.0..y_max * 1.15)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("seconds")
        .y_desc("requests/s")
        .y_label_formatter(&|value| format_number(*value))
        .draw()
        .map_err(plot_error)?;
    draw_lines(&mut chart, series)
}

fn draw_distribution(path: &Path, title: &str, series: &[Series]) -> anyhow::Result<()> {
    register_font();
    let (_, x_max, y_min, y_max) = bounds(series);
    let root = BitMapBackend::new(path, (WIDTH, DISTRIBUTION_HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let x_end = x_max.ceil().max(2.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("latency by percentile: {title}"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_end, log_axis(y_min * 0.8, y_max * 1.25))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_labels(x_end as usize + 1)
        .x_label_formatter(&|nines| format_percentile(*nines))
        .x_desc("percentile")
        .y_desc("latency (µs, log)")
        .y_label_formatter(&|value| format_number(*value))
        .draw()
        .map_err(plot_error)?;
    draw_lines(&mut chart, series)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

/// A log axis labelled at 1, 2 and 5 times each power of ten (plotters alone labels only the
/// powers of ten, too few for a range of one or two decades).
fn log_axis(low: f64, high: f64) -> WithKeyPoints<LogCoord<f64>> {
    let mut points = Vec::new();
    let mut decade = 10f64.powf(low.log10().floor());
    while decade <= high {
        for step in [1.0, 2.0, 5.0] {
            let point = decade * step;
            if (low..=high).contains(&point) {
                points.push(point);
            }
        }
        decade *= 10.0;
    }
    (low..high).log_scale().with_key_points(points)
}

fn draw_lines<'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    series: &[Series],
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for line in series {
        let color = line.color;
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(line.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 10.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn format_percentile(nines: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-nines));
    let text = format!("{percentile:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_labels() {
        assert_eq!(format_percentile(0.0), "0%");
        assert_eq!(format_percentile(1.0), "90%");
        assert_eq!(format_percentile(3.0), "99.9%");
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(format_number(1_500_000.0), "1.5M");
        assert_eq!(format_number(85_000.0), "85k");
        assert_eq!(format_number(250.0), "250");
        assert_eq!(format_number(0.5), "0.50");
    }
}

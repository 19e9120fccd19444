//! Charts as server-rendered SVG, each with a text alternative (a title, a description and the data as a
//! visually hidden table), so that they need no script and screen readers can read them.
//!
//! The SVG is `role="img"` and named by its `<title>` and `<desc>`; the description says in words what
//! the chart shows (first and latest value, range; or each bar's count), and the table beside it holds
//! every plotted value. Colours come from the stylesheet's classes, so both themes apply.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::layout;

/// The drawing's size in SVG units; it scales to the card's width.
const WIDTH: f64 = 600.0;
/// The line chart's height.
const HEIGHT: f64 = 200.0;
/// Room for the value labels on the left.
const LEFT: f64 = 34.0;
/// Room on the right so the last point is not clipped.
const RIGHT: f64 = 10.0;
/// Room above the highest grid line.
const TOP: f64 = 10.0;
/// Room for the date labels below the plot.
const BOTTOM: f64 = 24.0;

/// One line of a score chart: what it is, how it is drawn, and its points, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Its name, in the legend, the description and the table's column header.
    pub name: &'a str,
    /// The stylesheet class of its stroke: `line` or `line-alt`.
    pub class: &'static str,
    /// Its points (time, score 0–100), oldest first.
    pub points: &'a [(DateTime<Utc>, f64)],
}

/// The last point of each UTC day, oldest first: scores are recorded after every change, which can be
/// thousands a day on a large fleet, and a trend over weeks needs one point a day.
pub fn last_per_day(points: &[(DateTime<Utc>, f64)]) -> Vec<(DateTime<Utc>, f64)> {
    let mut out: Vec<(DateTime<Utc>, f64)> = Vec::new();
    for &(at, value) in points {
        match out.last_mut() {
            Some(last) if last.0.date_naive() == at.date_naive() => *last = (at, value),
            _ => out.push((at, value)),
        }
    }
    out
}

/// A line chart of scores (0–100) over time, with its text alternative; `id` prefixes the ids of its
/// title and description. With no point at all it says so instead of drawing empty axes.
pub fn score_chart(id: &str, title: &str, series: &[Series<'_>]) -> Markup {
    let times: BTreeSet<DateTime<Utc>> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return html! {
            p.muted.chart-empty id=(id) { (title) ": no scores recorded in this period yet." }
        };
    };
    let span = (last - first).num_seconds() as f64;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    // One instant (a single recording) sits in the middle rather than on the axis.
    let x = |at: DateTime<Utc>| {
        if span <= 0.0 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + (at - first).num_seconds() as f64 / span * plot_width
        }
    };
    let y = |value: f64| TOP + (1.0 - value.clamp(0.0, 100.0) / 100.0) * plot_height;
    let drawing = html! {
        @for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
            line.grid x1=(c(LEFT)) x2=(c(WIDTH - RIGHT)) y1=(c(y(tick))) y2=(c(y(tick))) {}
            text x=(c(LEFT - 6.0)) y=(c(y(tick) + 4.0)) text-anchor="end" { (tick) }
        }
        text x=(c(x(first))) y=(c(HEIGHT - 6.0)) text-anchor=(if span > 0.0 { "start" } else { "middle" }) {
            (layout::date(first))
        }
        @if span > 0.0 {
            text x=(c(x(last))) y=(c(HEIGHT - 6.0)) text-anchor="end" { (layout::date(last)) }
        }
        @for s in series {
            @if s.points.len() > 1 {
                polyline class=(s.class) points=(polyline(s.points, &x, &y)) {}
            }
            // Points are marked when they are few, so a single recording is visible.
            @if s.points.len() <= 31 {
                @for &(at, value) in s.points {
                    circle class=(format!("{}-point", s.class)) cx=(c(x(at))) cy=(c(y(value))) r="3" {}
                }
            }
        }
    };
    let rest = html! {
        @if series.len() > 1 {
            figcaption.legend {
                @for s in series {
                    span class=(format!("legend-{}", s.class)) { (s.name) }
                }
            }
        }
        (line_table(title, series, &times))
    };
    figure(id, title, &describe_lines(series), HEIGHT, drawing, rest)
}

/// What every chart is: a figure with the SVG (`role="img"`, named by its `<title>` and described
/// by its `<desc>`) holding `drawing`, followed by `rest` (legend, data table).
fn figure(
    id: &str,
    title: &str,
    description: &str,
    height: f64,
    drawing: Markup,
    rest: Markup,
) -> Markup {
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure.chart-figure {
            svg.chart id=(id) role="img" viewBox=(format!("0 0 {WIDTH} {height}"))
                aria-labelledby=(format!("{title_id} {desc_id}")) preserveAspectRatio="xMidYMid meet" {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (description) }
                (drawing)
            }
            (rest)
        }
    }
}

/// A coordinate as the SVG carries it: one decimal is finer than any screen shows.
fn c(value: f64) -> String {
    format!("{value:.1}")
}

/// The `points` attribute of a polyline.
fn polyline(
    points: &[(DateTime<Utc>, f64)],
    x: &impl Fn(DateTime<Utc>) -> f64,
    y: &impl Fn(f64) -> f64,
) -> String {
    points
        .iter()
        .map(|&(at, value)| format!("{},{}", c(x(at)), c(y(value))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The description of a score chart: per line, its first and latest value and its range.
fn describe_lines(series: &[Series<'_>]) -> String {
    let parts: Vec<String> = series
        .iter()
        .map(|s| match s.points {
            [] => format!("{}: no recorded score.", s.name),
            [(at, value)] => format!(
                "{}: one recorded score, {} on {}.",
                s.name,
                layout::score(*value),
                layout::date(*at)
            ),
            [(first_at, first), .., (last_at, last)] => {
                let low = s.points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
                let high = s
                    .points
                    .iter()
                    .map(|p| p.1)
                    .fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{}: {} recorded scores, from {} on {} to {} on {}; lowest {}, highest {}.",
                    s.name,
                    s.points.len(),
                    layout::score(*first),
                    layout::date(*first_at),
                    layout::score(*last),
                    layout::date(*last_at),
                    layout::score(low),
                    layout::score(high)
                )
            }
        })
        .collect();
    parts.join(" ")
}

/// Every plotted value as a table for screen readers: one row per time, one column per line.
fn line_table(title: &str, series: &[Series<'_>], times: &BTreeSet<DateTime<Utc>>) -> Markup {
    html! {
        table.sr-only {
            caption { (title) }
            thead {
                tr {
                    th scope="col" { "Time" }
                    @for s in series { th scope="col" { (s.name) } }
                }
            }
            tbody {
                @for at in times {
                    tr {
                        th scope="row" { (layout::time(*at)) }
                        @for s in series {
                            td {
                                @match s.points.iter().find(|p| p.0 == *at) {
                                    Some(p) => (layout::score(p.1)),
                                    None => "—",
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One bar of a bar chart.
#[derive(Debug, Clone, Copy)]
pub struct Bar<'a> {
    /// What it counts (`High`).
    pub label: &'a str,
    /// How many.
    pub value: u64,
    /// The stylesheet class of its fill (`bar-high`, `bar-medium`, `bar-low`, `bar-none`).
    pub class: &'static str,
}

/// What a bar chart counts: the name of its categories and of its unit, for the description and the
/// table.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    /// The categories' column header (`Exposure level`).
    pub category: &'a str,
    /// The unit, singular (`device`).
    pub one: &'a str,
    /// The unit, plural (`devices`).
    pub many: &'a str,
}

/// The height of one bar's row.
const ROW: f64 = 30.0;
/// Room for the bar labels on the left.
const LABEL: f64 = 80.0;
/// Room for the counts on the right of the longest bar.
const COUNT: f64 = 70.0;

/// A horizontal bar chart of counts, with its text alternative; `id` prefixes the ids of its title and
/// description.
pub fn bar_chart(id: &str, title: &str, counted: Counted<'_>, bars: &[Bar<'_>]) -> Markup {
    let height = ROW * bars.len() as f64 + 4.0;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64;
    let room = WIDTH - LABEL - COUNT;
    let total: u64 = bars.iter().map(|b| b.value).sum();
    let unit = |n: u64| if n == 1 { counted.one } else { counted.many };
    let description = format!(
        "{} ({} {} in all).",
        bars.iter()
            .map(|b| format!("{}: {} {}", b.label, b.value, unit(b.value)))
            .collect::<Vec<_>>()
            .join(", "),
        total,
        unit(total)
    );
    let drawing = html! {
        @for (i, bar) in bars.iter().enumerate() {
            @let top = ROW * i as f64 + 4.0;
            @let length = bar.value as f64 / max * room;
            text x=(c(LABEL - 8.0)) y=(c(top + ROW / 2.0 + 1.0)) text-anchor="end" { (bar.label) }
            // A zero still shows a sliver, so the row reads as "none" rather than missing.
            rect class=(bar.class) x=(c(LABEL)) y=(c(top + 3.0)) width=(c(length.max(1.5))) height=(c(ROW - 10.0)) rx="2" {}
            text x=(c(LABEL + length.max(1.5) + 6.0)) y=(c(top + ROW / 2.0 + 1.0)) { (bar.value) }
        }
    };
    let table = html! {
        table.sr-only {
            caption { (title) }
            thead {
                tr {
                    th scope="col" { (counted.category) }
                    th scope="col" { (capitalised(counted.many)) }
                }
            }
            tbody {
                @for bar in bars {
                    tr { th scope="row" { (bar.label) } td { (bar.value) } }
                }
            }
        }
    };
    figure(id, title, &description, height, drawing, table)
}

/// `devices` → `Devices`, for a column header.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(d: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, d, hour, 0, 0).unwrap()
    }

    fn line(points: &[(DateTime<Utc>, f64)]) -> String {
        score_chart(
            "trend",
            "Exposure score",
            &[Series {
                name: "Mitigation-like",
                class: "line",
                points,
            }],
        )
        .into_string()
    }

    #[test]
    fn no_point_says_so_and_draws_nothing() {
        let html = line(&[]);
        assert!(!html.contains("<svg"), "{html}");
        assert!(html.contains("no scores recorded"), "{html}");
    }

    #[test]
    fn one_point_is_a_marked_point_in_the_middle_without_a_line() {
        let html = line(&[(day(1, 12), 42.25)]);
        assert!(html.contains(r#"role="img""#), "{html}");
        assert!(html.contains(r#"<title id="trend-title">Exposure score</title>"#));
        assert!(
            html.contains("Mitigation-like: one recorded score, 42.2 on 2024-06-01."),
            "{html}"
        );
        assert!(!html.contains("<polyline"), "{html}");
        // x is the middle of the plot: 34 + (600 − 44) / 2.
        assert!(html.contains(r#"cx="312.0""#), "{html}");
        assert!(html.contains("<td>42.2</td>"), "{html}");
    }

    #[test]
    fn several_points_are_a_line_described_by_first_latest_and_range() {
        let html = line(&[(day(1, 0), 60.0), (day(2, 0), 80.0), (day(3, 0), 40.0)]);
        assert!(html.contains("<polyline"), "{html}");
        // First at the left edge at y(60) = 10 + 0.4 × 166; last at the right edge at y(40).
        assert!(
            html.contains(r#"points="34.0,76.4 312.0,43.2 590.0,109.6""#),
            "{html}"
        );
        assert!(
            html.contains(
                "3 recorded scores, from 60.0 on 2024-06-01 to 40.0 on 2024-06-03; lowest 40.0, highest 80.0."
            ),
            "{html}"
        );
        assert_eq!(html.matches("<tr>").count(), 4, "a header and three rows");
        assert!(html.contains(r#"<th scope="col">Time</th>"#));
    }

    #[test]
    fn two_lines_share_the_table_and_get_a_legend() {
        let a = [(day(1, 0), 50.0), (day(2, 0), 40.0)];
        let b = [(day(2, 0), 30.0)];
        let html = score_chart(
            "pair",
            "Scores",
            &[
                Series {
                    name: "First",
                    class: "line",
                    points: &a,
                },
                Series {
                    name: "Second",
                    class: "line-alt",
                    points: &b,
                },
            ],
        )
        .into_string();
        assert!(html.contains("<figcaption"), "{html}");
        assert!(html.contains("<td>50.0</td><td>—</td>"), "{html}");
        assert!(html.contains("<td>40.0</td><td>30.0</td>"), "{html}");
    }

    #[test]
    fn the_last_score_of_each_day_is_kept() {
        let points = [
            (day(1, 1), 10.0),
            (day(1, 23), 20.0),
            (day(2, 5), 30.0),
            (day(4, 5), 40.0),
            (day(4, 6), 50.0),
        ];
        assert_eq!(
            last_per_day(&points),
            vec![(day(1, 23), 20.0), (day(2, 5), 30.0), (day(4, 6), 50.0)]
        );
        assert!(last_per_day(&[]).is_empty());
    }

    #[test]
    fn bars_are_proportional_and_described_with_their_unit() {
        let html = bar_chart(
            "levels",
            "Devices by exposure level",
            Counted {
                category: "Exposure level",
                one: "device",
                many: "devices",
            },
            &[
                Bar {
                    label: "High",
                    value: 1,
                    class: "bar-high",
                },
                Bar {
                    label: "Medium",
                    value: 2,
                    class: "bar-medium",
                },
                Bar {
                    label: "None",
                    value: 0,
                    class: "bar-none",
                },
            ],
        )
        .into_string();
        assert!(html.contains(r#"role="img""#), "{html}");
        assert!(
            html.contains("High: 1 device, Medium: 2 devices, None: 0 devices (3 devices in all)."),
            "{html}"
        );
        // The longest bar fills the room (600 − 80 − 70), the half one half of it.
        assert!(html.contains(r#"width="450.0""#), "{html}");
        assert!(html.contains(r#"width="225.0""#), "{html}");
        assert!(html.contains(r#"width="1.5""#), "a zero is a sliver");
        assert!(html.contains(r#"<th scope="col">Devices</th>"#), "{html}");
        assert!(html.contains(r#"<th scope="row">Medium</th><td>2</td>"#));
    }
}

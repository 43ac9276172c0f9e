//! Exported numbers over stored runs: `fleet history --trend` in its three
//! formats, and the HTML report's chart as Chromium draws it, checked on
//! the screenshot's pixels.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::fleet;
use crate::harness::Hosts;
use crate::history::{disk_workflow, run_args, set_disk};
use crate::tools::tool;

/// The first two series colours of the chart palette (host order).
const BLUE: [u8; 3] = [0x1f, 0x77, 0xb4];
const ORANGE: [u8; 3] = [0xff, 0x7f, 0x0e];

/// Three runs of a disk check on 2 hosts sharing one history: host-1
/// stays at 40 %, host-2 climbs 20 → 50 → 90 (failing the last time). The
/// last run writes an HTML report; returns the state dir and its path.
fn three_runs(hosts: &Hosts) -> (PathBuf, PathBuf) {
    let wf = hosts.write_file("disks.kdl", &disk_workflow(hosts));
    let inv = hosts.write_inventory("hosts");
    let state = hosts.dir().join("state");
    let html = hosts.dir().join("report.html");
    set_disk(hosts, "host-1", 40);
    for (i, pct) in [20, 50, 90].into_iter().enumerate() {
        set_disk(hosts, "host-2", pct);
        let mut run = fleet(&run_args(&wf, &inv)).state_in(&state);
        if i == 2 {
            run = run.arg("--report").arg(format!("html={}", html.display()));
        }
        run.run().expect_code(if pct > 80 { 1 } else { 0 });
    }
    (state, html)
}

fn history(state: &Path, extra: &[&str]) -> crate::cli::Outcome {
    let mut args = vec!["history", "--trend"];
    args.extend(extra);
    fleet(&args).state_in(state).run()
}

#[test]
fn history_trend_shows_each_hosts_values_in_text_json_and_csv() {
    let hosts = Hosts::start(2);
    let (state, _) = three_runs(&hosts);

    let text = history(&state, &["disk_use"]);
    text.expect_code(0);
    let line = |host: &str| {
        text.stdout
            .lines()
            .find(|l| l.starts_with(host))
            .unwrap_or_else(|| panic!("no {host} line:\n{}", text.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // HOST TREND MIN MAX LAST…
    assert_eq!(
        line("host-2"),
        ["host-2", "▁▄█", "20", "90", "20", "50", "90"]
    );
    assert_eq!(
        line("host-1"),
        ["host-1", "▄▄▄", "40", "40", "40", "40", "40"]
    );
    assert!(
        text.stdout.starts_with("disk_use: disks on hosts, 3 runs"),
        "{}",
        text.stdout
    );

    let csv = history(&state, &["disk_use", "--format", "csv", "--host", "host-2"]);
    csv.expect_code(0);
    let rows: Vec<Vec<&str>> = csv.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["run", "started_at", "host", "name", "value"]);
    let values: Vec<&str> = rows[1..].iter().map(|r| r[4]).collect();
    assert_eq!(values, ["20", "50", "90"], "{}", csv.stdout);
    assert!(rows[1..].iter().all(|r| r[2] == "host-2"));
    assert!(rows[1][0] < rows[2][0], "runs oldest first");

    let json = history(&state, &["disk_use", "--format", "json"]);
    json.expect_code(0);
    let j: serde_json::Value = serde_json::from_str(&json.stdout).expect("trend JSON parses");
    assert_eq!(j["runs"].as_array().map(Vec::len), Some(3));
    assert_eq!(j["hosts"][1]["host"], "host-2");
    assert_eq!(j["hosts"][1]["values"], serde_json::json!([20, 50, 90]));

    // `-n 2`: the newest two runs only.
    let two = history(&state, &["disk_use", "-n", "2", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&two.stdout).expect("trend JSON parses");
    assert_eq!(j["hosts"][1]["values"], serde_json::json!([50, 90]));

    // A stored run rendered again charts the runs up to it: the first
    // run's report has one point per host and no line yet.
    let first_id = rows[1][0];
    let again = fleet(&["report", first_id, "--format", "html"])
        .state_in(&state)
        .run();
    again.expect_code(0);
    assert!(
        again.stdout.contains("over the last 1 stored run of"),
        "{}",
        again.stdout
    );
    assert_eq!(again.stdout.matches("<circle").count(), 2);
    assert!(!again.stdout.contains("<polyline"));

    // An unknown name: a usage error naming the numbers there are.
    let bad = history(&state, &["disk_usage"]);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("no number named `disk_usage`")
            && bad.stderr.contains("numeric exports: disk_use"),
        "{}",
        bad.stderr
    );
}

/// Pixels of `colour` (within a small tolerance for anti-aliasing).
fn mask(img: &Image, colour: [u8; 3]) -> Vec<bool> {
    img.pixels
        .chunks(img.channels)
        .map(|p| {
            p.iter()
                .zip(colour)
                .map(|(a, b)| a.abs_diff(b) as u32)
                .sum::<u32>()
                < 60
        })
        .collect()
}

struct Image {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

fn decode(path: &Path) -> Image {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("not a PNG: {e}"));
    let mut pixels = vec![
        0;
        reader
            .output_buffer_size()
            .expect("PNG size fits in memory")
    ];
    let info = reader
        .next_frame(&mut pixels)
        .unwrap_or_else(|e| panic!("PNG frame: {e}"));
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "8-bit screenshot");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    pixels.truncate(info.buffer_size());
    Image {
        width: info.width as usize,
        height: info.height as usize,
        channels,
        pixels,
    }
}

/// The pixels of every 8-connected group of at least `LINE_MIN` set
/// pixels: a drawn line with its dots (cut in two where another line
/// crosses it), but not a legend swatch (18 × 3 px) or a stray
/// anti-aliased pixel.
fn line_pixels(mask: &[bool], width: usize, height: usize) -> Vec<(usize, usize)> {
    const LINE_MIN: usize = 150;
    let mut seen = vec![false; mask.len()];
    let mut line = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        let mut group = Vec::new();
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            group.push((x, y));
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                        continue;
                    }
                    let j = ny as usize * width + nx as usize;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if group.len() >= LINE_MIN {
            line.extend(group);
        }
    }
    line
}

/// A line's horizontal extent and the mean height (screen y, down is
/// larger) of its leftmost and rightmost tenths.
fn line_shape(points: &[(usize, usize)]) -> (usize, f64, f64) {
    let min_x = points.iter().map(|p| p.0).min().unwrap_or(0);
    let max_x = points.iter().map(|p| p.0).max().unwrap_or(0);
    let span = max_x - min_x;
    let mean_y = |keep: &dyn Fn(usize) -> bool| {
        let ys: Vec<f64> = points
            .iter()
            .filter(|p| keep(p.0))
            .map(|p| p.1 as f64)
            .collect();
        ys.iter().sum::<f64>() / ys.len().max(1) as f64
    };
    let left = mean_y(&|x| x <= min_x + span / 10);
    let right = mean_y(&|x| x >= max_x - span / 10);
    (span, left, right)
}

#[test]
fn html_report_charts_the_trend_and_chromium_draws_the_rising_line() {
    let Some(chromium) = tool("chromium", "HTML trend chart in Chromium", "chromium") else {
        return;
    };
    let hosts = Hosts::start(2);
    let (_, html) = three_runs(&hosts);
    let page = std::fs::read_to_string(&html).expect("HTML report written");
    assert!(page.contains("<h2>Trends</h2>"), "{page}");
    assert_eq!(page.matches("<svg").count(), 1, "one chart: disk_use");
    assert!(!page.contains("<script"), "no JavaScript");
    assert!(!page.contains("src=\"http"), "no external assets");

    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trend-screenshot.png");
    let _ = std::fs::remove_file(&png);
    let profile = hosts.dir().join("chrome-profile");
    let shot = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1200,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let img = decode(&png);

    // host-2 (orange): one line across the plot, its right end well above
    // its left (20 % → 90 % over a 172 px high plot).
    let orange = line_pixels(&mask(&img, ORANGE), img.width, img.height);
    let (span, left, right) = line_shape(&orange);
    assert!(
        span > 400,
        "orange line spans {span} px ({} px drawn); screenshot {}",
        orange.len(),
        png.display()
    );
    assert!(
        left - right > 100.0,
        "orange line rises: left y {left:.0}, right y {right:.0}; screenshot {}",
        png.display()
    );
    // host-1 (blue): flat at 40 %, so level, and below host-2's last value.
    let blue = line_pixels(&mask(&img, BLUE), img.width, img.height);
    let (span, left, right) = line_shape(&blue);
    assert!(span > 400, "blue line spans {span} px; {}", png.display());
    assert!(
        (left - right).abs() < 6.0,
        "blue line is level: left y {left:.0}, right y {right:.0}; {}",
        png.display()
    );
    let (orange_span, orange_left, orange_right) = line_shape(&orange);
    eprintln!(
        "screenshot {}: orange {} px over {orange_span} px, y {orange_left:.0} → {orange_right:.0}; \
         blue {} px over {span} px, y {left:.0} → {right:.0}",
        png.display(),
        orange.len(),
        blue.len()
    );
    assert!(
        right > orange_right + 50.0,
        "40 % is drawn below 90 %: blue y {right:.0}, orange end y {orange_right:.0}"
    );
}

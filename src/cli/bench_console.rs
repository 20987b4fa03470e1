//! `almoner bench --console`: keystroke-to-frame latency, cold start to the
//! first frame and bytes written per cursor move, on a large database. The
//! frames go through the real crossterm backend into a byte counter, so the
//! diffing and escape sequences are those a terminal would receive.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use crate::app::App;
use crate::app::i18n::Lang;
use crate::app::keymap::Keymap;
use crate::app::keys::{Key, parse_keys};
use crate::store::Store;
use crate::ui::Theme;
use crate::ui::term::frame;

/// A terminal that only counts what it is sent.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Term = Terminal<CrosstermBackend<Counter>>;

fn terminal(counter: &Counter, w: u16, h: u16) -> Result<Term> {
    Ok(Terminal::with_options(
        CrosstermBackend::new(counter.clone()),
        TerminalOptions { viewport: Viewport::Fixed(Rect::new(0, 0, w, h)) },
    )?)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Presses each key and draws, timing key-to-frame; returns the sorted times.
async fn press(app: &mut App, term: &mut Term, keys: &[Key], theme: Theme) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(keys.len());
    for k in keys {
        let started = Instant::now();
        app.key(*k).await;
        frame(term, app, theme)?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

fn report(what: &str, times: &[Duration]) {
    println!("{what:<34} p50 {:>7.2} ms  p99 {:>7.2} ms  (n = {})", pct(times, 0.5), pct(times, 0.99), times.len());
}

pub async fn run(path: &std::path::Path, width: u16, height: u16) -> Result<()> {
    let theme = Theme { color: true };
    let counter = Counter::default();

    // Cold start: open the database, load the keymap and the board, draw.
    let started = Instant::now();
    let store = Store::open(path, "bench").await?;
    let (map, _) = Keymap::load(None);
    let (mut app, _jobs) = App::new(store.clone(), map, &[], Lang::En).await;
    app.rows = height as usize;
    app.refresh().await.map_err(anyhow::Error::msg)?;
    let mut term = terminal(&counter, width, height)?;
    frame(&mut term, &app, theme)?;
    let cold = started.elapsed();
    println!("console at {width}x{height}, {}", path.display());
    println!("{:<34} {:>7.1} ms", "cold start to first frame", cold.as_secs_f64() * 1000.0);
    println!("{:<34} {:>7} bytes", "first frame", counter.0.load(Ordering::Relaxed));

    // Board navigation: down the fundraising column, paging, across columns.
    let mut keys = Vec::new();
    keys.extend(std::iter::repeat_n(Key::plain(crate::app::keys::KeyCode::Right), 2));
    for _ in 0..200 {
        keys.push(Key::plain(crate::app::keys::KeyCode::Down));
    }
    for _ in 0..40 {
        keys.push(Key::plain(crate::app::keys::KeyCode::PageDown));
    }
    for _ in 0..20 {
        keys.extend(parse_keys("<Left> <Right>").map_err(anyhow::Error::msg)?);
    }
    report("board navigation", &press(&mut app, &mut term, &keys, theme).await?);

    // Bytes per cursor move: one Down on the board, frame diffed against the last.
    let mut bytes = Vec::new();
    for _ in 0..50 {
        let before = counter.0.load(Ordering::Relaxed);
        press(&mut app, &mut term, &[Key::plain(crate::app::keys::KeyCode::Down)], theme).await?;
        bytes.push(counter.0.load(Ordering::Relaxed) - before);
    }
    bytes.sort();
    println!(
        "{:<34} median {} bytes, max {} bytes",
        "bytes written per cursor move",
        bytes[bytes.len() / 2],
        bytes[bytes.len() - 1]
    );

    // Typing a filter at the prompt, then applying it.
    let mut keys = parse_keys("/").map_err(anyhow::Error::msg)?;
    keys.extend("Иванов".chars().map(Key::char));
    keys.extend(parse_keys("<Enter>").map_err(anyhow::Error::msg)?);
    let enter = keys.pop().into_iter().collect::<Vec<_>>();
    report("typing a filter", &press(&mut app, &mut term, &keys, theme).await?);
    report("applying it (Enter: search 100k)", &press(&mut app, &mut term, &enter, theme).await?);
    press(&mut app, &mut term, &parse_keys("/ <Enter>").map_err(anyhow::Error::msg)?, theme).await?;

    // Opening a case card and going back.
    let mut open = Vec::new();
    for _ in 0..200 {
        let t = press(&mut app, &mut term, &parse_keys("<Enter>").map_err(anyhow::Error::msg)?, theme).await?;
        open.extend(t);
        press(&mut app, &mut term, &parse_keys("<Esc> <Down>").map_err(anyhow::Error::msg)?, theme).await?;
    }
    open.sort();
    report("opening a case card", &open);

    // The split screen: open it on an unrestricted donation, then type amounts.
    let donation = store
        .list_donations(&crate::store::DonationQuery {
            unallocated_only: true,
            designated: Some(false),
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    if let Some(d) = donation.first() {
        let started = Instant::now();
        app.run_line(&format!("split {}", d.id)).await.map_err(anyhow::Error::msg)?;
        frame(&mut term, &app, theme)?;
        let rows = app.split.as_ref().map_or(0, |s| s.rows.len());
        println!(
            "{:<34} {:>7.1} ms  ({rows} fundraising cases)",
            "opening the split screen",
            started.elapsed().as_secs_f64() * 1000.0
        );
        let mut keys = Vec::new();
        for _ in 0..30 {
            keys.extend("125".chars().map(Key::char));
            keys.extend(parse_keys("<Down>").map_err(anyhow::Error::msg)?);
        }
        report("typing in the split screen", &press(&mut app, &mut term, &keys, theme).await?);
    }
    store.close().await;
    Ok(())
}

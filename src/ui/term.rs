//! The real terminal: raw mode, the alternate screen, one loop that waits on
//! keys, background jobs, other people's commits and signals, and draws only
//! when something changed, each frame as one synchronized update. The
//! terminal is restored on quit, panic, SIGHUP and SIGTERM.

use std::io::{Write, stdout};
use std::time::Duration;

use anyhow::Result;
use crossterm::event::{self, Event, KeyCode as CtKey, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{Theme, draw};
use crate::app::App;
use crate::app::keys::{Key, KeyCode};

/// Terminal key → almoner key; `None` for keys almoner does not use.
pub fn key_from(ev: KeyEvent) -> Option<Key> {
    let code = match ev.code {
        CtKey::Char(c) => KeyCode::Char(c),
        CtKey::Enter => KeyCode::Enter,
        CtKey::Esc => KeyCode::Esc,
        CtKey::Tab => KeyCode::Tab,
        CtKey::BackTab => KeyCode::BackTab,
        CtKey::Backspace => KeyCode::Backspace,
        CtKey::Delete => KeyCode::Delete,
        CtKey::Up => KeyCode::Up,
        CtKey::Down => KeyCode::Down,
        CtKey::Left => KeyCode::Left,
        CtKey::Right => KeyCode::Right,
        CtKey::Home => KeyCode::Home,
        CtKey::End => KeyCode::End,
        CtKey::PageUp => KeyCode::PageUp,
        CtKey::PageDown => KeyCode::PageDown,
        CtKey::F(n) => KeyCode::F(n),
        _ => return None,
    };
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let code = match code {
        KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
        other => other,
    };
    Some(Key { code, ctrl, alt: ev.modifiers.contains(KeyModifiers::ALT) })
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, cursor::Show);
}

/// What wakes the loop.
enum Wake {
    Key(Key),
    Resize(u16),
    Gone,
}

/// Reads the terminal on a thread of its own (crossterm's reader blocks).
fn spawn_reader(tx: mpsc::UnboundedSender<Wake>) {
    std::thread::spawn(move || {
        loop {
            let wake = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match key_from(k) {
                    Some(key) => Wake::Key(key),
                    None => continue,
                },
                Ok(Event::Resize(_, rows)) => Wake::Resize(rows),
                Ok(_) => continue,
                Err(_) => Wake::Gone,
            };
            let gone = matches!(wake, Wake::Gone);
            if tx.send(wake).is_err() || gone {
                return;
            }
        }
    });
}

/// Runs the console until the person quits or the connection goes.
pub async fn run(mut app: App, mut jobs: mpsc::UnboundedReceiver<crate::app::JobEvent>) -> Result<()> {
    let theme = Theme::from_env();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        default_hook(info);
    }));
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen, cursor::Hide)?;
    let result = event_loop(&mut app, &mut jobs, theme).await;
    restore();
    result
}

async fn event_loop(
    app: &mut App,
    jobs: &mut mpsc::UnboundedReceiver<crate::app::JobEvent>,
    theme: Theme,
) -> Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    let size = terminal.size()?;
    app.rows = size.height as usize;
    if let Err(e) = app.refresh().await {
        app.set_error(e);
    }
    let (tx, mut keys) = mpsc::unbounded_channel();
    spawn_reader(tx);
    let mut hangup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut watcher = app.store.watcher().await?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    while !app.quit {
        if dirty {
            frame(&mut terminal, app, theme)?;
            dirty = false;
        }
        tokio::select! {
            wake = keys.recv() => match wake {
                Some(Wake::Key(key)) => {
                    app.key(key).await;
                    // Coalesce keys already waiting (a paste, a held key) into one frame.
                    while let Ok(Wake::Key(key)) = keys.try_recv() {
                        app.key(key).await;
                    }
                    dirty = true;
                }
                Some(Wake::Resize(rows)) => {
                    app.rows = rows as usize;
                    terminal.autoresize()?;
                    dirty = true;
                }
                Some(Wake::Gone) | None => break,
            },
            Some(event) = jobs.recv() => {
                app.job_event(event).await;
                dirty = true;
            }
            _ = tick.tick() => {
                // Applications waiting in the web form's spool come in by themselves.
                if app.prompt.is_none() && app.poll_spool(false).await {
                    dirty = true;
                }
                if app.prompt.is_none() && app.poll_publish().await {
                    dirty = true;
                }
                // Someone else committed: show fresh figures within a second.
                if watcher.changed().await.unwrap_or(false) && app.prompt.is_none() {
                    app.mark_changed();
                    app.check_notices(false).await;
                    if let Err(e) = app.refresh().await {
                        app.set_error(e);
                    }
                    dirty = true;
                }
            }
            _ = hangup.recv() => break,
            _ = term.recv() => break,
        }
    }
    Ok(())
}

/// Draws one frame inside a synchronized update, so the terminal shows it whole.
pub fn frame<W: Write>(terminal: &mut Terminal<CrosstermBackend<W>>, app: &App, theme: Theme) -> Result<()> {
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| draw(f, app, theme))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

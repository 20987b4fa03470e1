//! Keymaps: shipped presets (embedded in the binary) with the user's file
//! merged over them. A binding is scoped to a screen or global, is a key or a
//! chord, and runs one command or a list (a macro). Chords resolve without a
//! timeout; Esc cancels. Every problem names file, line and what is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::command::Command;
use super::keys::{Key, KeyCode, keys_text, parse_keys};

pub const PRESETS: &[(&str, &str)] =
    &[("default", include_str!("../../keymaps/default.toml")), ("vim", include_str!("../../keymaps/vim.toml"))];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Global,
    Board,
    Case,
    Donations,
    Split,
    Payments,
    Imports,
    Reviews,
    Donors,
    Work,
    Notices,
    Reports,
    Segments,
    Privacy,
}

impl Scope {
    pub const ALL: [Scope; 14] = [
        Scope::Global,
        Scope::Board,
        Scope::Case,
        Scope::Donations,
        Scope::Split,
        Scope::Payments,
        Scope::Imports,
        Scope::Reviews,
        Scope::Donors,
        Scope::Work,
        Scope::Notices,
        Scope::Reports,
        Scope::Segments,
        Scope::Privacy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Board => "board",
            Scope::Case => "case",
            Scope::Donations => "donations",
            Scope::Split => "split",
            Scope::Payments => "payments",
            Scope::Imports => "imports",
            Scope::Reviews => "reviews",
            Scope::Donors => "donors",
            Scope::Work => "work",
            Scope::Notices => "notices",
            Scope::Reports => "reports",
            Scope::Segments => "segments",
            Scope::Privacy => "privacy",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub run: Vec<Command>,
    pub run_text: Vec<String>,
    pub desc: String,
    /// `file:line` where it was defined.
    pub source: String,
}

/// What a key sequence means on a screen.
#[derive(Debug)]
pub enum Resolved<'a> {
    Matched(&'a Binding),
    /// A chord is under way: these are the ways to finish it.
    Pending(Vec<&'a Binding>),
    NotFound,
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    pub scopes: BTreeMap<Scope, Vec<Binding>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: Spanned<OneOrMany>,
    run: Spanned<OneOrMany>,
    #[serde(default)]
    desc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// The preset this file is merged over (user files only).
    preset: Option<Spanned<String>>,
    #[serde(default)]
    global: Vec<RawBinding>,
    #[serde(default)]
    board: Vec<RawBinding>,
    #[serde(default, rename = "case")]
    case_: Vec<RawBinding>,
    #[serde(default)]
    donations: Vec<RawBinding>,
    #[serde(default)]
    split: Vec<RawBinding>,
    #[serde(default)]
    payments: Vec<RawBinding>,
    #[serde(default)]
    imports: Vec<RawBinding>,
    #[serde(default)]
    reviews: Vec<RawBinding>,
    #[serde(default)]
    donors: Vec<RawBinding>,
    #[serde(default)]
    work: Vec<RawBinding>,
    #[serde(default)]
    notices: Vec<RawBinding>,
    #[serde(default)]
    reports: Vec<RawBinding>,
    #[serde(default)]
    segments: Vec<RawBinding>,
    #[serde(default)]
    privacy: Vec<RawBinding>,
}

use crate::text::line_of;

/// One parsed file: its bindings (a `noop` binding has an empty `run`) and problems.
pub struct Parsed {
    pub preset: Option<String>,
    pub bindings: Vec<(Scope, Binding)>,
    pub problems: Vec<Problem>,
}

/// Parses one keymap file's text. Never panics; every problem has a line.
pub fn parse(file: &str, text: &str) -> Parsed {
    let mut problems = Vec::new();
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            let message = e.message().trim().to_string();
            return Parsed {
                preset: None,
                bindings: vec![],
                problems: vec![Problem { file: file.into(), line, message }],
            };
        }
    };
    let mut bindings = Vec::new();
    let scopes = [
        (Scope::Global, raw.global),
        (Scope::Board, raw.board),
        (Scope::Case, raw.case_),
        (Scope::Donations, raw.donations),
        (Scope::Split, raw.split),
        (Scope::Payments, raw.payments),
        (Scope::Imports, raw.imports),
        (Scope::Reviews, raw.reviews),
        (Scope::Donors, raw.donors),
        (Scope::Work, raw.work),
        (Scope::Notices, raw.notices),
        (Scope::Reports, raw.reports),
        (Scope::Segments, raw.segments),
        (Scope::Privacy, raw.privacy),
    ];
    for (scope, list) in scopes {
        let mut seen: Vec<(Vec<Key>, usize)> = Vec::new();
        for rb in list {
            let line = line_of(text, rb.on.span().start);
            let bad = |problems: &mut Vec<Problem>, message: String| {
                problems.push(Problem { file: file.into(), line, message })
            };
            let keys = match rb.on.get_ref() {
                OneOrMany::One(s) => parse_keys(s),
                OneOrMany::Many(v) => v.iter().map(|k| k.parse::<Key>()).collect::<Result<Vec<_>, _>>(),
            };
            let keys = match keys {
                Ok(k) if !k.is_empty() => k,
                Ok(_) => {
                    bad(&mut problems, format!("[{}] binding has no keys", scope.name()));
                    continue;
                }
                Err(e) => {
                    bad(&mut problems, e.to_string());
                    continue;
                }
            };
            let run_text = rb.run.get_ref().list();
            let run_line = line_of(text, rb.run.span().start);
            let mut run = Vec::new();
            let mut ok = !run_text.is_empty();
            for c in &run_text {
                match c.parse::<Command>() {
                    Ok(Command::Noop) => {}
                    Ok(cmd) => run.push(cmd),
                    Err(e) => {
                        problems.push(Problem { file: file.into(), line: run_line, message: e.to_string() });
                        ok = false;
                    }
                }
            }
            if !ok {
                continue;
            }
            for (other, other_line) in &seen {
                if *other == keys {
                    bad(
                        &mut problems,
                        format!(
                            "{} is bound twice in [{}] (also at line {other_line})",
                            keys_text(&keys),
                            scope.name()
                        ),
                    );
                } else if other.starts_with(&keys) || keys.starts_with(other) {
                    let (short, long) = if other.len() < keys.len() { (other, &keys) } else { (&keys, other) };
                    bad(
                        &mut problems,
                        format!(
                            "conflicting chord in [{}]: {} is bound, so {} can never be reached (see line {other_line})",
                            scope.name(),
                            keys_text(short),
                            keys_text(long)
                        ),
                    );
                }
            }
            seen.push((keys.clone(), line));
            bindings.push((scope, Binding { keys, run, run_text, desc: rb.desc, source: format!("{file}:{line}") }));
        }
    }
    let preset = raw.preset.map(|p| p.into_inner());
    if let Some(p) = &preset
        && !PRESETS.iter().any(|(n, _)| n == p)
    {
        problems.push(Problem { file: file.into(), line: 1, message: format!("unknown preset {p:?}: default or vim") });
    }
    Parsed { preset, bindings, problems }
}

impl Keymap {
    /// Merges bindings over this map: the same keys replace; a chord that a
    /// new binding makes unreachable (or that makes it unreachable) is
    /// dropped; `noop` (an empty run) only unbinds.
    pub fn merge(&mut self, bindings: Vec<(Scope, Binding)>) -> Vec<String> {
        let mut notes = Vec::new();
        for (scope, b) in bindings {
            let list = self.scopes.entry(scope).or_default();
            list.retain(|old| {
                let clash = old.keys.starts_with(&b.keys) || b.keys.starts_with(&old.keys);
                if clash && old.keys != b.keys {
                    notes.push(format!(
                        "{}: [{}] {} shadows {} from {}",
                        b.source,
                        scope.name(),
                        keys_text(&b.keys),
                        keys_text(&old.keys),
                        old.source
                    ));
                }
                !clash
            });
            if !b.run.is_empty() {
                list.push(b);
            }
        }
        notes
    }

    /// The shipped preset `name` (default, or vim merged over default).
    pub fn preset(name: &str) -> Keymap {
        let mut map = Keymap::default();
        for (n, text) in PRESETS {
            if *n == "default" || *n == name {
                map.merge(parse(&format!("keymaps/{n}.toml"), text).bindings);
            }
        }
        map
    }

    /// The effective map: a preset with the user's file over it. Problems in
    /// the user's file are returned, and then the defaults are used alone.
    pub fn load(user_file: Option<&Path>) -> (Keymap, Vec<Problem>) {
        let Some(path) = user_file.filter(|p| p.exists()) else {
            return (Keymap::preset("default"), vec![]);
        };
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                return (Keymap::preset("default"), vec![Problem { file: name, line: 1, message: e.to_string() }]);
            }
        };
        let parsed = parse(&name, &text);
        if !parsed.problems.is_empty() {
            return (Keymap::preset("default"), parsed.problems);
        }
        let mut map = Keymap::preset(parsed.preset.as_deref().unwrap_or("default"));
        map.merge(parsed.bindings);
        (map, vec![])
    }

    /// What `keys` mean on a screen: the screen's own bindings first, then global ones.
    pub fn resolve(&self, scope: Scope, keys: &[Key]) -> Resolved<'_> {
        let mut pending = Vec::new();
        for s in [scope, Scope::Global] {
            for b in self.scopes.get(&s).map(Vec::as_slice).unwrap_or(&[]) {
                if b.keys == keys {
                    return Resolved::Matched(b);
                }
                if b.keys.starts_with(keys) {
                    pending.push(b);
                }
            }
        }
        if pending.is_empty() { Resolved::NotFound } else { Resolved::Pending(pending) }
    }

    /// The bindings in force on a screen, as `?` shows them.
    pub fn in_force(&self, scope: Scope) -> Vec<&Binding> {
        let own = self.scopes.get(&scope).map(Vec::as_slice).unwrap_or(&[]);
        let mut out: Vec<&Binding> = own.iter().collect();
        if scope != Scope::Global {
            for b in self.scopes.get(&Scope::Global).map(Vec::as_slice).unwrap_or(&[]) {
                let shadowed = own.iter().any(|o| o.keys.starts_with(&b.keys) || b.keys.starts_with(&o.keys));
                if !shadowed {
                    out.push(b);
                }
            }
        }
        out
    }

    pub fn show(&self) -> String {
        let mut out = String::new();
        for (scope, list) in &self.scopes {
            out.push_str(&format!("[{}]\n", scope.name()));
            for b in list {
                out.push_str(&format!("  {:<12} {:<28} {}\n", keys_text(&b.keys), b.run_text.join("; "), b.desc));
            }
        }
        out
    }
}

/// `$XDG_CONFIG_HOME/almoner/NAME` (or `~/.config/almoner/NAME`).
pub fn user_config_file(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("almoner").join(name))
}

/// `$XDG_CONFIG_HOME/almoner/keymap.toml`.
pub fn user_keymap_path() -> Option<PathBuf> {
    user_config_file("keymap.toml")
}

/// Is this key one the split screen types into an amount?
pub fn is_amount_key(key: &Key) -> bool {
    !key.ctrl && !key.alt && matches!(key.code, KeyCode::Char(c) if c.is_ascii_digit() || c == ',' || c == '.')
        || matches!(key.code, KeyCode::Backspace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_line() {
        let text = "[[board]]\non = \"j\"\nrun = \"down\"\n\n[[board]]\non = \"j\"\nrun = \"up\"\n\n[[board]]\non = \"<Nope>\"\nrun = \"up\"\n\n[[global]]\non = \"x\"\nrun = \"explode\"\n";
        let p = parse("k.toml", text);
        let msgs: Vec<String> = p.problems.iter().map(|p| p.to_string()).collect();
        assert!(msgs.iter().any(|m| m.starts_with("k.toml:6:") && m.contains("bound twice")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.starts_with("k.toml:10:") && m.contains("bad key")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.starts_with("k.toml:15:") && m.contains("unknown command")), "{msgs:?}");
    }

    #[test]
    fn conflicting_chords_are_reported() {
        let p =
            parse("k.toml", "[[global]]\non = \"g\"\nrun = \"top\"\n[[global]]\non = \"g b\"\nrun = \"goto board\"\n");
        assert!(
            p.problems[0]
                .to_string()
                .contains("conflicting chord in [global]: g is bound, so g b can never be reached")
        );
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let p = parse("k.toml", "[[board]]\non = \"j\"\nrun = [\"down\"\n");
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].line >= 3, "{:?}", p.problems);
        let p = parse("k.toml", "[[board]]\non = \"j\"\nrun = \"down\"\ncolour = 3\n");
        assert!(p.problems[0].message.contains("colour"), "{:?}", p.problems);
    }

    #[test]
    fn user_file_overrides_and_unbinds() {
        let mut map = Keymap::preset("default");
        assert!(matches!(map.resolve(Scope::Board, &parse_keys("g").unwrap()), Resolved::Pending(_)));
        let user = parse("u.toml", "[[global]]\non = \"q\"\nrun = \"noop\"\n[[board]]\non = \"g\"\nrun = \"top\"\n");
        assert!(user.problems.is_empty(), "{:?}", user.problems);
        let notes = map.merge(user.bindings);
        assert!(matches!(map.resolve(Scope::Board, &[Key::char('q')]), Resolved::NotFound));
        assert!(
            matches!(map.resolve(Scope::Board, &[Key::char('g')]), Resolved::Matched(b) if b.run == vec![Command::Top])
        );
        // On other screens the global chord g b still works.
        assert!(matches!(map.resolve(Scope::Donations, &parse_keys("g b").unwrap()), Resolved::Matched(_)));
        assert!(notes.is_empty() || notes.iter().all(|n| n.contains("shadows")));
    }
}

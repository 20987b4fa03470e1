//! Publishing open fundraisers for the website: `feed.json`, a plain HTML
//! page per case and an index, with photos beside them — only what each
//! family's consent allows. A case leaves the feed (its page and photo
//! removed) when it is funded, paused, closed or its consent withdrawn.
//! Files are rewritten only when their content changes, each by a write to
//! a temporary file and a rename, so a site reading the folder never sees
//! half a file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::store::{Public, Store};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Open fundraisers in the feed.
    pub cases: usize,
    /// Files written because they are new or changed (relative to the folder).
    pub written: Vec<String>,
    pub unchanged: usize,
    /// Files of cases (and photos) no longer published.
    pub removed: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::File { path: path.to_path_buf(), source }
}

/// Writes `bytes` to `path` unless it already holds exactly them; true if written.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    Ok(true)
}

/// Text for HTML: escaped, control characters (terminal escapes among them) dropped.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn amount(p: &Public, m: crate::domain::Money) -> String {
    if p.currency == "RUB" { m.ru() } else { format!("{} {}", m.plain(), p.currency) }
}

fn photo_name(p: &Public) -> Option<String> {
    p.photo.as_ref().map(|(sha, ext)| format!("{sha}.{ext}"))
}

const STYLE: &str = "body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}\
    progress{width:100%}img{max-width:100%}";

fn page(p: &Public, foundation: &str) -> String {
    let name = p.first_name.clone().unwrap_or_else(|| format!("№ {}", p.id));
    let mut body = format!("<h1>{}</h1>\n", html(&name));
    if let Some(photo) = photo_name(p) {
        body.push_str(&format!("<img src=\"../photos/{photo}\" alt=\"{}\">\n", html(&name)));
    }
    let mut facts = Vec::new();
    if let Some(age) = p.age {
        facts.push(format!("<li>Возраст: {age}</li>"));
    }
    if let Some(city) = &p.city {
        facts.push(format!("<li>Город: {}</li>", html(city)));
    }
    if let Some(d) = &p.diagnosis {
        facts.push(format!("<li>Диагноз: {}</li>", html(d)));
    }
    if !facts.is_empty() {
        body.push_str(&format!("<ul>\n{}\n</ul>\n", facts.join("\n")));
    }
    body.push_str(&format!(
        "<p>Нужно собрать: {}<br>Собрано: {}<br>Осталось: {}</p>\n<progress max=\"{}\" value=\"{}\"></progress>\n",
        html(&amount(p, p.target)),
        html(&amount(p, p.collected)),
        html(&amount(p, p.still_needed)),
        p.target.minor(),
        p.collected.minor()
    ));
    format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        html(&name),
        html(foundation)
    )
}

fn index(list: &[Public], foundation: &str) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|p| {
            let name = p.first_name.clone().unwrap_or_else(|| format!("№ {}", p.id));
            format!(
                "<li><a href=\"cases/{}.html\">{}</a>: осталось {}</li>",
                p.id,
                html(&name),
                html(&amount(p, p.still_needed))
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n<h1>{}</h1>\n<ul>\n{}\n</ul>\n</body></html>\n",
        html(foundation),
        html(foundation),
        items.join("\n")
    )
}

/// Publishes the open fundraisers of `day` into `out`.
pub async fn publish(store: &Store, out: &Path, day: NaiveDate) -> Result<Outcome> {
    let list = store.public_fundraisers(day).await?;
    let foundation = store.foundation_name().await?;
    let (cases_dir, photos_dir) = (out.join("cases"), out.join("photos"));
    for d in [out, &cases_dir, &photos_dir] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let mut outcome = Outcome { cases: list.len(), ..Outcome::default() };
    let mut keep: BTreeSet<PathBuf> = BTreeSet::new();
    let put = |rel: String, bytes: &[u8], outcome: &mut Outcome, keep: &mut BTreeSet<PathBuf>| -> Result<()> {
        let path = out.join(&rel);
        if write_if_changed(&path, bytes)? {
            outcome.written.push(rel);
        } else {
            outcome.unchanged += 1;
        }
        keep.insert(path);
        Ok(())
    };
    let feed: Vec<serde_json::Value> = list
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                for (k, m) in [("target", p.target), ("collected", p.collected), ("still_needed", p.still_needed)] {
                    o.insert(k.into(), json!(m.plain()));
                }
                if let Some(photo) = photo_name(p) {
                    o.insert("photo".into(), json!(format!("photos/{photo}")));
                }
                o.insert("page".into(), json!(format!("cases/{}.html", p.id)));
            }
            v
        })
        .collect();
    let feed = serde_json::to_vec_pretty(&json!({"foundation": foundation, "cases": feed}))
        .map_err(|e| Error::invalid(format!("feed: {e}")))?;
    for p in &list {
        put(format!("cases/{}.html", p.id), page(p, &foundation).as_bytes(), &mut outcome, &mut keep)?;
        if let (Some(name), Some((sha, _))) = (photo_name(p), &p.photo) {
            let from = store.documents_dir().join(&sha[..2.min(sha.len())]).join(sha);
            let to = photos_dir.join(&name);
            if !to.exists() {
                let bytes = std::fs::read(&from).map_err(io(&from))?;
                write_if_changed(&to, &bytes)?;
                outcome.written.push(format!("photos/{name}"));
            }
            keep.insert(to);
        }
    }
    put("index.html".into(), index(&list, &foundation).as_bytes(), &mut outcome, &mut keep)?;
    // The feed last: a site that follows it finds every page it names already there.
    put("feed.json".into(), &feed, &mut outcome, &mut keep)?;
    for dir in [&cases_dir, &photos_dir] {
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.is_file() && !keep.contains(&path) {
                std::fs::remove_file(&path).map_err(io(&path))?;
                let rel = path.strip_prefix(out).unwrap_or(&path).display().to_string();
                outcome.removed.push(rel);
            }
        }
    }
    outcome.removed.sort();
    Ok(outcome)
}

//! The session kept between runs: the id of the last answered session, one per agent URL, so
//! that the next `ask` at that URL follows up on it.
//!
//! One small JSON object, `{"<url>": "<session id>"}`, at
//! `$XDG_STATE_HOME/devops-agent/sessions.json`, or `~/.local/state/devops-agent/sessions.json`
//! when `XDG_STATE_HOME` is unset (the XDG base directory rule). A session id is not a secret
//! (contract §2.8: someone else sending it gets a conversation of their own), but the file is
//! still written owner-only. It is replaced whole through a temporary file and a rename, so a
//! run killed mid-write leaves the old file. An unreadable or corrupt file reads as empty: the
//! worst outcome is a new conversation.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

/// The file's name in its directory.
pub const FILE: &str = "sessions.json";

/// The sessions file, wherever the environment puts it.
#[derive(Debug, Clone)]
pub struct Store {
    path: Option<PathBuf>,
}

impl Store {
    /// The store at `XDG_STATE_HOME` or `HOME` as `env` gives them; without either, a store
    /// that keeps nothing.
    pub fn locate(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let non_empty = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = non_empty("XDG_STATE_HOME")
            // The specification ignores a relative XDG path.
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty("HOME").map(|home| home.join(".local/state")));
        Self {
            path: dir.map(|d| d.join("devops-agent").join(FILE)),
        }
    }

    /// A store in the file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
        }
    }

    /// The file, if there is a place for one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn read(&self) -> BTreeMap<String, String> {
        self.path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|value| match value {
                serde_json::Value::Object(map) => Some(
                    map.into_iter()
                        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The session kept for `url`.
    pub fn get(&self, url: &str) -> Option<String> {
        self.read().remove(url)
    }

    /// Keeps `session` for `url`, or forgets the one kept with `None`.
    pub fn set(&self, url: &str, session: Option<&str>) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Err(std::io::Error::other(
                "neither XDG_STATE_HOME nor HOME is set",
            ));
        };
        let mut sessions = self.read();
        let changed = match session {
            Some(id) => sessions.insert(url.to_owned(), id.to_owned()).as_deref() != Some(id),
            None => sessions.remove(url).is_some(),
        };
        if !changed {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut json = serde_json::to_vec_pretty(&sessions).map_err(std::io::Error::other)?;
        json.push(b'\n');
        let temporary = dir.join(format!(".{FILE}.{}", std::process::id()));
        let written =
            write_private(&temporary, &json).and_then(|()| std::fs::rename(&temporary, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "devops-agent-session-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn keeps_one_session_per_url_across_stores() {
        let dir = temp_dir("keep");
        let path = dir.join("devops-agent").join(FILE);
        let store = Store::at(&path);
        assert_eq!(store.get("http://a/"), None);
        store.set("http://a/", Some("s-1")).unwrap();
        store.set("http://b/", Some("s-2")).unwrap();
        store.set("http://a/", Some("s-3")).unwrap();
        let again = Store::at(&path);
        assert_eq!(again.get("http://a/").as_deref(), Some("s-3"));
        assert_eq!(again.get("http://b/").as_deref(), Some("s-2"));
        again.set("http://a/", None).unwrap();
        assert_eq!(store.get("http://a/"), None);
        assert_eq!(store.get("http://b/").as_deref(), Some("s-2"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // Nothing else is left in the directory (no temporary file).
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_reads_as_empty_and_is_replaced() {
        let dir = temp_dir("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE);
        std::fs::write(&path, b"{not json").unwrap();
        let store = Store::at(&path);
        assert_eq!(store.get("http://a/"), None);
        store.set("http://a/", Some("s-1")).unwrap();
        assert_eq!(store.get("http://a/").as_deref(), Some("s-1"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_file_follows_the_xdg_rules() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let located = |pairs| Store::locate(&env(pairs)).path().map(Path::to_path_buf);
        assert_eq!(
            located(&[("XDG_STATE_HOME", "/x/state"), ("HOME", "/home/o")]),
            Some(PathBuf::from("/x/state/devops-agent/sessions.json"))
        );
        assert_eq!(
            located(&[("XDG_STATE_HOME", "relative"), ("HOME", "/home/o")]),
            Some(PathBuf::from(
                "/home/o/.local/state/devops-agent/sessions.json"
            ))
        );
        assert_eq!(
            located(&[("XDG_STATE_HOME", ""), ("HOME", "/home/o")]),
            Some(PathBuf::from(
                "/home/o/.local/state/devops-agent/sessions.json"
            ))
        );
        assert_eq!(located(&[]), None);
        let nowhere = Store::locate(&env(&[]));
        assert_eq!(nowhere.get("http://a/"), None);
        assert!(nowhere.set("http://a/", Some("s")).is_err());
    }
}

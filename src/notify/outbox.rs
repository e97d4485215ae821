//! The persistent outbox under `run.state_dir/outbox/`: every message is a file there
//! (written aside, fsynced, renamed, the directory fsynced) before the window that produced
//! it moves its checkpoint, so a crash never loses a notification.
//!
//! Layout:
//! - `pending/<sequence>-<key>.json`: one queued [`Message`] per file, delivered in sequence
//!   order per receiver;
//! - `sent.log`: keys of delivered messages, one a line, appended and fsynced after each
//!   delivery; the last `routes.delivery.remember_sent` are kept. A message whose key is
//!   there (or already pending) is not queued again, so a redone window sends nothing twice;
//! - `dead.ndjson`: messages refused for good (a 4xx other than 429, or still failing after
//!   `give_up_after_minutes`), with the receiver and the reason.
//!
//! The one gap: a crash after a receiver accepted a message and before its key reached
//! `sent.log` sends it once more on restart. Every receiver gets the same idempotency key
//! again (PagerDuty `dedup_key`, Datadog `aggregation_key`, the webhook `Idempotency-Key`).

use super::tracker::Message;
use super::NotifyError;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Write `bytes` to `path` durably: a temporary file beside it, fsynced, renamed over it,
/// and the directory fsynced.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), NotifyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| NotifyError::io(dir, e))?;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| NotifyError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| NotifyError::io(&tmp, e))?;
        f.sync_all().map_err(|e| NotifyError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| NotifyError::io(path, e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), NotifyError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| NotifyError::io(dir, e))
}

/// A queued message.
#[derive(Debug, Clone)]
pub struct Queued {
    /// Position in the outbox (delivery order).
    pub seq: u64,
    /// The message.
    pub message: Message,
    /// When it was queued (wall clock; the file's time after a restart).
    pub queued_at: DateTime<Utc>,
}

struct Inner {
    /// Slack Web API threads: `ts` of each open incident's first message, by receiver and
    /// incident (`threads.json`).
    threads: BTreeMap<String, String>,
    next_seq: u64,
    pending: BTreeMap<u64, Queued>,
    pending_keys: HashSet<String>,
    sent: HashSet<String>,
    sent_order: VecDeque<String>,
    sent_lines: usize,
}

/// The outbox (see the module documentation).
pub struct Outbox {
    dir: PathBuf,
    remember: usize,
    inner: Mutex<Inner>,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Outbox {
    /// Open (or create) the outbox in `dir`, loading what is queued and what was sent.
    pub fn open(dir: &Path, remember: usize) -> Result<Outbox, NotifyError> {
        let pending_dir = dir.join("pending");
        std::fs::create_dir_all(&pending_dir).map_err(|e| NotifyError::io(&pending_dir, e))?;
        let mut pending = BTreeMap::new();
        let mut pending_keys = HashSet::new();
        let mut next_seq = 0;
        let entries =
            std::fs::read_dir(&pending_dir).map_err(|e| NotifyError::io(&pending_dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| NotifyError::io(&pending_dir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix(".json") else {
                // A temporary file of a write that did not finish: never renamed, never
                // queued.
                let _ = std::fs::remove_file(&path);
                continue;
            };
            let Some(seq) = stem.split('-').next().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            let bytes = std::fs::read(&path).map_err(|e| NotifyError::io(&path, e))?;
            let message: Message = match serde_json::from_slice(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(
                        "outbox file {} is not a message ({e}); left in place",
                        path.display()
                    );
                    continue;
                }
            };
            let queued_at = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(DateTime::<Utc>::from)
                .unwrap_or_else(|_| Utc::now());
            next_seq = next_seq.max(seq + 1);
            pending_keys.insert(message.key.clone());
            pending.insert(
                seq,
                Queued {
                    seq,
                    message,
                    queued_at,
                },
            );
        }
        let sent_path = dir.join("sent.log");
        let mut sent_order = VecDeque::new();
        match std::fs::read_to_string(&sent_path) {
            Ok(text) => {
                for line in text.lines() {
                    let k = line.trim();
                    if !k.is_empty() {
                        sent_order.push_back(k.to_string());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(NotifyError::io(&sent_path, e)),
        }
        let sent_lines = sent_order.len();
        while sent_order.len() > remember {
            sent_order.pop_front();
        }
        let sent = sent_order.iter().cloned().collect();
        let threads_path = dir.join("threads.json");
        let threads = match std::fs::read(&threads_path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(NotifyError::io(&threads_path, e)),
        };
        let (changed, _) = tokio::sync::watch::channel(0);
        Ok(Outbox {
            dir: dir.to_path_buf(),
            remember,
            inner: Mutex::new(Inner {
                threads,
                next_seq,
                pending,
                pending_keys,
                sent,
                sent_order,
                sent_lines,
            }),
            changed,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A receiver of changes (bumped whenever a message is queued).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Queue `messages` durably, skipping those already pending or sent. Returns how many
    /// were queued.
    pub fn enqueue(&self, messages: Vec<Message>) -> Result<usize, NotifyError> {
        if messages.is_empty() {
            return Ok(0);
        }
        let pending_dir = self.dir.join("pending");
        let mut n = 0;
        {
            let mut inner = self.lock();
            for message in messages {
                if inner.sent.contains(&message.key) || inner.pending_keys.contains(&message.key) {
                    continue;
                }
                let seq = inner.next_seq;
                let path = pending_dir.join(format!("{seq:020}-{}.json", message.key));
                let bytes = serde_json::to_vec(&message).map_err(|e| NotifyError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                let tmp = path.with_extension("tmp");
                {
                    let mut f =
                        std::fs::File::create(&tmp).map_err(|e| NotifyError::io(&tmp, e))?;
                    f.write_all(&bytes).map_err(|e| NotifyError::io(&tmp, e))?;
                    f.sync_all().map_err(|e| NotifyError::io(&tmp, e))?;
                }
                std::fs::rename(&tmp, &path).map_err(|e| NotifyError::io(&path, e))?;
                inner.next_seq += 1;
                inner.pending_keys.insert(message.key.clone());
                inner.pending.insert(
                    seq,
                    Queued {
                        seq,
                        message,
                        queued_at: Utc::now(),
                    },
                );
                n += 1;
            }
        }
        if n > 0 {
            sync_dir(&pending_dir)?;
            self.changed.send_modify(|v| *v += 1);
        }
        Ok(n)
    }

    /// The oldest queued message for `receiver`.
    pub fn next_for(&self, receiver: &str) -> Option<Queued> {
        self.lock()
            .pending
            .values()
            .find(|q| q.message.receiver == receiver)
            .cloned()
    }

    /// Every queued message, in order.
    pub fn pending(&self) -> Vec<Queued> {
        self.lock().pending.values().cloned().collect()
    }

    /// How many messages are queued.
    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When the oldest queued message was queued.
    pub fn oldest(&self) -> Option<DateTime<Utc>> {
        self.lock().pending.values().map(|q| q.queued_at).min()
    }

    /// Whether `key` was delivered (among the remembered).
    pub fn was_sent(&self, key: &str) -> bool {
        self.lock().sent.contains(key)
    }

    fn remove(&self, inner: &mut Inner, seq: u64) -> Result<(), NotifyError> {
        if let Some(q) = inner.pending.remove(&seq) {
            inner.pending_keys.remove(&q.message.key);
            let path = self
                .dir
                .join("pending")
                .join(format!("{seq:020}-{}.json", q.message.key));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(NotifyError::io(&path, e)),
            }
        }
        Ok(())
    }

    /// Record that message `seq` was delivered: its key goes to `sent.log` (fsynced) and
    /// its file goes.
    pub fn delivered(&self, seq: u64) -> Result<(), NotifyError> {
        let mut inner = self.lock();
        let Some(key) = inner.pending.get(&seq).map(|q| q.message.key.clone()) else {
            return Ok(());
        };
        let path = self.dir.join("sent.log");
        if inner.sent_lines >= self.remember * 2 {
            // Compact: keep the newest `remember` keys.
            let mut text = String::new();
            for k in &inner.sent_order {
                text.push_str(k);
                text.push('\n');
            }
            write_durably(&path, text.as_bytes())?;
            inner.sent_lines = inner.sent_order.len();
        }
        {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| NotifyError::io(&path, e))?;
            f.write_all(format!("{key}\n").as_bytes())
                .map_err(|e| NotifyError::io(&path, e))?;
            f.sync_all().map_err(|e| NotifyError::io(&path, e))?;
        }
        inner.sent_lines += 1;
        inner.sent.insert(key.clone());
        inner.sent_order.push_back(key);
        while inner.sent_order.len() > self.remember {
            if let Some(old) = inner.sent_order.pop_front() {
                inner.sent.remove(&old);
            }
        }
        self.remove(&mut inner, seq)?;
        self.changed.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Move message `seq` to `dead.ndjson` with `reason` (it will not be tried again).
    pub fn dead(&self, seq: u64, reason: &str) -> Result<(), NotifyError> {
        let mut inner = self.lock();
        let Some(q) = inner.pending.get(&seq).cloned() else {
            return Ok(());
        };
        let path = self.dir.join("dead.ndjson");
        let line = serde_json::json!({
            "dead_at": Utc::now(),
            "receiver": q.message.receiver,
            "reason": reason,
            "message": q.message,
        });
        {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| NotifyError::io(&path, e))?;
            f.write_all(format!("{line}\n").as_bytes())
                .map_err(|e| NotifyError::io(&path, e))?;
            f.sync_all().map_err(|e| NotifyError::io(&path, e))?;
        }
        self.remove(&mut inner, seq)?;
        self.changed.send_modify(|v| *v += 1);
        Ok(())
    }

    fn thread_key(receiver: &str, incident: &str) -> String {
        format!("{receiver}/{incident}")
    }

    /// The Slack thread (`ts`) of `incident` at `receiver`, if its first message went out.
    pub fn thread(&self, receiver: &str, incident: &str) -> Option<String> {
        self.lock()
            .threads
            .get(&Self::thread_key(receiver, incident))
            .cloned()
    }

    fn save_threads(&self, inner: &Inner) {
        let path = self.dir.join("threads.json");
        let bytes = serde_json::to_vec(&inner.threads).unwrap_or_default();
        if let Err(e) = write_durably(&path, &bytes) {
            // Later messages then post at the top level instead of in the thread.
            tracing::warn!("{e}");
        }
    }

    /// Remember the Slack thread of `incident` at `receiver`.
    pub fn set_thread(&self, receiver: &str, incident: &str, ts: &str) {
        let mut inner = self.lock();
        inner
            .threads
            .insert(Self::thread_key(receiver, incident), ts.to_string());
        self.save_threads(&inner);
    }

    /// Forget the Slack thread of a resolved incident.
    pub fn forget_thread(&self, receiver: &str, incident: &str) {
        let mut inner = self.lock();
        if inner
            .threads
            .remove(&Self::thread_key(receiver, incident))
            .is_some()
        {
            self.save_threads(&inner);
        }
    }

    /// The dead-letter file.
    pub fn dead_letter_path(&self) -> PathBuf {
        self.dir.join("dead.ndjson")
    }
}

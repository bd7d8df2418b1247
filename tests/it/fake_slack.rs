//! A stateful loopback fake of Slack's Web API, driven by the real slack-morphism client.
//!
//! It keeps channels (archived ones keep their names taken), members, user groups,
//! users by e-mail, messages with threads, edits and metadata; answers with Slack's JSON
//! shapes (HTTP 200 with `ok: false` for errors); logs every call, and keeps a ledger of
//! every applied write ([`Sent`]) that a test must take and assert before the fake is
//! dropped ("nothing unexpected was sent"); and injects faults
//! into matching methods: 429 with `Retry-After`, an `ok: false` error, a 5xx, or "apply,
//! then answer 502" (the write happened, the client never heard). It also serves
//! `/respond/{n}`, a `response_url` that records what Ripple answered.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

pub struct FakeSlack {
    pub url: String,
    world: Arc<Mutex<World>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    RateLimited { retry_after: u64 },
    Error(&'static str),
    Status(u16),
    ApplyThenFail,
}

#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub archived: bool,
    pub purpose: String,
    pub topic: String,
    pub members: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Msg {
    pub ts: String,
    pub channel: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    pub metadata: Value,
    pub edits: usize,
}

/// One change Ripple made in the workspace that people see: a channel created, people
/// invited, a purpose or topic set, a message posted or edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub method: String,
    /// The channel id (its name for `conversations.create`).
    pub channel: String,
    /// The message text, the purpose or topic, or the invited users joined by `,`.
    pub text: String,
    pub thread_ts: Option<String>,
}

impl Sent {
    /// `chat.postMessage` and the like: for a short assertion on the methods alone.
    pub fn methods(sent: &[Sent]) -> Vec<&str> {
        sent.iter().map(|s| s.method.as_str()).collect()
    }
}

/// The methods that change what people see.
const WRITES: &[&str] = &[
    "conversations.create",
    "conversations.invite",
    "conversations.setPurpose",
    "conversations.setTopic",
    "chat.postMessage",
    "chat.update",
];

#[derive(Default)]
pub struct World {
    pub channels: Vec<Channel>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub emails: BTreeMap<String, String>,
    pub messages: Vec<Msg>,
    /// (method, ok)
    pub log: Vec<(String, bool)>,
    /// What Ripple changed in the workspace, not yet looked at by the test.
    pub sent: Vec<Sent>,
    pub responses: Vec<Value>,
    faults: Vec<(String, Fault, usize)>,
    pub tripwire: Option<std::sync::Arc<super::tripwire::Tripwire>>,
    next: u64,
    clock: Option<Arc<dyn ripple::clock::Clock>>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let world = Arc::new(Mutex::new(World::default()));
        let app = Router::new().fallback(handle).with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeSlack { url, world }
    }

    pub fn api_url(&self) -> String {
        format!("{}/api", self.url)
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Messages get their ts from this clock (the harness's), as Slack's from its own.
    pub fn use_clock(&self, clock: &ripple::clock::ManualClock) {
        self.world().clock = Some(Arc::new(clock.clone()));
    }

    /// Messages get their ts from the wall clock, as for a `ripple` process.
    pub fn use_system_clock(&self) {
        self.world().clock = Some(Arc::new(ripple::clock::SystemClock));
    }

    pub fn channel(&self, name: &str, archived: bool) -> String {
        let mut w = self.world();
        w.add_channel(name, archived)
    }

    pub fn user(&self, email: &str, id: &str) {
        self.world().emails.insert(email.into(), id.into());
    }

    pub fn group(&self, id: &str, members: &[&str]) {
        let m = members.iter().map(|s| s.to_string()).collect();
        self.world().groups.insert(id.into(), m);
    }

    /// The next `times` calls of `method` get `fault`.
    /// Injected faults not yet served.
    pub fn faults_left(&self) -> usize {
        self.world().faults.iter().map(|f| f.2).sum()
    }

    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        self.world().faults.push((method.into(), fault, times));
    }

    pub fn messages(&self) -> Vec<Msg> {
        self.world().messages.clone()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.world().channels.clone()
    }

    /// What Ripple changed since the last call, in order; the test asserts it, which
    /// is how "nothing unexpected was sent" is checked at drop.
    pub fn take_sent(&self) -> Vec<Sent> {
        std::mem::take(&mut self.world().sent)
    }

    pub fn responses(&self) -> Vec<Value> {
        self.world().responses.clone()
    }

    /// Waits (bounded) until `n` response_url posts arrived.
    pub async fn wait_responses(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            if self.world().responses.len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.responses()
    }
}

impl World {
    fn add_channel(&mut self, name: &str, archived: bool) -> String {
        self.next += 1;
        let id = format!("C{:08}", self.next);
        self.channels.push(Channel {
            id: id.clone(),
            name: name.into(),
            archived,
            ..Default::default()
        });
        id
    }

    fn fault(&mut self, method: &str) -> Option<Fault> {
        let f = self
            .faults
            .iter_mut()
            .find(|(m, _, times)| m == method && *times > 0)?;
        f.2 -= 1;
        Some(f.1)
    }

    /// Slack's ts is the post time (seconds.micros, unique per channel): the test's
    /// clock when it shares one, with a counter keeping them unique and increasing.
    fn ts(&mut self) -> String {
        self.next += 1;
        let secs = self
            .clock
            .as_ref()
            .map_or(1_700_000_000, |c| c.now().timestamp());
        format!("{secs}.{:06}", self.next % 1_000_000)
    }

    fn chan(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }
}

fn channel_json(c: &Channel) -> Value {
    json!({
        "id": c.id, "name": c.name, "created": 1700000000, "is_channel": true,
        "is_archived": c.archived, "purpose": {"value": c.purpose}, "topic": {"value": c.topic},
    })
}

fn msg_json(m: &Msg) -> Value {
    let mut v = json!({"type": "message", "ts": m.ts, "text": m.text, "blocks": m.blocks});
    if let Some(t) = &m.thread_ts {
        v["thread_ts"] = json!(t);
    }
    if !m.metadata.is_null() {
        v["metadata"] = m.metadata.clone();
    }
    v
}

/// A message as history and replies show it: Slack leaves the metadata out unless the
/// call asked for `include_all_metadata`.
fn listed_json(m: &Msg, a: &Value) -> Value {
    let mut v = msg_json(m);
    if !matches!(s(a, "include_all_metadata"), "true" | "1") {
        v.as_object_mut().unwrap().remove("metadata");
    }
    v
}

/// `limit` (Slack's default when absent, capped at its maximum), `oldest`/`latest`
/// (exclusive unless `inclusive`), and cursor paging with `has_more` and
/// `response_metadata.next_cursor`, as history and replies answer.
fn paged(msgs: Vec<&Msg>, a: &Value, default: usize, max: usize) -> Value {
    let limit = s(a, "limit")
        .parse::<usize>()
        .unwrap_or(default)
        .clamp(1, max);
    let ts = |t: &str| t.parse::<f64>().unwrap_or(0.0);
    let inclusive = matches!(s(a, "inclusive"), "true" | "1");
    let oldest = a["oldest"].as_str().map(ts);
    let latest = a["latest"].as_str().map(ts);
    let inside: Vec<&Msg> = msgs
        .into_iter()
        .filter(|m| {
            let t = ts(&m.ts);
            let after = oldest.is_none_or(|o| t > o || (inclusive && t == o));
            let before = latest.is_none_or(|l| t < l || (inclusive && t == l));
            after && before
        })
        .collect();
    let start: usize = s(a, "cursor")
        .strip_prefix("next:")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = inside
        .iter()
        .skip(start)
        .take(limit)
        .map(|m| listed_json(m, a))
        .collect();
    let more = start + limit < inside.len();
    let next = if more {
        format!("next:{}", start + limit)
    } else {
        String::new()
    };
    ok(json!({"messages": page, "has_more": more, "response_metadata": {"next_cursor": next}}))
}

fn ok(mut v: Value) -> Value {
    v["ok"] = json!(true);
    v
}

fn err(code: &str) -> Value {
    json!({"ok": false, "error": code})
}

/// Answers one request; a request that trips a holding wire is answered late.
async fn handle(
    State(world): State<Arc<Mutex<World>>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut stall = None;
    let response = respond(&world, method, uri, query, body, &mut stall);
    if let Some(t) = stall {
        t.stall().await;
    }
    response
}

fn respond(
    world: &Mutex<World>,
    method: Method,
    uri: Uri,
    query: HashMap<String, String>,
    body: Bytes,
    stall: &mut Option<Arc<super::tripwire::Tripwire>>,
) -> Response {
    let path = uri.path().to_string();
    let mut w = world.lock().unwrap();
    if path.starts_with("/respond/") {
        w.responses
            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        return StatusCode::OK.into_response();
    }
    let name = path.trim_start_matches("/api/").to_string();
    let args: Value = if method == Method::GET {
        json!(query)
    } else {
        serde_json::from_slice(&body).unwrap_or(json!({}))
    };
    let fault = w.fault(&name);
    match fault {
        Some(Fault::RateLimited { retry_after }) => {
            w.log.push((name, false));
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after.to_string())],
                axum::Json(err("ratelimited")),
            )
                .into_response();
        }
        Some(Fault::Error(code)) => {
            w.log.push((name, false));
            return axum::Json(err(code)).into_response();
        }
        Some(Fault::Status(s)) => {
            w.log.push((name, false));
            return (StatusCode::from_u16(s).unwrap(), "down").into_response();
        }
        _ => {}
    }
    let answer = serve(&mut w, &name, &args);
    let ok = answer["ok"] == json!(true);
    if ok && WRITES.contains(&name.as_str()) {
        let sent = sent(&name, &args, &answer);
        w.sent.push(sent);
    }
    w.log.push((name, ok));
    *stall = w.tripwire.clone().filter(|t| t.tick());
    if fault == Some(Fault::ApplyThenFail) {
        return (StatusCode::BAD_GATEWAY, "lost").into_response();
    }
    axum::Json(answer).into_response()
}

/// The ledger entry of an applied write, from its arguments and Slack's answer.
fn sent(method: &str, a: &Value, answer: &Value) -> Sent {
    let text = match method {
        "conversations.invite" => match &a["users"] {
            Value::Array(v) => v
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            other => other.as_str().unwrap_or_default().to_string(),
        },
        "conversations.setPurpose" => s(a, "purpose").to_string(),
        "conversations.setTopic" => s(a, "topic").to_string(),
        _ => s(a, "text").to_string(),
    };
    let channel = match method {
        "conversations.create" => s(a, "name").to_string(),
        "chat.postMessage" => s(answer, "channel").to_string(),
        _ => s(a, "channel").to_string(),
    };
    Sent {
        method: method.to_string(),
        channel,
        text,
        thread_ts: a["thread_ts"].as_str().map(String::from),
    }
}

impl Drop for FakeSlack {
    /// A test that let Ripple change something it never looked at fails: "nothing
    /// unexpected was sent" is part of every Slack test.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let left = std::mem::take(&mut self.world.lock().unwrap().sent);
        assert!(
            left.is_empty(),
            "the fake Slack received writes no assertion looked at (assert them with take_sent()):\n{left:#?}"
        );
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

fn serve(w: &mut World, method: &str, a: &Value) -> Value {
    match method {
        "conversations.create" => {
            let name = s(a, "name").to_string();
            if w.channels.iter().any(|c| c.name == name) {
                return err("name_taken");
            }
            let id = w.add_channel(&name, false);
            let c = w.chan(&id).unwrap().clone();
            ok(json!({"channel": channel_json(&c)}))
        }
        "conversations.list" => {
            let chans: Vec<Value> = w
                .channels
                .iter()
                .filter(|c| s(a, "exclude_archived") != "true" || !c.archived)
                .map(channel_json)
                .collect();
            ok(json!({"channels": chans, "response_metadata": {"next_cursor": ""}}))
        }
        "conversations.setPurpose" | "conversations.setTopic" => {
            let (key, text) = if method.ends_with("Purpose") {
                ("purpose", s(a, "purpose").to_string())
            } else {
                ("topic", s(a, "topic").to_string())
            };
            let Some(c) = w.chan(s(a, "channel")) else {
                return err("channel_not_found");
            };
            if key == "purpose" {
                c.purpose = text.clone();
            } else {
                c.topic = text.clone();
            }
            ok(json!({ key: text }))
        }
        "conversations.invite" => invite(w, a),
        "usergroups.users.list" => match w.groups.get(s(a, "usergroup")) {
            Some(m) => ok(json!({"users": m})),
            None => err("no_such_subteam"),
        },
        "users.lookupByEmail" => match w.emails.get(s(a, "email")) {
            Some(id) => ok(json!({"user": {"id": id}})),
            None => err("users_not_found"),
        },
        "chat.postMessage" => post(w, a),
        "chat.update" => {
            let (ch, ts) = (s(a, "channel").to_string(), s(a, "ts").to_string());
            let Some(m) = w
                .messages
                .iter_mut()
                .find(|m| m.channel == ch && m.ts == ts)
            else {
                return err("message_not_found");
            };
            m.text = s(a, "text").into();
            m.blocks = a["blocks"].clone();
            // Slack keeps the metadata as it was unless the edit carries new metadata.
            if !a["metadata"].is_null() {
                m.metadata = a["metadata"].clone();
            }
            m.edits += 1;
            ok(json!({"channel": ch, "ts": ts, "message": {"text": m.text}}))
        }
        // Newest first; 100 by default, at most 999 a page.
        "conversations.history" => {
            let ch = s(a, "channel");
            let msgs: Vec<&Msg> = w
                .messages
                .iter()
                .rev()
                .filter(|m| m.channel == ch && m.thread_ts.is_none())
                .collect();
            paged(msgs, a, 100, 999)
        }
        // The parent first, then the replies oldest first; 1000 by default.
        "conversations.replies" => {
            let (ch, ts) = (s(a, "channel"), s(a, "ts"));
            let msgs: Vec<&Msg> = w
                .messages
                .iter()
                .filter(|m| m.channel == ch && (m.ts == ts || m.thread_ts.as_deref() == Some(ts)))
                .collect();
            paged(msgs, a, 1000, 1000)
        }
        _ => err("unknown_method"),
    }
}

fn invite(w: &mut World, a: &Value) -> Value {
    let users: Vec<String> = match &a["users"] {
        Value::Array(v) => v
            .iter()
            .filter_map(|u| u.as_str().map(String::from))
            .collect(),
        Value::String(s) => s.split(',').map(String::from).collect(),
        _ => vec![],
    };
    let known: BTreeSet<String> = w
        .emails
        .values()
        .cloned()
        .chain(w.groups.values().flatten().cloned())
        .collect();
    let Some(c) = w.chan(s(a, "channel")) else {
        return err("channel_not_found");
    };
    // Slack refuses the whole batch for one unknown user.
    if users.iter().any(|u| !known.contains(u)) {
        return err("user_not_found");
    }
    if users.len() == 1 && c.members.contains(&users[0]) {
        return err("already_in_channel");
    }
    c.members.extend(users);
    let c = c.clone();
    ok(json!({"channel": channel_json(&c)}))
}

fn post(w: &mut World, a: &Value) -> Value {
    let target = s(a, "channel").to_string();
    let found = w
        .channels
        .iter()
        .find(|c| c.id == target || c.name == target.trim_start_matches('#'))
        .cloned();
    let Some(c) = found else {
        return err("channel_not_found");
    };
    if c.archived {
        return err("is_archived");
    }
    let ts = w.ts();
    let m = Msg {
        ts: ts.clone(),
        channel: c.id.clone(),
        thread_ts: a["thread_ts"].as_str().map(String::from),
        text: s(a, "text").into(),
        blocks: a["blocks"].clone(),
        metadata: a["metadata"].clone(),
        edits: 0,
    };
    let json = msg_json(&m);
    w.messages.push(m);
    ok(json!({"channel": c.id, "ts": ts, "message": json}))
}

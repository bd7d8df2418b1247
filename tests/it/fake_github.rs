//! A stateful loopback fake of the GitHub REST API, driven by the real octocrab client.
//!
//! It keeps repositories (collaborators, labels, issues, comments), answers with
//! GitHub's JSON shapes (octocrab's models parse them), logs every request, and injects
//! faults into matching requests: 5xx, 403 secondary rate limit with `Retry-After`,
//! 422, or "apply, then answer 502" (a lost response: the write happened, the client
//! never heard). Only the endpoints Ripple uses exist; anything else is a 404 and shows
//! up in the log.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// A running fake; dropped with the test's runtime.
pub struct FakeGithub {
    pub url: String,
    world: Arc<Mutex<World>>,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub status: u16,
    pub auth: String,
}

impl Req {
    pub fn is(&self, method: &str, path_suffix: &str) -> bool {
        self.method == method && self.path.ends_with(path_suffix)
    }
}

/// What to do to a matching request instead of (or after) serving it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer this status without doing anything.
    Status(u16),
    /// 403 "secondary rate limit" with `Retry-After: secs`.
    SecondaryRateLimit { retry_after: u64 },
    /// 422 Validation Failed on `assignees`, as GitHub does for a non-collaborator.
    Unprocessable,
    /// Do the work, then answer 502: the response is lost.
    ApplyThenFail,
}

struct Injected {
    method: &'static str,
    path_contains: String,
    fault: Fault,
    times: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub open: bool,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub comments: Vec<(u64, String)>,
    pub closed_at: Option<String>,
}

#[derive(Default)]
pub struct Repo {
    pub collaborators: BTreeSet<String>,
    /// name → colour
    pub labels: BTreeMap<String, String>,
    pub issues: Vec<Issue>,
}

#[derive(Default)]
pub struct World {
    pub repos: BTreeMap<String, Repo>,
    pub log: Vec<Req>,
    faults: Vec<Injected>,
    pub tripwire: Option<std::sync::Arc<super::tripwire::Tripwire>>,
    next_id: u64,
}

impl FakeGithub {
    pub async fn start() -> FakeGithub {
        let world = Arc::new(Mutex::new(World::default()));
        let app = Router::new().fallback(handle).with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeGithub { url, world }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Adds a repository whose collaborators can be assigned.
    pub fn repo(&self, name: &str, collaborators: &[&str]) {
        let repo = Repo {
            collaborators: collaborators.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        };
        self.world().repos.insert(name.into(), repo);
    }

    /// The next `times` requests with this method and path fragment get `fault`.
    /// Injected faults not yet served.
    pub fn faults_left(&self) -> usize {
        self.world().faults.iter().map(|f| f.times).sum()
    }

    pub fn inject(&self, method: &'static str, path_contains: &str, fault: Fault, times: usize) {
        self.world().faults.push(Injected {
            method,
            path_contains: path_contains.into(),
            fault,
            times,
        });
    }

    pub fn issues(&self, repo: &str) -> Vec<Issue> {
        self.world().repos[repo].issues.clone()
    }

    pub fn labels(&self, repo: &str) -> BTreeMap<String, String> {
        self.world().repos[repo].labels.clone()
    }

    /// Takes the request log so far.
    pub fn take_log(&self) -> Vec<Req> {
        std::mem::take(&mut self.world().log)
    }
}

impl Drop for FakeGithub {
    /// A test that let Ripple write something it never looked at fails: "nothing
    /// unexpected was sent" is part of every GitHub test.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let log = std::mem::take(&mut self.world.lock().unwrap().log);
        let left: Vec<String> = log
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {} → {}", r.method, r.path, r.status))
            .collect();
        assert!(
            left.is_empty(),
            "the fake GitHub received writes no assertion looked at (assert them with take_log()):\n{left:#?}"
        );
    }
}

impl World {
    /// The service is back: no more injected faults.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    fn fault_for(&mut self, method: &str, path: &str) -> Option<Fault> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))?;
        f.times -= 1;
        Some(f.fault)
    }
}

/// Answers one request; a request that trips a holding wire is answered late.
async fn handle(
    State(world): State<Arc<Mutex<World>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut stall = None;
    let response = respond(&world, method, uri, headers, body, &mut stall);
    if let Some(t) = stall {
        t.stall().await;
    }
    response
}

fn respond(
    world: &Mutex<World>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    stall: &mut Option<Arc<super::tripwire::Tripwire>>,
) -> Response {
    let mut w = world.lock().unwrap();
    let path = uri.path().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let fault = w.fault_for(method.as_str(), &path);
    let (status, reply, extra) = if auth.is_empty() {
        (401, json!({ "message": "Requires authentication" }), None)
    } else {
        match fault {
            Some(Fault::Status(s)) => (s, json!({ "message": "Server Error" }), None),
            Some(Fault::SecondaryRateLimit { retry_after }) => (
                403,
                json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." }),
                Some(retry_after),
            ),
            Some(Fault::Unprocessable) => (422, validation_failed("assignees"), None),
            Some(Fault::ApplyThenFail) => {
                let _ = route(&mut w, &method, &uri, &body);
                (502, json!({ "message": "Bad Gateway" }), None)
            }
            None => {
                let (s, v) = route(&mut w, &method, &uri, &body);
                (s, v, None)
            }
        }
    };
    w.log.push(Req {
        method: method.to_string(),
        path: path.clone(),
        body,
        status,
        auth,
    });
    *stall = w.tripwire.clone().filter(|t| t.tick());
    let mut resp = if status == 204 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::from_u16(status).unwrap(), axum::Json(reply)).into_response()
    };
    if let Some(secs) = extra {
        resp.headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    resp
}

fn validation_failed(field: &str) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": [{ "resource": "Issue", "field": field, "code": "invalid" }],
        "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue"
    })
}

fn not_found() -> (u16, Value) {
    (404, json!({ "message": "Not Found" }))
}

/// Dispatches `/repos/{o}/{r}/...` and `/app/installations/{id}/access_tokens`.
fn route(w: &mut World, method: &Method, uri: &Uri, body: &Value) -> (u16, Value) {
    let segs: Vec<String> = uri.path().split('/').skip(1).map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let query = query(uri);
    if let ["app", "installations", _, "access_tokens"] = segs[..] {
        return (
            201,
            json!({ "token": "ghs_installation", "expires_at": "2099-01-01T00:00:00Z", "permissions": { "issues": "write" } }),
        );
    }
    let ["repos", owner, repo, rest @ ..] = &segs[..] else {
        return not_found();
    };
    let full = format!("{owner}/{repo}");
    w.next_id += 1;
    let id = w.next_id;
    let Some(r) = w.repos.get_mut(&full) else {
        return not_found();
    };
    match (method.as_str(), rest) {
        ("GET", ["labels", name]) => match r.labels.get(*name) {
            Some(c) => (200, label(id, &full, name, c)),
            None => not_found(),
        },
        ("POST", ["labels"]) => create_label(r, id, &full, body),
        ("GET", ["assignees", login]) if r.collaborators.contains(*login) => (204, Value::Null),
        ("GET", ["assignees", _]) => not_found(),
        ("GET", ["issues"]) => list_issues(r, &full, &query),
        ("POST", ["issues"]) => create_issue(r, id, &full, body),
        ("GET", ["issues", n]) => with_issue(r, n, |i| (200, issue(i, &full))),
        ("PATCH", ["issues", n]) => with_issue(r, n, |i| {
            edit_issue(i, body);
            (200, issue(i, &full))
        }),
        ("GET", ["issues", n, "comments"]) => with_issue(r, n, |i| {
            let all: Vec<Value> = i
                .comments
                .iter()
                .map(|(cid, b)| comment(*cid, &full, i.number, b))
                .collect();
            (200, Value::Array(page(all, &query)))
        }),
        ("POST", ["issues", n, "comments"]) => with_issue(r, n, |i| {
            let text = body["body"].as_str().unwrap_or_default().to_string();
            i.comments.push((id, text.clone()));
            (201, comment(id, &full, i.number, &text))
        }),
        _ => not_found(),
    }
}

fn with_issue(r: &mut Repo, n: &str, f: impl FnOnce(&mut Issue) -> (u16, Value)) -> (u16, Value) {
    let n: u64 = n.parse().unwrap_or(0);
    match r.issues.iter_mut().find(|i| i.number == n) {
        Some(i) => f(i),
        None => not_found(),
    }
}

fn create_label(r: &mut Repo, id: u64, repo: &str, body: &Value) -> (u16, Value) {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if r.labels.contains_key(&name) {
        return (422, validation_failed("name"));
    }
    let colour = body["color"].as_str().unwrap_or("ededed").to_string();
    r.labels.insert(name.clone(), colour.clone());
    (201, label(id, repo, &name, &colour))
}

fn create_issue(r: &mut Repo, _id: u64, repo: &str, body: &Value) -> (u16, Value) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let assignees = strings(&body["assignees"]);
    if assignees.iter().any(|a| !r.collaborators.contains(a)) {
        return (422, validation_failed("assignees"));
    }
    let labels = strings(&body["labels"]);
    for l in &labels {
        // GitHub creates unknown labels on the fly, grey.
        r.labels.entry(l.clone()).or_insert_with(|| "ededed".into());
    }
    let i = Issue {
        number: r.issues.len() as u64 + 1,
        title: body["title"].as_str().unwrap_or_default().into(),
        body: body["body"].as_str().unwrap_or_default().into(),
        open: true,
        labels,
        assignees,
        ..Default::default()
    };
    let v = issue(&i, repo);
    r.issues.push(i);
    (201, v)
}

fn edit_issue(i: &mut Issue, body: &Value) {
    if let Some(b) = body["body"].as_str() {
        i.body = b.into();
    }
    match body["state"].as_str() {
        Some("closed") => {
            i.open = false;
            i.closed_at = Some("2026-11-20T12:00:00Z".into());
        }
        Some("open") => {
            i.open = true;
            i.closed_at = None;
        }
        _ => {}
    }
}

fn list_issues(r: &Repo, repo: &str, q: &BTreeMap<String, String>) -> (u16, Value) {
    let want_open = q.get("state").map(String::as_str) != Some("closed");
    let labels: Vec<&str> = q
        .get("labels")
        .map(|l| l.split(',').collect())
        .unwrap_or_default();
    let all: Vec<Value> = r
        .issues
        .iter()
        .filter(|i| i.open == want_open)
        .filter(|i| labels.iter().all(|l| i.labels.iter().any(|x| x == l)))
        .map(|i| issue(i, repo))
        .collect();
    (200, Value::Array(page(all, q)))
}

fn page(all: Vec<Value>, q: &BTreeMap<String, String>) -> Vec<Value> {
    let per: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    all.into_iter().skip((page - 1) * per).take(per).collect()
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn user(login: &str) -> Value {
    let u = format!("https://api.github.test/users/{login}");
    json!({
        "login": login, "id": 1000, "node_id": "U_1", "avatar_url": "https://avatars.github.test/u/1",
        "gravatar_id": "", "url": u, "html_url": format!("https://github.test/{login}"),
        "followers_url": format!("{u}/followers"), "following_url": format!("{u}/following"),
        "gists_url": format!("{u}/gists"), "starred_url": format!("{u}/starred"),
        "subscriptions_url": format!("{u}/subscriptions"), "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"), "events_url": format!("{u}/events"),
        "received_events_url": format!("{u}/received_events"), "type": "User", "site_admin": false
    })
}

fn label(id: u64, repo: &str, name: &str, colour: &str) -> Value {
    json!({
        "id": id, "node_id": format!("LA_{id}"), "url": format!("https://api.github.test/repos/{repo}/labels/{}", name.replace(':', "%3A")),
        "name": name, "description": null, "color": colour, "default": false
    })
}

fn issue(i: &Issue, repo: &str) -> Value {
    let url = format!("https://api.github.test/repos/{repo}/issues/{}", i.number);
    json!({
        "id": 5000 + i.number, "node_id": format!("I_{}", i.number), "url": url,
        "repository_url": format!("https://api.github.test/repos/{repo}"),
        "labels_url": format!("{url}/labels{{/name}}"), "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"), "html_url": format!("https://github.test/{repo}/issues/{}", i.number),
        "number": i.number, "state": if i.open { "open" } else { "closed" },
        "state_reason": if i.open { Value::Null } else { json!("completed") },
        "title": i.title, "body": i.body, "user": user("ripple-bot"),
        "labels": i.labels.iter().enumerate().map(|(n, l)| label(n as u64 + 1, repo, l, "ededed")).collect::<Vec<_>>(),
        "assignee": i.assignees.first().map(|a| user(a)),
        "assignees": i.assignees.iter().map(|a| user(a)).collect::<Vec<_>>(),
        "author_association": "NONE", "locked": false, "comments": i.comments.len(),
        "closed_at": i.closed_at, "created_at": "2026-11-20T00:00:00Z", "updated_at": "2026-11-20T00:00:00Z"
    })
}

fn comment(id: u64, repo: &str, number: u64, body: &str) -> Value {
    json!({
        "id": id, "node_id": format!("IC_{id}"),
        "url": format!("https://api.github.test/repos/{repo}/issues/comments/{id}"),
        "html_url": format!("https://github.test/{repo}/issues/{number}#issuecomment-{id}"),
        "issue_url": format!("https://api.github.test/repos/{repo}/issues/{number}"),
        "body": body, "user": user("ripple-bot"), "author_association": "NONE",
        "created_at": "2026-11-20T00:00:00Z", "updated_at": "2026-11-20T00:00:00Z"
    })
}

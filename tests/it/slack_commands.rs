//! `/ripple` over signed HTTP through the real router: every subcommand's reply, the
//! mistakes, the buttons, and the requests that must be refused.

use super::fake_slack::Sent;
use super::slack::{CHANNEL_OPENING, first_run, replies, roots, slack};
use super::support::{Harness, secrets};
use ripple::clock::Clock;
use ripple::slack::replay::ReplayGuard;
use ripple::slack::{Handler, signature};
use std::sync::Arc;

pub(super) struct Server {
    pub(super) url: String,
    pub(super) http: reqwest::Client,
    /// The app the handler serves; a test swaps it as a reload does.
    pub(super) live: Arc<ripple::app::live::Live>,
}

pub(super) async fn serve(h: &Harness) -> Server {
    // The server's app is a second one over the same state, with its one Slack notifier.
    let (app, _) = h.new_app().await;
    let clock = Arc::new(h.clock.clone());
    let live = ripple::app::live::Live::new(app);
    let secret = secrets().slack_signing_secret;
    let guard = ReplayGuard::new(live.app().store.clone());
    let handler = Arc::new(Handler::new(live.clone(), secret, clock));
    let router = ripple::server::slack_router(handler, guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let limits = ripple::config::HttpConfig::default();
    tokio::spawn(async move {
        ripple::server::serve(listener, router, &limits, std::future::pending()).await
    });
    Server {
        url,
        http: reqwest::Client::new(),
        live,
    }
}

pub(super) fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Server {
    pub(super) async fn post(
        &self,
        path: &str,
        body: String,
        ts: i64,
        secret: &str,
    ) -> reqwest::Response {
        self.signed(path, body, ts, secret).send().await.unwrap()
    }

    /// A request signed as Slack signs it, to send (or send again).
    pub(super) fn signed(
        &self,
        path: &str,
        body: String,
        ts: i64,
        secret: &str,
    ) -> reqwest::RequestBuilder {
        let ts = ts.to_string();
        let sig = signature::sign(secret, &ts, body.as_bytes());
        self.http
            .post(format!("{}{path}", self.url))
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sig)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

pub(super) async fn command(h: &Harness, srv: &Server, text: &str, respond: usize) -> String {
    let url = format!("{}/respond/{respond}", h.slack().url);
    let body = form(&[
        ("command", "/ripple"),
        ("text", text),
        ("user_id", "U0MIKA"),
        ("response_url", &url),
        ("trigger_id", &trigger_id()),
    ]);
    let now = h.clock.now().timestamp();
    let res = srv.post("/slack/commands", body, now, "shh").await;
    assert_eq!(res.status(), 200, "{text}");
    let v: serde_json::Value = res.json().await.unwrap();
    format!(
        "[{}] {}",
        v["response_type"].as_str().unwrap(),
        v["text"].as_str().unwrap()
    )
}

/// Slack gives every invocation its own `trigger_id`, so no two are the same request.
pub(super) fn trigger_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{n}.4744562.803a0bc887a14d10")
}

#[tokio::test]
async fn every_subcommand_answers_and_mistakes_get_usage() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let srv = serve(&h).await;
    let quick = [
        "help",
        "status",
        "status finance",
        "status fianance",
        "ack 1",
        "ack one",
        "silence payments_duplicated 2h backfill running",
        "silence payments_duplicatd 2h",
        "silence payments_duplicated soon",
        "resolve 3 fixed upstream",
        "resolve 3",
        "stauts",
        "lineage sideways shop.orders",
        "",
    ];
    let mut transcript = String::new();
    for text in quick {
        let r = command(&h, &srv, text, 0).await;
        transcript.push_str(&format!("> /ripple {text}\n{r}\n\n"));
    }
    // Slow commands: acknowledged at once, answered through response_url.
    let slow = [
        "impact shop.orders",
        "impact shop.ordres",
        "lineage down shop.orders",
        "lineage up marts.daily_revenue",
        "run orders_without_payment",
        "run orders_without_paymnt",
        "incident 1",
    ];
    for (i, text) in slow.iter().enumerate() {
        let ack = command(&h, &srv, text, i + 1).await;
        let later = h.slack().wait_responses(i + 1).await;
        let v = &later[i];
        transcript.push_str(&format!(
            "> /ripple {text}\n{ack}\n... [{}] {}\n\n",
            v["response_type"].as_str().unwrap(),
            v["text"].as_str().unwrap()
        ));
    }
    insta::assert_snapshot!("slack_command_replies", transcript);
    // The escalation made a channel, moved the root there and left a pointer behind.
    let chans = h.slack().channels();
    let inc = chans
        .iter()
        .find(|c| c.name.starts_with("inc-20261120-1-"))
        .expect("a channel for incident 1");
    assert!(roots(h.slack()).iter().any(|r| r.channel == inc.id));
    // Everything the commands changed in Slack, in order: the resolve (a reply and the
    // root edited), the run (incident 4 opens in its own channel), the escalation
    // (incident 1 gets a channel and its old root a pointer). Acks and silences only
    // answer the person.
    let sent = h.slack().take_sent();
    let mut expected = vec!["chat.postMessage", "chat.update"];
    expected.extend(CHANNEL_OPENING);
    expected.extend(CHANNEL_OPENING);
    expected.push("chat.postMessage");
    assert_eq!(Sent::methods(&sent), expected, "{sent:#?}");
    assert!(sent[0].text.starts_with(":white_check_mark:"), "{sent:#?}");
    assert_eq!(sent[2].channel, "inc-20261120-4-orders-without-payment");
    assert_eq!(sent[7].channel, inc.name);
    assert!(sent[12].thread_ts.is_some());
    assert!(
        sent[12].text.contains("now has its own channel"),
        "{sent:#?}"
    );
    assert!(
        replies(h.slack())
            .iter()
            .any(|r| r.text.contains("now has its own channel"))
    );
}

#[tokio::test]
async fn forged_stale_and_unsigned_requests_are_refused() {
    let h = slack().await;
    let srv = serve(&h).await;
    let body = form(&[
        ("command", "/ripple"),
        ("text", "status"),
        ("user_id", "U1"),
    ]);
    let now = h.clock.now().timestamp();
    for path in ["/slack/commands", "/slack/interactivity"] {
        let forged = srv.post(path, body.clone(), now, "not-the-secret").await;
        assert_eq!(forged.status(), 401);
        let stale = srv.post(path, body.clone(), now - 301, "shh").await;
        assert_eq!(stale.status(), 401);
        let unsigned = srv
            .http
            .post(format!("{}{path}", srv.url))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 401);
    }
    let fresh = srv.post("/slack/commands", body, now - 299, "shh").await;
    assert_eq!(fresh.status(), 200);
}

#[tokio::test]
async fn buttons_acknowledge_silence_and_resolve_and_the_root_is_edited() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let srv = serve(&h).await;
    let id = h.incident("orders_without_payment").await;
    let click = |action: &str, n: usize| {
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U0HANA"},
            "response_url": format!("{}/respond/{n}", h.slack().url),
            "actions": [{"action_id": action, "value": id.to_string(), "type": "button"}],
        });
        form(&[("payload", &payload.to_string())])
    };
    let now = h.clock.now().timestamp();
    for (n, action) in ["ripple_ack", "ripple_silence_1h", "ripple_resolve"]
        .iter()
        .enumerate()
    {
        let res = srv
            .post("/slack/interactivity", click(action, n), now, "shh")
            .await;
        assert_eq!(res.status(), 200);
        h.slack().wait_responses(n + 1).await;
    }
    let texts: Vec<String> = h
        .slack()
        .responses()
        .iter()
        .map(|v| v["text"].as_str().unwrap().to_string())
        .collect();
    insta::assert_debug_snapshot!("slack_button_replies", texts);
    let timeline = h.app.store.timeline(id).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["opened", "acknowledged", "resolved"]);
    // Delivery edits the root and says so in its thread; nothing else is written.
    h.deliver().await;
    let sent = h.slack().take_sent();
    assert_eq!(Sent::methods(&sent), ["chat.postMessage", "chat.update"]);
    assert!(sent[0].thread_ts.is_some(), "{sent:#?}");
    assert!(
        roots(h.slack())
            .iter()
            .any(|r| r.edits == 1 && r.blocks.to_string().contains("RESOLVED"))
    );
}

#[tokio::test]
async fn reminders_stop_while_acknowledged() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let id = h.incident("orders_without_payment").await;
    h.app.ack(id, "<@U0HANA>").await.unwrap();
    h.later(5 * 60);
    h.run().await;
    let roots = roots(h.slack());
    let root = roots
        .iter()
        .find(|r| r.blocks.to_string().contains("orders_without_payment"))
        .unwrap();
    // The other two incidents are reminded in their threads; the acknowledged one is not.
    let sent = h.slack().take_sent();
    assert_eq!(Sent::methods(&sent), ["chat.postMessage"; 2], "{sent:#?}");
    for s in &sent {
        assert!(
            s.thread_ts.is_some() && s.text.contains("Still failing since"),
            "{s:?}"
        );
        assert_ne!(
            s.thread_ts.as_deref(),
            Some(root.ts.as_str()),
            "acknowledged"
        );
    }
    assert_eq!(replies(h.slack()).len(), 2);
}

#[tokio::test]
async fn commands_follow_a_reload_without_a_restart() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let srv = serve(&h).await;
    let r = command(&h, &srv, "run fresh_monitor", 1).await;
    assert!(r.starts_with("[ephemeral] Working on"), "{r}");
    let later = h.slack().wait_responses(1).await;
    assert_eq!(
        later[0]["text"].as_str().unwrap(),
        "No monitor `fresh_monitor`."
    );
    // A reload adds the monitor: the very next command sees it.
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(super::support::repo().join("rules")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let rule = "monitors:\n  - id: fresh_monitor\n    team: finance\n    description: Added by a reload.\n    schedule: { cron: \"*/5 * * * *\", timezone: UTC }\n    owners: [mika]\n    sql: SELECT 1 FROM finance.payments WHERE 1 = 0\n";
    std::fs::write(dir.path().join("fresh.yaml"), rule).unwrap();
    let app = srv.live.app();
    let rules = ripple::rules::load_dir(dir.path(), &app.config);
    assert!(rules.problems.is_empty(), "{:?}", rules.problems);
    srv.live.replace(app.with_rules(rules));
    command(&h, &srv, "run fresh_monitor", 2).await;
    let later = h.slack().wait_responses(2).await;
    assert_eq!(
        later[1]["text"].as_str().unwrap(),
        "Ran `fresh_monitor`: passing"
    );
}

/// A signed `/ripple resolve 1 …` of the demo, as Slack would send it.
fn resolve_request(h: &Harness) -> (String, i64) {
    let body = form(&[
        ("command", "/ripple"),
        ("text", "resolve 1 replayed?"),
        ("user_id", "U0MIKA"),
        ("response_url", &format!("{}/respond/0", h.slack().url)),
        ("trigger_id", &trigger_id()),
    ]);
    (body, h.clock.now().timestamp())
}

/// The resolve's effect once in Slack: its thread reply and the root edited.
async fn resolved_once_in_slack(h: &Harness) {
    h.deliver().await;
    let sent = h.slack().take_sent();
    assert_eq!(
        Sent::methods(&sent),
        ["chat.postMessage", "chat.update"],
        "{sent:#?}"
    );
    assert!(sent[0].text.starts_with(":white_check_mark:"), "{sent:#?}");
}

#[tokio::test]
async fn a_replayed_command_is_acted_on_once() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let srv = serve(&h).await;
    let (body, ts) = resolve_request(&h);
    let first = srv.post("/slack/commands", body.clone(), ts, "shh").await;
    assert_eq!(first.status(), 200);
    let again = srv.post("/slack/commands", body, ts, "shh").await;
    assert_eq!(again.status(), 401);
    assert_eq!(again.text().await.unwrap(), "replayed request\n");
    let timeline = h.app.store.timeline(1).await.unwrap();
    let resolved = timeline.iter().filter(|(_, k, _)| k == "resolved").count();
    assert_eq!(resolved, 1, "{timeline:?}");
    resolved_once_in_slack(&h).await;
    // A replayed silence (what made two silences before) makes one.
    let silence = form(&[
        ("command", "/ripple"),
        ("text", "silence payments_duplicated 2h backfill"),
        ("user_id", "U0MIKA"),
        ("trigger_id", &trigger_id()),
    ]);
    for expect in [200, 401, 401] {
        let res = srv
            .post("/slack/commands", silence.clone(), ts, "shh")
            .await;
        assert_eq!(res.status(), expect);
    }
    let silences = h.app.store.active_silences(h.clock.now()).await.unwrap();
    assert_eq!(silences.len(), 1, "{silences:?}");
}

#[tokio::test]
async fn slacks_retry_of_a_request_acted_on_is_answered_empty_and_does_nothing() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let srv = serve(&h).await;
    let (body, ts) = resolve_request(&h);
    let first = srv.post("/slack/commands", body.clone(), ts, "shh").await;
    assert_eq!(first.status(), 200);
    let retry = srv
        .signed("/slack/commands", body, ts, "shh")
        .header("x-slack-retry-num", "1")
        .header("x-slack-retry-reason", "http_timeout")
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.text().await.unwrap(), "");
    resolved_once_in_slack(&h).await;
}

#[tokio::test]
async fn a_forged_replay_and_a_replayed_click_are_refused() {
    let h = slack().await;
    h.run().await;
    first_run(h.slack());
    let srv = serve(&h).await;
    let (body, ts) = resolve_request(&h);
    // A forgery is refused before it is recorded: the real request still acts.
    let forged = srv.post("/slack/commands", body.clone(), ts, "guess").await;
    assert_eq!(forged.status(), 401);
    assert_eq!(forged.text().await.unwrap(), "invalid Slack signature\n");
    let real = srv.post("/slack/commands", body, ts, "shh").await;
    assert_eq!(real.status(), 200);
    resolved_once_in_slack(&h).await;
    // A button click replayed: acknowledged once (one answer through response_url).
    let payload = serde_json::json!({
        "type": "block_actions",
        "trigger_id": trigger_id(),
        "user": {"id": "U0HANA"},
        "response_url": format!("{}/respond/0", h.slack().url),
        "actions": [{"action_id": "ripple_ack", "value": "2", "type": "button"}],
    });
    let click = form(&[("payload", &payload.to_string())]);
    let once = srv
        .post("/slack/interactivity", click.clone(), ts, "shh")
        .await;
    assert_eq!(once.status(), 200);
    let twice = srv.post("/slack/interactivity", click, ts, "shh").await;
    assert_eq!(twice.status(), 401);
    h.slack().wait_responses(1).await;
    let timeline = h.app.store.timeline(2).await.unwrap();
    let acks = timeline
        .iter()
        .filter(|(_, k, _)| k == "acknowledged")
        .count();
    assert_eq!(acks, 1, "{timeline:?}");
    assert_eq!(h.slack().responses().len(), 1, "the ack answered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_command_is_answered_while_another_client_holds_1100_half_open_requests() {
    use super::serve_limits::{count_closed, hold, raise_open_files};
    raise_open_files();
    let h = slack().await;
    let srv = serve(&h).await;
    let addr: std::net::SocketAddr = srv.url.trim_start_matches("http://").parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..1100 {
        held.push(hold(addr, 2).await);
    }
    assert_eq!(count_closed(&mut held, 1100 - 64).await, 1100 - 64);
    let t = std::time::Instant::now();
    let r = command(&h, &srv, "help", 0).await;
    let took = t.elapsed();
    eprintln!("signed /ripple help under a slowloris hold: {took:?}");
    assert!(r.starts_with("[ephemeral]"), "{r}");
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}

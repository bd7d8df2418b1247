//! Slack end to end: the demo's incidents against a loopback fake Slack, through the
//! real slack-morphism client, on a manual clock.

use super::fake_slack::{FakeSlack, Fault, Msg};
use super::support::{self, Demo};
use chrono::Duration;
use ripple::app::App;
use ripple::clock::Clock;
use ripple::config::{Config, Secrets};
use ripple::notify::Notifier;
use ripple::notify::dispatch::{Delivered, deliver_due};
use ripple::slack::SlackNotifier;
use std::sync::Arc;

pub struct Sl {
    pub demo: Demo,
    pub fake: FakeSlack,
}

pub fn secrets() -> Secrets {
    Secrets::from_lookup(|k| match k {
        "SLACK_BOT_TOKEN" => Some("xoxb-test".into()),
        "SLACK_SIGNING_SECRET" => Some("shh".into()),
        _ => None,
    })
}

impl Sl {
    pub async fn new() -> Sl {
        let fake = FakeSlack::start().await;
        for t in ["commerce", "finance", "loyalty", "analytics"] {
            fake.channel(&format!("data-{t}"), false);
        }
        fake.group("S0RESPOND", &["U0000ONCALL", "U000000SRE"]);
        let mut sl = Sl {
            demo: Demo::new().await,
            fake,
        };
        sl.restart().await;
        sl
    }

    pub fn config(&self) -> Config {
        let extra = format!(
            "slack:\n  api_url: {}\n  invite_user_groups: [S0RESPOND]\n",
            self.fake.api_url()
        );
        let mut cfg = support::config(self.demo.dir.path(), &extra);
        for t in &mut cfg.teams {
            t.slack_channel = Some(format!("#data-{}", t.name));
        }
        // Severity alone decides here; impact escalation has its own test.
        cfg.slack.as_mut().unwrap().escalate.min_impact_score = None;
        cfg
    }

    /// A new process over the same state, with only the Slack notifier.
    pub async fn restart(&mut self) {
        let clock = Arc::new(self.demo.clock.clone());
        let mut app = App::from_config_with_secrets(self.config(), clock, &secrets())
            .await
            .unwrap();
        let slack: Vec<Arc<dyn Notifier>> = app
            .notifiers
            .iter()
            .filter(|n| n.destination() == "slack")
            .cloned()
            .collect();
        assert_eq!(slack.len(), 1, "slack: + token means a Slack notifier");
        app.set_notifiers(slack);
        self.demo.app = app;
    }

    pub fn notifier(&self) -> SlackNotifier {
        let client = ripple::slack::client::build_client(&self.fake.api_url()).unwrap();
        let api = ripple::slack::client::Api::new(client, "xoxb-test");
        let clock = Arc::new(self.demo.clock.clone());
        SlackNotifier::new(api, self.demo.app.store.clone(), clock, &self.config())
    }

    pub async fn run(&self) -> Delivered {
        self.demo.app.run_once().await.unwrap().delivered
    }

    pub async fn deliver(&self) -> Delivered {
        let app = &self.demo.app;
        deliver_due(&app.store, &app.notifiers, self.demo.clock.now())
            .await
            .unwrap()
    }

    pub fn later(&self, minutes: i64) {
        self.demo.clock.advance(Duration::minutes(minutes));
    }

    pub fn roots(&self) -> Vec<Msg> {
        let msgs = self.fake.messages();
        msgs.into_iter()
            .filter(|m| m.thread_ts.is_none() && m.metadata["event_type"] == "ripple_incident")
            .collect()
    }

    pub fn replies(&self) -> Vec<Msg> {
        self.fake
            .messages()
            .into_iter()
            .filter(|m| m.thread_ts.is_some())
            .collect()
    }

    pub async fn incident(&self, monitor: &str) -> i64 {
        let store = &self.demo.app.store;
        store.open_incident_for(monitor).await.unwrap().unwrap().id
    }
}

fn channel_names(fake: &FakeSlack) -> Vec<String> {
    let mut names: Vec<String> = fake
        .channels()
        .into_iter()
        .filter(|c| c.name.starts_with("inc-"))
        .map(|c| c.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn open_repeat_and_resolve_make_one_root_per_incident_with_thread_updates() {
    let sl = Sl::new().await;
    assert_eq!(sl.run().await.sent, 3);
    let commerce = sl.incident("orders_without_payment").await;
    let loyalty = sl.incident("point_grants_reference_orders").await;
    // High severities get a channel; the medium one posts in its team's channel.
    let mut expected = vec![
        format!("inc-20261120-{commerce}-orders-without-payment"),
        format!("inc-20261120-{loyalty}-point-grants-reference-orders"),
    ];
    expected.sort();
    assert_eq!(channel_names(&sl.fake), expected);
    let chans = sl.fake.channels();
    let inc = chans
        .iter()
        .find(|c| c.name.contains("orders-without"))
        .unwrap();
    assert!(inc.purpose.contains(&format!("ripple:incident:{commerce}")));
    assert!(
        inc.topic
            .starts_with("[HIGH] orders_without_payment: 3 rows"),
        "{}",
        inc.topic
    );
    assert!(inc.members.contains("U0000ONCALL") && inc.members.contains("U000000SRE"));
    let roots = sl.roots();
    assert_eq!(roots.len(), 3);
    let finance_channel = chans.iter().find(|c| c.name == "data-finance").unwrap();
    assert_eq!(
        roots
            .iter()
            .filter(|r| r.channel == finance_channel.id)
            .count(),
        1
    );
    let root = roots.iter().find(|r| r.channel == inc.id).unwrap();
    let blocks = root.blocks.to_string();
    assert!(blocks.contains("ripple_ack") && blocks.contains("ripple_silence_1h"));
    assert!(blocks.contains("<!subteam^S0RESPOND>"), "{blocks}");

    // Still failing, not due: Slack hears nothing.
    sl.later(30);
    let posts = sl.fake.calls("chat.postMessage");
    assert_eq!(sl.run().await.sent, 0);
    assert_eq!(sl.fake.calls("chat.postMessage"), posts);

    // A reminder per incident, in its thread; no new root, no new channel.
    sl.later(4 * 60);
    assert_eq!(sl.run().await.sent, 3);
    assert_eq!(sl.roots().len(), 3);
    let replies = sl.replies();
    assert_eq!(replies.len(), 3);
    assert!(
        replies
            .iter()
            .all(|r| r.text.contains("Still failing since"))
    );
    assert!(
        replies
            .iter()
            .any(|r| r.thread_ts.as_deref() == Some(root.ts.as_str()))
    );
    assert_eq!(sl.fake.calls("conversations.create"), 2);

    // Loyalty recovers: a reply in its thread and its root edited, buttons gone.
    sl.demo
        .warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
    sl.later(30);
    assert_eq!(sl.run().await.sent, 1);
    let edited: Vec<Msg> = sl.roots().into_iter().filter(|r| r.edits > 0).collect();
    assert_eq!(edited.len(), 1);
    let text = edited[0].blocks.to_string();
    assert!(
        text.contains("RESOLVED") && !text.contains("ripple_ack"),
        "{text}"
    );
    assert!(
        sl.replies()
            .iter()
            .any(|r| r.text.starts_with(":white_check_mark: Recovered"))
    );
    let links = ripple::slack::SlackLinks::new(sl.demo.app.store.clone())
        .all()
        .await
        .unwrap();
    let l = links.iter().find(|l| l.incident_id == loyalty).unwrap();
    assert!(
        matches!(l.root, ripple::slack::state::Root::Resolved { .. }),
        "{:?}",
        l.root
    );
}

#[tokio::test]
async fn a_lost_response_or_a_restart_never_makes_a_second_channel_or_root() {
    let mut sl = Sl::new().await;
    // The channel is made but the answer is lost; then the root is posted, answer lost.
    sl.fake
        .inject("conversations.create", Fault::ApplyThenFail, 1);
    sl.fake.inject("chat.postMessage", Fault::ApplyThenFail, 1);
    let first = sl.run().await;
    assert!(first.failed >= 1, "{first:?}");
    // A new process picks the rows up after the back-off.
    sl.restart().await;
    sl.later(10);
    sl.deliver().await;
    sl.restart().await;
    sl.later(10);
    sl.deliver().await;
    assert_eq!(sl.demo.app.store.pending_outbox().await.unwrap(), 0);
    assert_eq!(
        channel_names(&sl.fake).len(),
        2,
        "{:?}",
        channel_names(&sl.fake)
    );
    assert_eq!(sl.roots().len(), 3, "one root per incident");
    // And running again changes nothing.
    sl.restart().await;
    sl.later(30);
    assert_eq!(sl.run().await.sent, 0);
    assert_eq!(sl.roots().len(), 3);
}

#[tokio::test]
async fn rate_limits_are_honoured_and_errors_retried_without_duplicates() {
    let sl = Sl::new().await;
    sl.fake.inject(
        "chat.postMessage",
        Fault::RateLimited { retry_after: 600 },
        1,
    );
    sl.fake
        .inject("conversations.create", Fault::Error("internal_error"), 1);
    sl.fake
        .inject("conversations.setPurpose", Fault::Status(503), 1);
    let d = sl.run().await;
    assert_eq!(d.failed, 3, "{d:?}");
    // Back-off has passed for the error, not for the rate limit (10 minutes).
    sl.later(2);
    sl.deliver().await;
    assert_eq!(sl.roots().len(), 2);
    sl.later(9);
    sl.deliver().await;
    assert_eq!(sl.roots().len(), 3);
    assert_eq!(sl.demo.app.store.pending_outbox().await.unwrap(), 0);
    assert_eq!(channel_names(&sl.fake).len(), 2);
}

#[tokio::test]
async fn an_archived_channel_keeps_its_name_and_the_next_one_is_used() {
    let sl = Sl::new().await;
    // The incident ids are known in advance: the demo opens them in rule order.
    for id in 1..=3 {
        sl.fake
            .channel(&format!("inc-20261120-{id}-orders-without-payment"), true);
    }
    sl.run().await;
    let commerce = sl.incident("orders_without_payment").await;
    let names = channel_names(&sl.fake);
    let ours = format!("inc-20261120-{commerce}-orders-without-payment-2");
    assert!(names.contains(&ours), "{names:?}");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_opening_make_one_channel() {
    let sl = Sl::new().await;
    // Run without delivering, then deliver the same row twice at once through the
    // process's one Slack notifier (its per-incident lock serialises them).
    let m = sl
        .demo
        .app
        .rules
        .get("orders_without_payment")
        .unwrap()
        .clone();
    sl.demo.app.run_monitors(&[m]).await.unwrap();
    let item = sl
        .demo
        .app
        .store
        .due_outbox(sl.demo.clock.now(), 10)
        .await
        .unwrap();
    let n =
        &ripple::notify::Notification::from_payload(&item[0].payload, item[0].incident_id).unwrap();
    let a = sl.notifier();
    let (ra, rb) = tokio::join!(a.deliver(n), a.deliver(n));
    ra.unwrap();
    rb.unwrap();
    assert_eq!(channel_names(&sl.fake).len(), 1);
    assert_eq!(sl.roots().len(), 1);
}

#[tokio::test]
async fn consumers_are_invited_when_the_team_allows_and_impact_can_escalate() {
    let sl = Sl::new().await;
    for i in 1..=40 {
        sl.fake.user(
            &format!("analyst{i:02}@acme.example"),
            &format!("U00ANLST{i:02}"),
        );
    }
    let mut cfg = sl.config();
    cfg.teams[0].slack_invite_consumers = Some(true);
    let client = ripple::slack::client::build_client(&sl.fake.api_url()).unwrap();
    let api = ripple::slack::client::Api::new(client, "xoxb-test");
    let clock = Arc::new(sl.demo.clock.clone());
    let slack = SlackNotifier::new(api, sl.demo.app.store.clone(), clock, &cfg);
    // Usage statistics first, as `run_once` does, so the report names people.
    sl.demo.app.refresh_usage().await.unwrap();
    let m = sl
        .demo
        .app
        .rules
        .get("orders_without_payment")
        .unwrap()
        .clone();
    sl.demo.app.run_monitors(&[m]).await.unwrap();
    let id = sl.incident("orders_without_payment").await;
    let n = ripple::notify::Notification::opened(&sl.demo.app.store, id)
        .await
        .unwrap()
        .unwrap();
    let people = &n.impact.as_ref().expect("the demo has impact").notify;
    assert!(!people.is_empty());
    slack.deliver(&n).await.unwrap();
    let chan = sl
        .fake
        .channels()
        .into_iter()
        .find(|c| c.name.starts_with("inc-"))
        .unwrap();
    let analysts = chan
        .members
        .iter()
        .filter(|m| m.starts_with("U00ANLST"))
        .count();
    assert!(analysts > 0, "{:?}", chan.members);
    // The people to notify are mentioned as Slack users, not named by e-mail.
    let root = sl.roots().pop().expect("a root message");
    let blocks = root.blocks.to_string();
    assert!(blocks.contains("<@U00ANLST"), "{blocks}");

    // A medium incident escalates when its best impacted table scores above the bar.
    let mut medium = n.clone();
    medium.severity = "medium".into();
    assert!(
        !slack.escalates(&medium),
        "impact escalation is off in this config"
    );
    cfg.slack.as_mut().unwrap().escalate.min_impact_score = Some(0.0);
    let api = ripple::slack::client::Api::new(
        ripple::slack::client::build_client(&sl.fake.api_url()).unwrap(),
        "xoxb-test",
    );
    let by_impact = SlackNotifier::new(
        api,
        sl.demo.app.store.clone(),
        Arc::new(sl.demo.clock.clone()),
        &cfg,
    );
    assert!(by_impact.escalates(&medium));
}

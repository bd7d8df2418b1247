//! Slack end to end: the demo's incidents against a loopback fake Slack, through the
//! real slack-morphism client, on a manual clock. Every test ends with the whole of
//! what Ripple changed in the workspace asserted (the fake fails the test otherwise).

use super::fake_slack::{FakeSlack, Fault, Msg, Sent};
use super::support::Harness;
use ripple::clock::Clock;
use ripple::notify::Notifier;
use std::collections::{BTreeMap, BTreeSet};

pub async fn slack() -> Harness {
    Harness::options().slack().start().await
}

/// Root messages of incidents, oldest first.
pub fn roots(fake: &FakeSlack) -> Vec<Msg> {
    let msgs = fake.messages();
    msgs.into_iter()
        .filter(|m| m.thread_ts.is_none() && m.metadata["event_type"] == "ripple_incident")
        .collect()
}

/// Thread replies, oldest first.
pub fn replies(fake: &FakeSlack) -> Vec<Msg> {
    let msgs = fake.messages();
    msgs.into_iter().filter(|m| m.thread_ts.is_some()).collect()
}

/// How many writes of each method.
pub fn counts(sent: &[Sent]) -> BTreeMap<&str, usize> {
    let mut out = BTreeMap::new();
    for m in Sent::methods(sent) {
        *out.entry(m).or_default() += 1;
    }
    out
}

/// What opening an incident in its own channel writes: the channel, its purpose and
/// topic, the responders invited, the root message.
pub const CHANNEL_OPENING: [&str; 5] = [
    "conversations.create",
    "conversations.setPurpose",
    "conversations.setTopic",
    "conversations.invite",
    "chat.postMessage",
];

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

/// What the demo's first run writes: two incidents in channels of their own, the
/// medium one as a root in its team's channel.
pub fn first_run(fake: &FakeSlack) {
    let sent = fake.take_sent();
    let mut all = counts(&sent);
    assert_eq!(
        all.remove("chat.postMessage"),
        Some(3),
        "one root each: {sent:#?}"
    );
    for m in &CHANNEL_OPENING[..4] {
        assert_eq!(all.remove(m), Some(2), "{m}: {sent:#?}");
    }
    assert!(all.is_empty(), "{all:?}");
}

#[tokio::test]
async fn open_repeat_and_resolve_make_one_root_per_incident_with_thread_updates() {
    let h = slack().await;
    let fake = h.slack();
    assert_eq!(h.run().await.delivered.sent, 3);
    let commerce = h.incident("orders_without_payment").await;
    let loyalty = h.incident("point_grants_reference_orders").await;
    // High severities get a channel; the medium one posts in its team's channel.
    let mut expected = vec![
        format!("inc-20261120-{commerce}-orders-without-payment"),
        format!("inc-20261120-{loyalty}-point-grants-reference-orders"),
    ];
    expected.sort();
    assert_eq!(channel_names(fake), expected);
    let chans = fake.channels();
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
    let members: Vec<&str> = inc.members.iter().map(String::as_str).collect();
    assert_eq!(
        members,
        ["U000000SRE", "U0000ONCALL"],
        "the responder group"
    );
    let finance = chans.iter().find(|c| c.name == "data-finance").unwrap();
    let sent = fake.take_sent();
    let mut opening = counts(&sent);
    assert_eq!(opening.remove("chat.postMessage"), Some(3), "{sent:#?}");
    for m in &CHANNEL_OPENING[..4] {
        assert_eq!(opening.remove(m), Some(2), "{m}: {sent:#?}");
    }
    assert!(opening.is_empty(), "{opening:?}");
    let posted: BTreeSet<&str> = sent
        .iter()
        .filter(|s| s.method == "chat.postMessage")
        .map(|s| s.channel.as_str())
        .collect();
    assert!(posted.contains(finance.id.as_str()) && posted.contains(inc.id.as_str()));
    let root = roots(fake)
        .into_iter()
        .find(|r| r.channel == inc.id)
        .unwrap();
    let blocks = root.blocks.to_string();
    assert!(blocks.contains("ripple_ack") && blocks.contains("ripple_silence_1h"));
    assert!(blocks.contains("<!subteam^S0RESPOND>"), "{blocks}");

    // Still failing, not due: Slack hears nothing.
    h.later(30);
    assert_eq!(h.run().await.delivered.sent, 0);
    assert_eq!(fake.take_sent(), Vec::<Sent>::new());

    // A reminder per incident, in its thread; no new root, no new channel.
    h.later(4 * 60);
    assert_eq!(h.run().await.delivered.sent, 3);
    let sent = fake.take_sent();
    assert_eq!(Sent::methods(&sent), ["chat.postMessage"; 3]);
    assert!(
        sent.iter()
            .all(|s| s.thread_ts.is_some() && s.text.contains("Still failing since"))
    );
    assert!(
        sent.iter()
            .any(|s| s.thread_ts.as_deref() == Some(root.ts.as_str()))
    );
    assert_eq!(roots(fake).len(), 3);

    // Loyalty recovers: a reply in its thread and its root edited, buttons gone.
    h.warehouse_exec("loyalty", "DELETE FROM point_grants WHERE id >= 9001");
    h.later(30);
    assert_eq!(h.run().await.delivered.sent, 1);
    let sent = fake.take_sent();
    assert_eq!(
        Sent::methods(&sent),
        ["chat.postMessage", "chat.update"],
        "{sent:#?}"
    );
    assert!(
        sent[0].text.starts_with(":white_check_mark: Recovered"),
        "{sent:#?}"
    );
    let edited: Vec<Msg> = roots(fake).into_iter().filter(|r| r.edits > 0).collect();
    assert_eq!(edited.len(), 1);
    assert_eq!(sent[1].channel, edited[0].channel);
    let text = edited[0].blocks.to_string();
    assert!(
        text.contains("RESOLVED") && !text.contains("ripple_ack"),
        "{text}"
    );
    let links = ripple::slack::SlackLinks::new(h.app.store.clone())
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
    let mut h = slack().await;
    // The channel is made but the answer is lost; then the root is posted, answer lost.
    h.slack()
        .inject("conversations.create", Fault::ApplyThenFail, 1);
    h.slack()
        .inject("chat.postMessage", Fault::ApplyThenFail, 1);
    let first = h.run().await.delivered;
    assert!(first.failed >= 1, "{first:?}");
    // A new process picks the rows up after the back-off.
    h.restart().await;
    h.later(10);
    h.deliver().await;
    h.restart().await;
    h.later(10);
    h.deliver().await;
    assert_eq!(h.app.store.pending_outbox().await.unwrap(), 0);
    let fake = h.slack();
    assert_eq!(channel_names(fake).len(), 2, "{:?}", channel_names(fake));
    first_run(fake);
    // And running again changes nothing.
    h.restart().await;
    h.later(30);
    assert_eq!(h.run().await.delivered.sent, 0);
    assert_eq!(h.slack().take_sent(), Vec::<Sent>::new());
    assert_eq!(roots(h.slack()).len(), 3);
}

#[tokio::test]
async fn rate_limits_are_honoured_and_errors_retried_without_duplicates() {
    let h = slack().await;
    let fake = h.slack();
    fake.inject(
        "chat.postMessage",
        Fault::RateLimited { retry_after: 600 },
        1,
    );
    fake.inject("conversations.create", Fault::Error("internal_error"), 1);
    fake.inject("conversations.setPurpose", Fault::Status(503), 1);
    let d = h.run().await.delivered;
    assert_eq!(d.failed, 3, "{d:?}");
    // Back-off has passed for the error, not for the rate limit (10 minutes).
    h.later(2);
    h.deliver().await;
    assert_eq!(roots(fake).len(), 2);
    h.later(9);
    h.deliver().await;
    assert_eq!(roots(fake).len(), 3);
    assert_eq!(h.app.store.pending_outbox().await.unwrap(), 0);
    assert_eq!(channel_names(fake).len(), 2);
    first_run(fake);
}

#[tokio::test]
async fn an_archived_channel_keeps_its_name_and_the_next_one_is_used() {
    let h = slack().await;
    let fake = h.slack();
    // The incident ids are known in advance: the demo opens them in rule order.
    for id in 1..=3 {
        fake.channel(&format!("inc-20261120-{id}-orders-without-payment"), true);
    }
    h.run().await;
    let commerce = h.incident("orders_without_payment").await;
    let ours = format!("inc-20261120-{commerce}-orders-without-payment-2");
    let created: Vec<String> = fake
        .take_sent()
        .into_iter()
        .filter(|s| s.method == "conversations.create")
        .map(|s| s.channel)
        .collect();
    assert!(created.contains(&ours), "{created:?}");
    assert_eq!(created.len(), 2, "{created:?}");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_opening_make_one_channel() {
    let h = slack().await;
    // Run without delivering, then deliver the same row twice at once through the
    // process's one Slack notifier (its per-incident lock serialises them).
    let m = h.app.rules.get("orders_without_payment").unwrap().clone();
    h.app.run_monitors(&[m]).await.unwrap();
    let item = h.app.store.due_outbox(h.clock.now(), 10).await.unwrap();
    let n =
        &ripple::notify::Notification::from_payload(&item[0].payload, item[0].incident_id).unwrap();
    let a = h.app.slack.clone().expect("Slack is configured");
    let (ra, rb) = tokio::join!(a.deliver(n), a.deliver(n));
    ra.unwrap();
    rb.unwrap();
    assert_eq!(Sent::methods(&h.slack().take_sent()), CHANNEL_OPENING);
}

#[tokio::test]
async fn consumers_are_invited_when_the_team_allows_and_impact_can_escalate() {
    let h = Harness::options()
        .slack()
        .tweak(|cfg| cfg.teams[0].slack_invite_consumers = Some(true))
        .start()
        .await;
    let fake = h.slack();
    for i in 1..=40 {
        fake.user(
            &format!("analyst{i:02}@acme.example"),
            &format!("U00ANLST{i:02}"),
        );
    }
    // Usage statistics first, as `run_once` does, so the report names people.
    h.app.refresh_usage().await.unwrap();
    let m = h.app.rules.get("orders_without_payment").unwrap().clone();
    h.app.run_monitors(&[m]).await.unwrap();
    let id = h.incident("orders_without_payment").await;
    let n = ripple::notify::Notification::opened(&h.app.store, id)
        .await
        .unwrap()
        .unwrap();
    let people = &n.impact.as_ref().expect("the demo has impact").notify;
    let top = h.config().slack.unwrap().impact_top.max(1) * 2;
    assert!(people.len() > top, "more readers than are invited");
    let slack = h.app.slack.clone().unwrap();
    slack.deliver(&n).await.unwrap();

    // Exactly the responder group and the most active readers, by their Slack ids.
    let mut expected: BTreeSet<String> = ["U0000ONCALL", "U000000SRE"].map(String::from).into();
    for p in people.iter().take(top) {
        let nn = p
            .user
            .trim_start_matches("analyst")
            .trim_end_matches("@acme.example");
        expected.insert(format!("U00ANLST{nn}"));
    }
    let chan = fake
        .channels()
        .into_iter()
        .find(|c| c.name.starts_with("inc-"))
        .unwrap();
    assert_eq!(chan.members, expected);
    let sent = fake.take_sent();
    assert_eq!(Sent::methods(&sent), CHANNEL_OPENING);
    let invited: BTreeSet<String> = sent[3].text.split(',').map(String::from).collect();
    assert_eq!(invited, expected, "one batch");
    // The people to notify are mentioned as Slack users, not named by e-mail.
    let blocks = roots(fake)
        .pop()
        .expect("a root message")
        .blocks
        .to_string();
    assert!(blocks.contains("<@U00ANLST"), "{blocks}");

    // A medium incident escalates when its best impacted table scores above the bar.
    let mut medium = n.clone();
    medium.severity = "medium".into();
    assert!(
        !slack.escalates(&medium),
        "impact escalation is off in this config"
    );
    let by_impact = Harness::options()
        .slack()
        .tweak(|cfg| cfg.slack.as_mut().unwrap().escalate.min_impact_score = Some(0.0))
        .start()
        .await;
    assert!(by_impact.app.slack.as_ref().unwrap().escalates(&medium));
}

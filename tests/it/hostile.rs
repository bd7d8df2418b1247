//! Hostile text in every field a person types after `/ripple`, in a button's payload, and
//! in a rule's prose and its failing rows: whatever comes back — replies, response_url
//! answers, roots, thread replies, GitHub issues and comments — carries no live Slack
//! mention, channel link or URL, and pings nobody on GitHub.

use super::slack_commands::{Server, command, form, serve};
use super::support::Harness;
use ripple::clock::Clock;

/// Every Slack control a person might try, and a GitHub team mention.
const HOSTILE: &str = "<!channel> <!everyone> <!here> <!subteam^S0EVIL> <@U0EVIL> <#C0EVIL> <https://evil.example|click> @octo-org/everyone";

/// The controls of [`HOSTILE`] found live in `text`.
fn live_in_slack(text: &str) -> Vec<&'static str> {
    [
        "<!channel>",
        "<!everyone>",
        "<!here>",
        "<!subteam^S0EVIL>",
        "<@U0EVIL>",
        "<#C0EVIL>",
        "<https://evil",
    ]
    .into_iter()
    .filter(|t| text.contains(t))
    .collect()
}

/// A mention GitHub would act on: outside fenced code (where GitHub never mentions).
fn pings_on_github(body: &serde_json::Value) -> bool {
    let text = match body.get("body").and_then(|b| b.as_str()) {
        Some(markdown) => markdown,
        None => return body.to_string().contains("@octo-org"),
    };
    let mut fenced = false;
    text.lines().any(|line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        !fenced && line.contains("@octo-org")
    })
}

/// Commands whose every argument is hostile: unknown names, bad numbers, bad
/// durations, and the free text of a silence and a resolve.
fn quick_commands() -> Vec<String> {
    [
        "status {H}",
        "ack {H}",
        "resolve {H}",
        "resolve 3 {H}",
        "silence {H} 1h {H}",
        "silence payments_duplicated {H}",
        "silence payments_duplicated 2h {H}",
        "lineage {H} shop.orders",
        "{H}",
        "status",
    ]
    .iter()
    .map(|c| c.replace("{H}", HOSTILE))
    .collect()
}

/// Slow commands answer twice: the ack echoes the text, the answer comes later.
fn slow_commands() -> Vec<String> {
    [
        "impact {H}",
        "lineage up {H}",
        "run {H}",
        "run hostile_prose",
    ]
    .iter()
    .map(|c| c.replace("{H}", HOSTILE))
    .collect()
}

/// A monitor whose description and failing rows are hostile, added as a reload adds it.
fn add_hostile_rule(srv: &Server) {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(super::support::repo().join("rules")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let quoted = HOSTILE.replace('\'', "");
    let rule = format!(
        "monitors:\n  - id: hostile_prose\n    team: finance\n    description: \"Call {quoted}\"\n    schedule: {{ cron: \"*/5 * * * *\", timezone: UTC }}\n    owners: [mika]\n    sql: SELECT '{quoted}' AS who FROM finance.payments LIMIT 2\n"
    );
    std::fs::write(dir.path().join("hostile.yaml"), rule).unwrap();
    let app = srv.live.app();
    let rules = ripple::rules::load_dir(dir.path(), &app.config);
    assert!(rules.problems.is_empty(), "{:?}", rules.problems);
    srv.live.replace(app.with_rules(rules));
}

async fn click_hostile_button(h: &Harness, srv: &Server, n: usize) {
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U0HANA"},
        "response_url": format!("{}/respond/{n}", h.slack().url),
        "actions": [
            {"action_id": HOSTILE, "value": "1", "type": "button"},
            {"action_id": "ripple_ack", "value": HOSTILE, "type": "button"},
        ],
    });
    let body = form(&[("payload", &payload.to_string())]);
    let now = h.clock.now().timestamp();
    let res = srv.post("/slack/interactivity", body, now, "shh").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn hostile_text_is_echoed_inert_everywhere() {
    let h = Harness::options().slack().github().start().await;
    h.run().await;
    h.slack().take_sent();
    h.github().take_log();
    let srv = serve(&h).await;
    add_hostile_rule(&srv);
    let mut echoed = vec![];
    for text in quick_commands() {
        echoed.push(command(&h, &srv, &text, 0).await);
    }
    for (i, text) in slow_commands().iter().enumerate() {
        echoed.push(command(&h, &srv, text, i + 1).await);
        h.slack().wait_responses(i + 1).await;
    }
    click_hostile_button(&h, &srv, 99).await;
    let answers = h.slack().wait_responses(slow_commands().len() + 2).await;
    h.deliver().await;
    echoed.extend(answers.iter().map(|v| v.to_string()));
    // The echoes really carry the hostile text (escaped), so the test sees them at all.
    let all = echoed.join("\n");
    assert!(all.contains("&lt;!channel&gt;"), "{all}");
    for e in &echoed {
        assert_eq!(live_in_slack(e), Vec::<&str>::new(), "{e}");
    }
    // Everything Ripple wrote to Slack: the resolve's reply and edit, the hostile
    // monitor's channel and root.
    let sent = h.slack().take_sent();
    assert!(
        sent.iter().any(|s| s.text.contains("hostile_prose")),
        "{sent:#?}"
    );
    let messages = h.slack().messages();
    let blocks = messages
        .iter()
        .map(|m| m.blocks.to_string())
        .collect::<String>();
    assert!(blocks.contains("&lt;!channel&gt;"), "{blocks}");
    for m in messages {
        let text = format!("{} {}", m.text, m.blocks);
        assert_eq!(live_in_slack(&text), Vec::<&str>::new(), "{text}");
    }
    for c in h.slack().channels() {
        let text = format!("{} {} {}", c.name, c.purpose, c.topic);
        assert_eq!(live_in_slack(&text), Vec::<&str>::new(), "{text}");
    }
    // GitHub: the hostile monitor's issue and the resolve's comment ping nobody.
    let log = h.github().take_log();
    assert!(log.iter().any(|r| r.method == "POST"), "{log:#?}");
    for r in &log {
        assert!(!pings_on_github(&r.body), "{}", r.body);
    }
}

//! Digests: catch-up after downtime, the all-clear edited in place, `--now` from the
//! command line.

use super::support::{Harness, config_text, repo, seed};
use chrono::{DateTime, Duration, Utc};
use ripple::digest::sink::ConsoleSink;
use std::sync::{Arc, Mutex};

const DIGEST: &str = "digests:\n  - name: morning\n    channel: \"#data-commerce\"\n    times: [\"09:00\", \"17:00\"]\n    timezone: UTC\n    filter: { teams: [commerce] }\n    stale_after: 1h\n";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn with_sink(demo: &mut Harness) -> Arc<Mutex<Vec<u8>>> {
    let (sink, buf) = ConsoleSink::buffer();
    demo.app.set_digest_sink(Arc::new(sink));
    buf
}

fn take(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8(std::mem::take(&mut *buf.lock().unwrap())).unwrap()
}

#[tokio::test]
async fn a_slot_missed_while_down_is_sent_once_on_start() {
    let mut demo = Harness::with_config(DIGEST).await;
    let buf = with_sink(&mut demo);
    demo.app.run_once().await.unwrap();
    // Ripple knows the digest from 00:00; nothing due yet.
    assert!(demo.app.send_due_digests().await.unwrap().is_empty());
    // Down from 00:00 to 10:30: on start, the 09:00 slot goes out, once.
    demo.clock.set(t("2026-11-20T10:30:00Z"));
    demo.restart().await;
    let buf2 = with_sink(&mut demo);
    let sent = demo.app.send_due_digests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].slot, Some(t("2026-11-20T09:00:00Z")));
    let text = take(&buf2);
    assert!(
        text.contains("Ripple digest `morning` for #data-commerce"),
        "{text}"
    );
    assert!(text.contains("1 open, 1 open longer than 1h"), "{text}");
    assert!(text.contains("STALE #"), "{text}");
    assert!(
        text.contains("orders_without_payment — failing, open 10h 30m, owners @hana @kenji"),
        "{text}"
    );
    assert!(!text.contains("finance"), "filtered to commerce: {text}");
    assert!(demo.app.send_due_digests().await.unwrap().is_empty());
    demo.restart().await;
    assert!(
        demo.app.send_due_digests().await.unwrap().is_empty(),
        "not again after a restart"
    );
    assert_eq!(take(&buf), "");
}

#[tokio::test]
async fn an_all_clear_is_edited_in_place_not_posted_again() {
    let mut demo = Harness::with_config(DIGEST).await;
    let buf = with_sink(&mut demo);
    let cfg = demo.app.digest_config("morning").unwrap().clone();
    let slot = |h: i64| Some(t("2026-11-20T09:00:00Z") + Duration::hours(h));
    let first = demo.app.send_digest(&cfg, slot(0)).await.unwrap().unwrap();
    assert!(first.all_clear && first.action == "post");
    demo.clock.advance(Duration::hours(8));
    let second = demo.app.send_digest(&cfg, slot(8)).await.unwrap().unwrap();
    assert_eq!((second.action, &second.handle), ("edit", &first.handle));
    let text = take(&buf);
    assert_eq!(text.matches(" post ").count(), 1, "{text}");
    assert!(text.contains(&format!("edit {}", first.handle)), "{text}");
    // Something opens: a new message; once it is fixed, a new all-clear (not an edit
    // of the old one, which is no longer the latest message).
    demo.app.run_once().await.unwrap();
    let listed = demo.app.send_digest(&cfg, slot(24)).await.unwrap().unwrap();
    assert!(!listed.all_clear && listed.action == "post");
    demo.warehouse_exec("finance", "INSERT INTO payments (id, order_id, amount, method, paid_at) SELECT id, id, amount, 'card', processed_at FROM shop.orders WHERE id IN (57, 131, 288)");
    demo.app.run_once().await.unwrap();
    let clear = demo.app.send_digest(&cfg, slot(32)).await.unwrap().unwrap();
    assert!(clear.all_clear && clear.action == "post" && clear.handle != first.handle);
    let again = demo.app.send_digest(&cfg, slot(48)).await.unwrap().unwrap();
    assert_eq!((again.action, &again.handle), ("edit", &clear.handle));
    assert!(
        demo.app
            .send_digest(&cfg, slot(48))
            .await
            .unwrap()
            .is_none(),
        "a slot goes out once"
    );
    let sends = demo.app.store.digest_sends("morning").await.unwrap();
    let actions: Vec<&str> = sends.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(actions, ["post", "edit", "post", "post", "edit"]);
}

#[test]
fn ripple_digest_now_prints_to_the_console() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let path = dir.path().join("ripple.yaml");
    std::fs::write(&path, config_text(dir.path(), DIGEST)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "digest",
            "morning",
            "--now",
            "--config",
            path.to_str().unwrap(),
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("[digest morning → #data-commerce] post console:morning:"),
        "{stdout}"
    );
    assert!(stdout.contains("all clear, nothing open"), "{stdout}");
}

//! Silences: the monitor runs and its incident tracks the truth; nobody is told until the
//! silence ends, and then they are told at once.

use super::support::Harness;
use chrono::Duration;
use std::time::Duration as Std;

#[tokio::test]
async fn a_silenced_failure_opens_quietly_and_is_announced_when_the_silence_ends() {
    let demo = Harness::new().await;
    let s = demo
        .app
        .silence(
            "orders_without_payment",
            Std::from_secs(3600),
            "backfill",
            "ana",
        )
        .await
        .unwrap();
    assert_eq!(s.until, demo.clock_now() + Duration::hours(1));
    demo.app.run_once().await.unwrap();
    let open = demo
        .app
        .store
        .open_incident_for("orders_without_payment")
        .await
        .unwrap()
        .unwrap();
    let console = demo.take_console();
    assert!(!console.contains("orders_without_payment"), "{console}");
    assert_eq!(
        console.matches("OPENED").count(),
        2,
        "the other failures are still told"
    );
    let kinds = demo.timeline_kinds(open.id).await;
    assert_eq!(kinds, ["opened (silenced)"]);

    demo.clock.advance(Duration::minutes(30));
    demo.app.run_once().await.unwrap();
    assert_eq!(demo.take_console(), "", "still silenced");

    demo.clock.advance(Duration::minutes(31));
    demo.app.run_once().await.unwrap();
    let console = demo.take_console();
    assert!(
        console.contains(&format!(
            "incident #{} REMINDER commerce/orders_without_payment",
            open.id
        )),
        "{console}"
    );
    assert_eq!(console.matches("incident #").count(), 1, "{console}");
}

#[tokio::test]
async fn silences_are_listed_lifted_and_validated() {
    let demo = Harness::new().await;
    demo.app
        .silence("orders_without_payment", Std::from_secs(600), "", "ana")
        .await
        .unwrap();
    let list = demo.app.silences().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reason, "no reason given");
    assert_eq!(
        demo.app.unsilence("orders_without_payment").await.unwrap(),
        1
    );
    assert!(demo.app.silences().await.unwrap().is_empty());

    let typo = demo
        .app
        .silence("orders_without_paymnt", Std::from_secs(60), "x", "ana")
        .await
        .unwrap_err();
    assert_eq!(
        typo.to_string(),
        "no monitor `orders_without_paymnt`; did you mean `orders_without_payment`?"
    );
    let long = demo
        .app
        .silence(
            "orders_without_payment",
            Std::from_secs(90 * 86400),
            "x",
            "ana",
        )
        .await
        .unwrap_err();
    assert!(
        long.to_string().contains("at most") || long.to_string().contains("between"),
        "{long}"
    );
}

/// A silence lasts 1 minute to 30 days: out of range is refused with the range, never
/// clamped (`99999999999999d` once became 30 days while `31d` was refused).
#[tokio::test]
async fn out_of_range_silences_are_refused_not_clamped() {
    let demo = Harness::new().await;
    let silence = |d: Std| demo.app.silence("orders_without_payment", d, "x", "ana");
    let refused = [
        (
            Std::from_secs(99_999_999_999_999 * 86400),
            "more than 100 years",
        ),
        (Std::from_secs(u64::MAX), "more than 100 years"),
        (Std::from_secs(31 * 86400), "31d"),
        (Std::from_secs(30), "30s"),
        (Std::ZERO, "0s"),
    ];
    for (d, shown) in refused {
        let e = silence(d).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("a silence must be between 1m and 30d (got {shown})")
        );
    }
    assert!(
        demo.app.silences().await.unwrap().is_empty(),
        "nothing was silenced"
    );
    for d in [Std::from_secs(60), Std::from_secs(30 * 86400)] {
        let s = silence(d).await.unwrap();
        assert_eq!(s.until, demo.clock_now() + Duration::from_std(d).unwrap());
    }
}

/// The same through `ripple silence`: exit 2 and the range, nothing silenced.
#[test]
fn the_cli_refuses_an_out_of_range_silence() {
    let dir = tempfile::tempdir().unwrap();
    super::support::seed(dir.path());
    let cfg = dir.path().join("ripple.yaml");
    std::fs::write(&cfg, super::support::config_text(dir.path(), "")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "silence",
            "orders_without_payment",
        ])
        .args(["99999999999999d", "forever"])
        .env_remove("RIPPLE_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: a silence must be between 1m and 30d (got more than 100 years)"),
        "{stderr}"
    );
}

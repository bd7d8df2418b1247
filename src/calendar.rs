//! When digest slots fall: local times on chosen weekdays in an IANA zone, minus
//! holidays. Pure; DST is resolved here once for every caller.
//!
//! A local time skipped by a spring-forward gap is sent at the first instant after
//! the gap; a time repeated by a fall-back overlap is sent once, at its first
//! occurrence.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// A parsed digest schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSchedule {
    pub times: Vec<NaiveTime>,
    /// Empty means every day.
    pub weekdays: Vec<Weekday>,
    pub tz: Tz,
    pub holidays: BTreeSet<NaiveDate>,
}

/// How far back to look for the latest slot: a long holiday list must not loop forever.
const LOOKBACK_DAYS: i64 = 400;

impl DigestSchedule {
    pub fn parse(
        times: &[String],
        weekdays: &[String],
        tz: &str,
        holidays: &[String],
    ) -> Result<Self, String> {
        if times.is_empty() {
            return Err("needs at least one time, like `times: [\"09:00\"]`".into());
        }
        let times = times
            .iter()
            .map(|t| {
                NaiveTime::parse_from_str(t, "%H:%M")
                    .map_err(|_| format!("invalid time `{t}`; write it as `HH:MM` (24-hour)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let weekdays = weekdays
            .iter()
            .map(|d| {
                d.parse::<Weekday>()
                    .map_err(|_| format!("invalid weekday `{d}`; use mon, tue, … sun"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tz: Tz = tz
            .parse()
            .map_err(|_| format!("unknown time zone `{tz}`; use an IANA name like `Asia/Tokyo`"))?;
        let holidays = holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h, "%Y-%m-%d")
                    .map_err(|_| format!("invalid holiday `{h}`; write it as `YYYY-MM-DD`"))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(DigestSchedule {
            times,
            weekdays,
            tz,
            holidays,
        })
    }

    /// The slots on local date `day`, in time order (none on holidays and other weekdays).
    pub fn slots_on(&self, day: NaiveDate) -> Vec<DateTime<Utc>> {
        let weekday_ok = self.weekdays.is_empty() || self.weekdays.contains(&day.weekday());
        if !weekday_ok || self.holidays.contains(&day) {
            return vec![];
        }
        let mut out: Vec<DateTime<Utc>> = self
            .times
            .iter()
            .filter_map(|t| self.instant(day, *t))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn instant(&self, day: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
        let local = day.and_time(t);
        let resolved = self.tz.from_local_datetime(&local).earliest().or_else(|| {
            // In a spring-forward gap: the first valid instant after it.
            (1..=180).find_map(|m| {
                let later = local + Duration::minutes(m);
                self.tz.from_local_datetime(&later).earliest()
            })
        })?;
        Some(resolved.with_timezone(&Utc))
    }

    /// The latest slot at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = t.with_timezone(&self.tz).date_naive();
        // Tomorrow too: a gap-shifted slot can land on the next UTC/local boundary.
        (-1..LOOKBACK_DAYS).find_map(|back| {
            let day = today - Duration::days(back);
            self.slots_on(day).into_iter().rev().find(|s| *s <= t)
        })
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = t.with_timezone(&self.tz).date_naive();
        (-1..LOOKBACK_DAYS).find_map(|ahead| {
            let day = today + Duration::days(ahead);
            self.slots_on(day).into_iter().find(|s| *s > t)
        })
    }
}

/// The slot owed at `now`, if any: the latest slot not yet sent, no older than
/// `catch_up`, and not before Ripple first knew the digest (a new digest owes nothing
/// from before it existed). Catching up sends only the latest missed slot, once.
pub fn due_slot(
    schedule: &DigestSchedule,
    last_sent_slot: Option<DateTime<Utc>>,
    known_since: DateTime<Utc>,
    now: DateTime<Utc>,
    catch_up: std::time::Duration,
) -> Option<DateTime<Utc>> {
    let slot = schedule.latest_at_or_before(now)?;
    let fresh = now - slot <= Duration::from_std(catch_up).unwrap_or(Duration::zero());
    let unsent = last_sent_slot.is_none_or(|last| slot > last);
    (fresh && unsent && slot >= known_since).then_some(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(times: &[&str], days: &[&str], tz: &str, hol: &[&str]) -> DigestSchedule {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        DigestSchedule::parse(&s(times), &s(days), tz, &s(hol)).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekdays_and_holidays_skip_days() {
        let s = sched(&["09:00"], &["mon", "fri"], "Asia/Tokyo", &["2026-11-23"]);
        // 2026-11-20 is a Friday; 09:00 Tokyo is 00:00 UTC.
        assert_eq!(s.slots_on(d("2026-11-20")), [t("2026-11-20T00:00:00Z")]);
        assert!(s.slots_on(d("2026-11-21")).is_empty(), "Saturday");
        assert!(s.slots_on(d("2026-11-23")).is_empty(), "a Monday holiday");
        assert_eq!(
            s.next_after(t("2026-11-20T00:00:00Z")),
            Some(t("2026-11-27T00:00:00Z")),
            "next Friday: Monday is a holiday"
        );
    }

    #[test]
    fn dst_spring_forward_sends_after_the_gap_and_fall_back_sends_once() {
        // Europe/Paris: 2026-03-29 02:00 → 03:00; 2026-10-25 03:00 → 02:00.
        let s = sched(&["02:30"], &[], "Europe/Paris", &[]);
        assert_eq!(s.slots_on(d("2026-03-29")), [t("2026-03-29T01:00:00Z")]);
        assert_eq!(s.slots_on(d("2026-10-25")), [t("2026-10-25T00:30:00Z")]);
        // The wall-clock time stays put across the change: 09:00 local either side.
        let s = sched(&["09:00"], &[], "Europe/Paris", &[]);
        assert_eq!(s.slots_on(d("2026-03-28")), [t("2026-03-28T08:00:00Z")]);
        assert_eq!(s.slots_on(d("2026-03-30")), [t("2026-03-30T07:00:00Z")]);
    }

    #[test]
    fn catch_up_sends_the_latest_missed_slot_once() {
        let s = sched(&["09:00", "17:00"], &[], "UTC", &[]);
        let known = t("2026-11-01T00:00:00Z");
        let last = Some(t("2026-11-20T09:00:00Z"));
        let catch_up = std::time::Duration::from_secs(12 * 3600);
        // Down from 10:00 to 18:30: the 17:00 slot is owed once.
        let now = t("2026-11-20T18:30:00Z");
        let due = due_slot(&s, last, known, now, catch_up);
        assert_eq!(due, Some(t("2026-11-20T17:00:00Z")));
        assert_eq!(due_slot(&s, due, known, now, catch_up), None);
        // Down for two days: only a slot within `catch_up` is worth sending.
        let late = t("2026-11-23T04:00:00Z");
        assert_eq!(
            due_slot(&s, last, known, late, catch_up),
            Some(t("2026-11-22T17:00:00Z"))
        );
        let later = t("2026-11-23T08:59:00Z");
        let short = std::time::Duration::from_secs(3600);
        assert_eq!(due_slot(&s, last, known, later, short), None);
    }

    #[test]
    fn a_new_digest_owes_nothing_from_before_it_existed() {
        let s = sched(&["09:00"], &[], "UTC", &[]);
        let now = t("2026-11-20T10:00:00Z");
        let day = std::time::Duration::from_secs(86400);
        assert_eq!(due_slot(&s, None, now, now, day), None);
    }
}

//! Text from outside — what people type after `/ripple`, rule descriptions, values the
//! warehouse returns — made inert before it is echoed into Slack mrkdwn or GitHub
//! Markdown. A leaf: no imports from the rest of the crate.
//!
//! Slack parses `<…>` as a control sequence anywhere in mrkdwn, code spans included
//! (`<!channel>`, `<@U…>`, `<https://…|label>`); its documented escape is `&amp;`,
//! `&lt;`, `&gt;` and nothing else. GitHub turns `@name` and `@org/team` into a mention
//! after Markdown is rendered, so a backslash does not stop it; a zero-width space
//! after the `@` does (what dependabot and renovate do), and it reads the same.

/// Slack mrkdwn: `&`, `<` and `>` as Slack's escapes, so no mention, channel link or
/// URL can be injected.
pub fn mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The zero-width space that breaks a GitHub mention without changing how it reads.
const ZWSP: char = '\u{200B}';

/// GitHub Markdown prose: every `@` followed by a name character gets a zero-width
/// space after it, so `@org/team` in user text or data pings nobody.
pub fn no_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '@'
            && chars
                .peek()
                .is_some_and(|n| n.is_alphanumeric() || *n == '-')
        {
            out.push(ZWSP);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_controls_are_escaped_and_nothing_else() {
        assert_eq!(
            mrkdwn("<!channel> & <@U1> <https://x|y> *b* `c`"),
            "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt; *b* `c`"
        );
        // An escape typed by the user stays an escape of itself, not a way back in.
        assert_eq!(mrkdwn("&lt;!here&gt;"), "&amp;lt;!here&amp;gt;");
    }

    #[test]
    fn github_mentions_are_broken_but_read_the_same() {
        let out = no_mentions("ping @octo-org/team and @bob, mail a@b.c, lone @ sign");
        assert!(!out.contains("@octo"), "{out:?}");
        assert!(!out.contains("@bob"), "{out:?}");
        assert_eq!(
            out.replace(ZWSP, ""),
            "ping @octo-org/team and @bob, mail a@b.c, lone @ sign"
        );
        assert!(out.contains("lone @ sign"));
    }
}

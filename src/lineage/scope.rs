//! The scope stack: which names are CTEs and which are range variables
//! (table aliases) at a given point of the walk.
//!
//! BigQuery rules modelled here: a CTE name shadows only *unqualified* table
//! references, only inside the query that defines it (and queries nested in
//! it), and only after its definition (before it, for `WITH RECURSIVE`). CTE
//! names and aliases compare case-insensitively. A path whose first part is a
//! range variable in scope (`FROM t, t.arr`) is an array path, not a table.

/// A stack of frames; each frame owns the CTE names and aliases bound in it.
/// Names are stored flat (two vectors + frame marks) so pushing and popping a
/// frame never allocates once the vectors have grown.
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    ctes: Vec<String>,
    aliases: Vec<String>,
    frames: Vec<(usize, usize)>,
}

impl Scopes {
    pub(crate) fn push(&mut self) {
        self.frames.push((self.ctes.len(), self.aliases.len()));
    }

    pub(crate) fn pop(&mut self) {
        if let Some((c, a)) = self.frames.pop() {
            self.ctes.truncate(c);
            self.aliases.truncate(a);
        }
    }

    pub(crate) fn bind_cte(&mut self, name: &str) {
        self.ctes.push(name.to_string());
    }

    pub(crate) fn bind_alias(&mut self, name: &str) {
        if !name.is_empty() {
            self.aliases.push(name.to_string());
        }
    }

    pub(crate) fn is_cte(&self, name: &str) -> bool {
        self.ctes.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    pub(crate) fn is_alias(&self, name: &str) -> bool {
        self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// Forgets everything (between top-level statements).
    pub(crate) fn clear(&mut self) {
        self.ctes.clear();
        self.aliases.clear();
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_shadow_and_unwind() {
        let mut s = Scopes::default();
        s.push();
        s.bind_cte("Orders");
        s.push();
        s.bind_alias("o");
        assert!(s.is_cte("orders"));
        assert!(s.is_alias("O"));
        s.pop();
        assert!(!s.is_alias("o"));
        assert!(s.is_cte("ORDERS"));
        s.pop();
        assert!(!s.is_cte("orders"));
        s.pop(); // popping an empty stack is harmless
    }
}

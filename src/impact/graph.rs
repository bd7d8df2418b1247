//! The lineage graph as impact ranking sees it.

use super::report::Lineage;
use crate::lineage::graph::LineageGraph;

impl Lineage for LineageGraph {
    fn visit_downstream(&self, table: &str, visit: &mut dyn FnMut(&str, usize)) {
        self.for_each_downstream(table, None, |t, depth| visit(t, depth));
    }

    fn fanout(&self, table: &str) -> usize {
        self.for_each_downstream(table, Some(1), |_, _| {})
    }

    fn path(&self, from: &str, to: &str, depth: usize) -> Vec<String> {
        // Walk back from `to` only as deep as it lies: cheap on huge graphs.
        self.upstream(to, Some(depth))
            .into_iter()
            .find(|r| r.table == from)
            .map(|r| r.path.into_iter().rev().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_run_from_the_broken_table() {
        let g = LineageGraph::from_edges([("a", "b"), ("b", "c"), ("a", "x"), ("x", "c")]);
        let p = Lineage::path(&g, "a", "c", 2);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].as_str(), p[2].as_str()), ("a", "c"));
        assert_eq!(Lineage::fanout(&g, "a"), 2);
    }
}

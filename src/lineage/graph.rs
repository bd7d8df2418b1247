//! The lineage graph: tables as nodes, "feeds" edges carrying evidence.
//!
//! Built on petgraph's `Graph` with `u32` indices. Table names are interned
//! once (node index = name index), each table pair has one edge that records
//! its first evidence, its best confidence and how many pieces of evidence
//! support it. Traversals are index-based BFS over reusable per-thread
//! scratch buffers, so a query allocates only for its answer; cycles simply
//! stop at already-visited nodes.

use std::cell::RefCell;
use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use super::Confidence;

/// Where an edge was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    File,
    View,
    Job,
    /// Supplied directly (`from_edges`).
    Manual,
}

/// One piece of evidence: a file path, a view name, a job (index + user).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub name: String,
}

/// Edge payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeInfo {
    /// Index into [`LineageGraph::evidence`] of the first evidence seen.
    pub evidence: u32,
    /// The best confidence among all evidence for this edge.
    pub confidence: Confidence,
    /// How many pieces of evidence support the edge.
    pub support: u32,
}

/// A table reached by a traversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub table: String,
    /// Number of edges from the start.
    pub depth: usize,
    /// A shortest path, from the start table to `table` inclusive.
    pub path: Vec<String>,
}

#[derive(Debug, Default, Clone)]
pub struct LineageGraph {
    graph: DiGraph<(), EdgeInfo, u32>,
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    evidence: Vec<Evidence>,
}

impl LineageGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// A graph from plain `(upstream, downstream)` pairs.
    pub fn from_edges<I, A, B>(edges: I) -> Self
    where
        I: IntoIterator<Item = (A, B)>,
        A: AsRef<str>,
        B: AsRef<str>,
    {
        let mut g = Self::new();
        let ev = g.add_evidence(Evidence {
            kind: EvidenceKind::Manual,
            name: String::new(),
        });
        for (a, b) in edges {
            g.add_edge(a.as_ref(), b.as_ref(), ev, Confidence::High);
        }
        g
    }

    /// Interns a table; returns its node index.
    pub fn add_table(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.graph.add_node(()).index() as u32;
        let boxed: Box<str> = name.into();
        self.names.push(boxed.clone());
        self.index.insert(boxed, i);
        i
    }

    pub fn add_evidence(&mut self, ev: Evidence) -> u32 {
        self.evidence.push(ev);
        (self.evidence.len() - 1) as u32
    }

    /// Adds (or reinforces) the edge `from → to`. Self-loops are ignored:
    /// a table feeding itself says nothing about impact.
    pub fn add_edge(&mut self, from: &str, to: &str, evidence: u32, confidence: Confidence) {
        let a = self.add_table(from);
        let b = self.add_table(to);
        self.add_edge_ids(a, b, evidence, confidence);
    }

    pub fn add_edge_ids(&mut self, a: u32, b: u32, evidence: u32, confidence: Confidence) {
        if a == b {
            return;
        }
        let (na, nb) = (NodeIndex::new(a as usize), NodeIndex::new(b as usize));
        if let Some(e) = self.graph.find_edge(na, nb) {
            let info = &mut self.graph[e];
            info.support += 1;
            info.confidence = info.confidence.max(confidence);
        } else {
            let info = EdgeInfo {
                evidence,
                confidence,
                support: 1,
            };
            self.graph.add_edge(na, nb, info);
        }
    }

    pub fn contains(&self, table: &str) -> bool {
        self.index.contains_key(table)
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }

    /// All table names, in insertion order.
    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    /// Every edge as `(from, to, info)`.
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str, &EdgeInfo)> {
        self.graph.edge_references().map(|e| {
            (
                &*self.names[e.source().index()],
                &*self.names[e.target().index()],
                e.weight(),
            )
        })
    }

    /// The edge `from → to`, if any.
    pub fn edge(&self, from: &str, to: &str) -> Option<&EdgeInfo> {
        let a = NodeIndex::new(*self.index.get(from)? as usize);
        let b = NodeIndex::new(*self.index.get(to)? as usize);
        self.graph.find_edge(a, b).map(|e| &self.graph[e])
    }

    /// Tables fed (transitively) by `table`, nearest first, each with a
    /// shortest path. `max_depth: None` is unlimited. Unknown table → empty.
    pub fn downstream(&self, table: &str, max_depth: Option<usize>) -> Vec<Reached> {
        self.reach(table, Direction::Outgoing, max_depth)
    }

    /// Tables feeding (transitively) `table`; see [`Self::downstream`].
    pub fn upstream(&self, table: &str, max_depth: Option<usize>) -> Vec<Reached> {
        self.reach(table, Direction::Incoming, max_depth)
    }

    /// Allocation-free traversal for hot callers (impact ranking): calls
    /// `visit(table, depth)` for every reached table, nearest first; returns
    /// how many were reached.
    pub fn for_each_downstream(
        &self,
        table: &str,
        max_depth: Option<usize>,
        mut visit: impl FnMut(&str, usize),
    ) -> usize {
        let Some(&start) = self.index.get(table) else {
            return 0;
        };
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            self.bfs(start, Direction::Outgoing, max_depth, s);
            for &n in &s.order {
                visit(&self.names[n as usize], s.depth[n as usize] as usize);
            }
            s.order.len()
        })
    }

    fn reach(&self, table: &str, dir: Direction, max_depth: Option<usize>) -> Vec<Reached> {
        let Some(&start) = self.index.get(table) else {
            return Vec::new();
        };
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            self.bfs(start, dir, max_depth, s);
            s.order.iter().map(|&n| self.reached(start, n, s)).collect()
        })
    }

    fn reached(&self, start: u32, node: u32, s: &Scratch) -> Reached {
        let depth = s.depth[node as usize] as usize;
        let mut path = Vec::with_capacity(depth + 1);
        let mut cur = node;
        path.push(self.names[cur as usize].to_string());
        while cur != start {
            cur = s.parent[cur as usize];
            path.push(self.names[cur as usize].to_string());
        }
        path.reverse();
        Reached {
            table: self.names[node as usize].to_string(),
            depth,
            path,
        }
    }

    /// Breadth-first search from `start`; fills `s.order` with reached nodes
    /// (start excluded) and their parent/depth. Visited marks use an epoch so
    /// the buffers are never cleared.
    fn bfs(&self, start: u32, dir: Direction, max_depth: Option<usize>, s: &mut Scratch) {
        s.prepare(self.graph.node_count());
        let limit = max_depth.unwrap_or(usize::MAX);
        s.mark(start, start, 0);
        s.order.clear();
        let mut head = 0;
        s.queue.clear();
        s.queue.push(start);
        while head < s.queue.len() {
            let n = s.queue[head];
            head += 1;
            let d = s.depth[n as usize];
            if d as usize >= limit {
                continue;
            }
            for m in self
                .graph
                .neighbors_directed(NodeIndex::new(n as usize), dir)
            {
                let m = m.index() as u32;
                if s.seen[m as usize] != s.epoch {
                    s.mark(m, n, d + 1);
                    s.queue.push(m);
                    s.order.push(m);
                }
            }
        }
    }
}

/// Per-thread BFS buffers, reused across queries.
#[derive(Default)]
struct Scratch {
    seen: Vec<u32>,
    parent: Vec<u32>,
    depth: Vec<u32>,
    queue: Vec<u32>,
    order: Vec<u32>,
    epoch: u32,
}

impl Scratch {
    fn prepare(&mut self, n: usize) {
        if self.seen.len() < n {
            self.seen.resize(n, 0);
            self.parent.resize(n, 0);
            self.depth.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.seen.fill(0);
            self.epoch = 1;
        }
    }

    fn mark(&mut self, node: u32, parent: u32, depth: u32) {
        let i = node as usize;
        self.seen[i] = self.epoch;
        self.parent[i] = parent;
        self.depth[i] = depth;
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_paths_depth_limits_and_cycles() {
        let g = LineageGraph::from_edges([
            ("a", "b"),
            ("b", "c"),
            ("a", "c"),
            ("c", "d"),
            ("d", "b"), // cycle b → c → d → b
            ("a", "a"), // self-loop ignored
        ]);
        assert_eq!(g.node_count(), 4);
        assert_eq!(g.edge_count(), 5);
        let down = g.downstream("a", None);
        let mut tables: Vec<_> = down.iter().map(|r| (r.depth, r.table.as_str())).collect();
        tables.sort();
        assert_eq!(tables, vec![(1, "b"), (1, "c"), (2, "d")]);
        assert_eq!(down[2].path, vec!["a", "c", "d"]);
        assert_eq!(g.downstream("a", Some(1)).len(), 2);
        let up: Vec<_> = g
            .upstream("b", None)
            .into_iter()
            .map(|r| (r.depth, r.table))
            .collect();
        assert_eq!(up.len(), 3);
        assert_eq!(up[2], (2, "c".to_string()));
        assert!(g.downstream("zzz", None).is_empty());
        let mut n = 0;
        assert_eq!(g.for_each_downstream("b", None, |_, _| n += 1), 2);
        assert_eq!(n, 2);
    }

    #[test]
    fn edges_merge_evidence() {
        let mut g = LineageGraph::new();
        let e1 = g.add_evidence(Evidence {
            kind: EvidenceKind::File,
            name: "x.sql".into(),
        });
        g.add_edge("a", "b", e1, Confidence::Low);
        g.add_edge("a", "b", e1, Confidence::High);
        let info = g.edge("a", "b").unwrap();
        assert_eq!((info.support, info.confidence), (2, Confidence::High));
    }
}

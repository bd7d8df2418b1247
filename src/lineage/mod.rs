//! Table lineage: extraction from SQL, templates, fallback scanner, graph.

//! Deterministic generators for benchmarks and tests: a corpus of realistic
//! BigQuery statements and a large warehouse-shaped lineage graph.
//!
//! No `rand` dependency: a seeded xorshift generator makes every run produce
//! the same corpus, so benchmark figures are comparable across commits.
//! Compiled only into the benchmarks and the integration tests (`#[path]`), never into
//! the library; each user takes the part it needs.
#![allow(dead_code)]

use std::fmt::Write;

/// xorshift64* — small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One generated SQL file: where it lives (matching the pattern
/// `{dataset}/{table}/*.sql`) and its text.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    pub path: String,
    pub sql: String,
}

const PROJECT: &str = "gen-proj";
const DATASETS: usize = 30;

/// `count` statements over `tables` tables (spread over 30 datasets), mixing
/// CTEs, joins, subqueries, MERGE, INSERT…SELECT, CREATE TABLE AS, views,
/// UNNEST, wildcard tables, UPDATE…FROM and scripts with temp tables.
pub fn corpus(count: usize, tables: usize, seed: u64) -> Vec<GeneratedFile> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| {
            let target = table_name(i % tables.max(1), tables);
            let mut g = Gen {
                rng: &mut rng,
                tables,
                out: String::with_capacity(1024),
            };
            g.statement(i % 10, &target);
            let (ds, t) = split(&target);
            GeneratedFile {
                path: format!("{ds}/{t}/q_{i:05}.sql"),
                sql: g.out,
            }
        })
        .collect()
}

fn table_name(i: usize, tables: usize) -> String {
    let per = tables.div_ceil(DATASETS).max(1);
    format!("{PROJECT}.ds_{:02}.t_{:05}", i / per, i)
}

fn split(name: &str) -> (&str, &str) {
    let mut it = name.splitn(3, '.');
    let _ = it.next();
    (it.next().unwrap_or(""), it.next().unwrap_or(""))
}

struct Gen<'r> {
    rng: &'r mut Rng,
    tables: usize,
    out: String,
}

impl Gen<'_> {
    fn t(&mut self) -> String {
        table_name(self.rng.below(self.tables), self.tables)
    }

    fn col(&mut self) -> &'static str {
        const COLS: [&str; 8] = [
            "id", "user_id", "amount", "ts", "country", "status", "sku", "qty",
        ];
        COLS[self.rng.below(COLS.len())]
    }

    fn statement(&mut self, kind: usize, target: &str) {
        match kind {
            0 => self.select_with_ctes(),
            1 => self.insert_select(target),
            2 => self.merge(target),
            3 => self.ctas_unnest(target),
            4 => self.view_wildcard(target),
            5 => self.script(target),
            6 => self.window_qualify(),
            7 => self.update_from(target),
            8 => self.ctas_union(target),
            _ => self.insert_structs(target),
        }
    }

    fn select_with_ctes(&mut self) {
        let (a, b, c) = (self.t(), self.t(), self.t());
        let (c1, c2) = (self.col(), self.col());
        let _ = write!(
            self.out,
            "-- daily rollup\nWITH base AS (\n  SELECT {c1}, {c2}, DATE(ts) AS day, SAFE_CAST(amount AS NUMERIC) AS amt\n  FROM `{a}`\n  WHERE ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)\n),\nenriched AS (\n  SELECT b.*, d.country AS dim_country, COALESCE(d.segment, 'none') AS segment\n  FROM base b\n  LEFT JOIN `{b}` d ON d.id = b.{c1}\n)\nSELECT day, segment, COUNT(DISTINCT {c2}) AS n, SUM(amt) AS total\nFROM enriched\nWHERE segment IN (SELECT segment FROM `{c}` WHERE active)\nGROUP BY day, segment\nORDER BY day DESC\n"
        );
    }

    fn insert_select(&mut self, target: &str) {
        let (a, b) = (self.t(), self.t());
        let c = self.col();
        let _ = write!(
            self.out,
            "INSERT INTO `{target}` (id, {c}, loaded_at)\nSELECT s.id, s.{c}, CURRENT_TIMESTAMP()\nFROM `{a}` AS s\nJOIN `{b}` AS k ON k.id = s.id AND k.{c} IS NOT NULL\nWHERE NOT EXISTS (SELECT 1 FROM `{target}` t WHERE t.id = s.id)\n  AND s.ts > (SELECT MAX(ts) FROM `{b}`)\n"
        );
    }

    fn merge(&mut self, target: &str) {
        let (a, b) = (self.t(), self.t());
        let _ = write!(
            self.out,
            "MERGE `{target}` T\nUSING (\n  SELECT id, ANY_VALUE(status) AS status, MAX(ts) AS ts\n  FROM `{a}`\n  WHERE DATE(ts) = CURRENT_DATE()\n  GROUP BY id\n) S\nON T.id = S.id\nWHEN MATCHED AND S.ts > T.ts THEN\n  UPDATE SET status = S.status, ts = S.ts, tier = (SELECT tier FROM `{b}` x WHERE x.id = S.id)\nWHEN NOT MATCHED THEN\n  INSERT ROW\n"
        );
    }

    fn ctas_unnest(&mut self, target: &str) {
        let a = self.t();
        let _ = write!(
            self.out,
            "CREATE OR REPLACE TABLE `{target}`\nPARTITION BY DATE(ts)\nCLUSTER BY sku\nAS\nSELECT o.id, o.ts, item.sku, item.qty, tag\nFROM `{a}` AS o, o.items AS item\nCROSS JOIN UNNEST(item.tags) AS tag\nWHERE item.qty > 0\n"
        );
    }

    fn view_wildcard(&mut self, target: &str) {
        let n = self.rng.below(900) + 100;
        let _ = write!(
            self.out,
            "CREATE OR REPLACE VIEW `{target}` AS\nSELECT event_name, COUNT(*) AS events, APPROX_COUNT_DISTINCT(user_pseudo_id) AS users\nFROM `{PROJECT}.analytics_{n}.events_*`\nWHERE _TABLE_SUFFIX BETWEEN FORMAT_DATE('%Y%m%d', DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY))\n  AND FORMAT_DATE('%Y%m%d', CURRENT_DATE())\nGROUP BY event_name\n"
        );
    }

    fn script(&mut self, target: &str) {
        let (a, b) = (self.t(), self.t());
        let _ = write!(
            self.out,
            "DECLARE cutoff DATE DEFAULT (SELECT MAX(day) FROM `{target}`);\nCREATE TEMP TABLE staged AS\nSELECT * FROM `{a}` WHERE DATE(ts) > cutoff;\nCREATE TEMP TABLE joined AS\nSELECT s.*, r.rate FROM staged s JOIN `{b}` r USING (country);\nINSERT INTO `{target}`\nSELECT DATE(ts) AS day, country, SUM(amount * rate) AS revenue FROM joined GROUP BY 1, 2;\n"
        );
    }

    fn window_qualify(&mut self) {
        let (a, b) = (self.t(), self.t());
        let c = self.col();
        let _ = write!(
            self.out,
            "SELECT id, {c}, ts,\n  LAG(ts) OVER (PARTITION BY id ORDER BY ts) AS prev_ts,\n  (SELECT COUNT(*) FROM `{b}` e WHERE e.id = a.id) AS n_events\nFROM `{a}` a\nWHERE a.status != 'deleted'\nQUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) = 1\n"
        );
    }

    fn update_from(&mut self, target: &str) {
        let a = self.t();
        let _ = write!(
            self.out,
            "UPDATE `{target}` t\nSET t.amount = s.amount, t.updated_at = CURRENT_TIMESTAMP()\nFROM `{a}` s\nWHERE t.id = s.id AND s.amount IS DISTINCT FROM t.amount\n"
        );
    }

    fn ctas_union(&mut self, target: &str) {
        let (a, b, c) = (self.t(), self.t(), self.t());
        let _ = write!(
            self.out,
            "CREATE TABLE IF NOT EXISTS `{target}` AS\nWITH x AS (SELECT id, amount FROM `{a}`),\n     y AS (SELECT id, amount FROM `{b}`)\nSELECT id, SUM(amount) AS amount FROM (\n  SELECT * FROM x UNION ALL SELECT * FROM y UNION ALL SELECT id, amount FROM `{c}`\n)\nGROUP BY id\n"
        );
    }

    fn insert_structs(&mut self, target: &str) {
        let a = self.t();
        let _ = write!(
            self.out,
            "INSERT INTO `{target}` (id, payload, tags)\nSELECT id,\n  STRUCT(status AS status, ts AS ts, JSON_VALUE(raw, '$.source') AS source) AS payload,\n  ARRAY(SELECT AS STRUCT k, v FROM UNNEST(attributes) WHERE v IS NOT NULL) AS tags\nFROM `{a}`\nWHERE REGEXP_CONTAINS(status, r'^(ok|done)$')\n"
        );
    }
}

/// Edges of a warehouse-shaped graph with exactly `edges` distinct edges.
///
/// Shape: domains of 1,000 tables, each made of 20 pipelines of 50 tables
/// (10 source tables, then transformations, the last 10 are marts). A
/// transformation reads earlier tables of its own pipeline; 0.3 % of edges
/// cross to another pipeline of the domain and 0.1 % bring a mart of one of
/// the 5 core domains (customers, calendar, …) into another domain. That
/// keeps impact local the way real warehouses are, while core tables still
/// reach across domains. Returns `(from, to)` pairs; names come from
/// [`big_table_name`].
pub fn warehouse_edges(tables: usize, edges: usize, seed: u64) -> Vec<(u32, u32)> {
    const DOMAIN: usize = 1_000;
    const PIPE: usize = 50;
    const SOURCES: usize = 10;
    const CORE_DOMAINS: usize = 5;
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(edges);
    let mut seen = std::collections::HashSet::with_capacity(edges);
    let domains = tables.div_ceil(DOMAIN);
    let max_edges = (tables / PIPE) * (PIPE - SOURCES) * (PIPE - 1);
    let target = edges.min(max_edges);
    while out.len() < target {
        let to = rng.below(tables);
        let q = to % PIPE;
        if q < SOURCES {
            continue;
        }
        let roll = rng.below(1_000);
        let from = if roll < 1 && to / DOMAIN >= CORE_DOMAINS {
            let d = rng.below(CORE_DOMAINS.min(domains));
            d * DOMAIN + rng.below(DOMAIN / PIPE) * PIPE + PIPE - 1 - rng.below(SOURCES)
        } else if roll < 4 {
            let domain_base = to - to % DOMAIN;
            domain_base + rng.below(DOMAIN / PIPE) * PIPE + rng.below(q)
        } else {
            to - q + rng.below(q)
        };
        if from != to && from < tables && seen.insert((from as u64) << 32 | to as u64) {
            out.push((from as u32, to as u32));
        }
    }
    out
}

pub fn big_table_name(i: u32) -> String {
    format!("proj-{}.domain_{:03}.table_{:06}", i % 7, i / 1_000, i)
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)] // unused where the file is included without its tests
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let a = corpus(20, 100, 7);
        let b = corpus(20, 100, 7);
        assert_eq!(a[13].sql, b[13].sql);
        assert!(a.iter().any(|f| f.sql.starts_with("MERGE")));
        assert!(a.iter().all(|f| f.path.ends_with(".sql")));
        let e = warehouse_edges(5_000, 20_000, 1);
        assert_eq!(e.len(), 20_000);
        let distinct: std::collections::HashSet<_> = e.iter().collect();
        assert_eq!(distinct.len(), e.len());
        assert!(e.iter().all(|&(f, t)| f != t && (t as usize) < 5_000));
    }

    #[test]
    fn generated_statements_parse() {
        let opts = ripple::lineage::ExtractOptions::default();
        for f in corpus(40, 300, 3) {
            let ex = ripple::lineage::extract(&f.sql, &opts);
            assert!(ex.parsed, "{}\n{:?}", f.sql, ex.problems);
            assert!(!ex.reads.is_empty(), "{}", f.sql);
        }
    }
}

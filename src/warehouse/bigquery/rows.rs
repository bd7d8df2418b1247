//! BigQuery's REST rows (`{"f":[{"v":…}]}`) as plain values: JSON objects for samples,
//! strings and string lists for metadata.

use gcp_bigquery_client::model::table_row::TableRow;
use gcp_bigquery_client::model::table_schema::TableSchema;
use serde_json::Value;
use std::collections::BTreeMap;

/// The first `limit` rows as `{column: value}` objects. Values stay as BigQuery sends
/// them (strings for numbers and timestamps): a sample is for people, not arithmetic.
pub fn sample(schema: Option<&TableSchema>, rows: &[TableRow], limit: u32) -> Vec<Value> {
    let names: Vec<&str> = schema
        .and_then(|s| s.fields.as_ref())
        .map(|f| f.iter().map(|f| f.name.as_str()).collect())
        .unwrap_or_default();
    rows.iter()
        .take(limit as usize)
        .map(|row| {
            let obj = cells(row).into_iter().enumerate().map(|(i, v)| {
                let name = names
                    .get(i)
                    .map_or_else(|| format!("f{i}"), |n| n.to_string());
                (name, v)
            });
            Value::Object(obj.collect())
        })
        .collect()
}

/// The row's cell values in column order.
pub fn cells(row: &TableRow) -> Vec<Value> {
    row.columns
        .iter()
        .flatten()
        .map(|c| c.value.clone().unwrap_or(Value::Null))
        .collect()
}

/// A scalar cell as text (`None` for NULL).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// An `ARRAY<STRING>` cell: `[{"v":"a"},{"v":"b"}]`.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("v").and_then(text))
        .collect()
}

/// An `ARRAY<STRUCT<key STRING, value STRING>>` cell (job labels):
/// `[{"v":{"f":[{"v":"k"},{"v":"v"}]}}]`.
pub fn pairs(v: &Value) -> BTreeMap<String, String> {
    let fields = |item: &Value| -> Option<(String, String)> {
        let f = item.get("v")?.get("f")?.as_array()?;
        let key = text(f.first()?.get("v")?)?;
        let value = f.get(1).and_then(|c| c.get("v")).and_then(text);
        Some((key, value.unwrap_or_default()))
    };
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(fields)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_cells_are_read() {
        let labels = json!([{"v": {"f": [{"v": "ripple_monitor"}, {"v": "m1"}]}}]);
        assert_eq!(pairs(&labels)["ripple_monitor"], "m1");
        assert_eq!(strings(&json!([{"v": "p.d.t"}])), ["p.d.t"]);
        assert_eq!(text(&Value::Null), None);
    }

    #[test]
    fn samples_are_named_by_the_schema() {
        let rows: Vec<TableRow> =
            serde_json::from_value(json!([{"f": [{"v": "1"}]}, {"f": [{"v": "2"}]}])).unwrap();
        let schema: TableSchema =
            serde_json::from_value(json!({"fields": [{"name": "id", "type": "INTEGER"}]})).unwrap();
        assert_eq!(sample(Some(&schema), &rows, 1), [json!({"id": "1"})]);
    }
}

//! Writing imported prices back into `pricing/bedrock.toml` in place: only the values that
//! changed are replaced, so the file's comments, order and layout stay as its authors left them.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use super::catalog::BedrockCatalog;

/// Why the edited catalog could not be produced; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogEditError {
    #[error("{origin}: {cause}")]
    Toml {
        origin: String,
        cause: toml_edit::TomlError,
    },
    #[error(
        "{origin}: holds {found} [[model]] tables where {expected} rows were read; write the \
         rows as [[model]] tables, one per price"
    )]
    Rows {
        origin: String,
        expected: usize,
        found: usize,
    },
    #[error("{origin}: row {row}: `{field}` cannot be written back ({reason})")]
    Field {
        origin: String,
        row: usize,
        field: String,
        reason: String,
    },
}

/// `text` (the catalog as read, parsed into `before`) with every value that differs in `after`
/// replaced, added or removed. Rows are matched by position: importers change prices of the
/// rows there are and may append rows, never remove or reorder them.
pub fn update_bedrock(
    text: &str,
    origin: &str,
    before: &BedrockCatalog,
    after: &BedrockCatalog,
) -> Result<String, CatalogEditError> {
    update_bedrock_noting(text, origin, before, after, None)
}

/// The order in which an appended row's fields are written (the struct's order); fields at
/// their default (`endpoint = "runtime"`, `legacy = false`, the regional profile is written)
/// are left out.
const FIELD_ORDER: [&str; 24] = [
    "model_id",
    "name",
    "region",
    "inference_profile",
    "endpoint",
    "legacy",
    "input_per_mtok",
    "output_per_mtok",
    "batch_input_per_mtok",
    "batch_output_per_mtok",
    "cache_write_per_mtok",
    "cache_read_per_mtok",
    "provisioned_per_model_unit_hour",
    "priority_input_per_mtok",
    "priority_output_per_mtok",
    "flex_input_per_mtok",
    "flex_output_per_mtok",
    "reserved_input_per_ktpm_month",
    "reserved_output_per_ktpm_month",
    "reserved_3mo_input_per_ktpm_month",
    "reserved_3mo_output_per_ktpm_month",
    "reserved_source",
    "source",
    "date",
];

/// As [`update_bedrock`]; rows `after` holds beyond `before`'s are appended as new
/// `[[model]]` tables, the first of them preceded by `note` (comment lines, each written with
/// a leading `# `) when given.
pub fn update_bedrock_noting(
    text: &str,
    origin: &str,
    before: &BedrockCatalog,
    after: &BedrockCatalog,
    note: Option<&str>,
) -> Result<String, CatalogEditError> {
    let mut document: DocumentMut = text.parse().map_err(|cause| CatalogEditError::Toml {
        origin: origin.to_string(),
        cause,
    })?;
    let rows_error = |found| CatalogEditError::Rows {
        origin: origin.to_string(),
        expected: before.model.len(),
        found,
    };
    if after.model.len() < before.model.len()
        || after.model[..before.model.len()]
            .iter()
            .zip(&before.model)
            .any(|(a, b)| a.model_id != b.model_id || a.region != b.region)
    {
        return Err(rows_error(after.model.len()));
    }
    if after.model.is_empty() {
        return Ok(text.to_string());
    }
    if before.model.is_empty() && document.get("model").is_none() {
        document.insert("model", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let tables = document
        .get_mut("model")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| rows_error(0))?;
    if tables.len() != before.model.len() {
        return Err(rows_error(tables.len()));
    }
    for (i, row) in after.model.iter().enumerate().skip(before.model.len()) {
        let field_error = |field: &str, reason: String| CatalogEditError::Field {
            origin: origin.to_string(),
            row: i + 1,
            field: field.to_string(),
            reason,
        };
        let values = fields(row).map_err(|e| field_error("*", e))?;
        let mut table = Table::new();
        for key in FIELD_ORDER {
            let Some(value) = values.get(key) else {
                continue;
            };
            let default = match key {
                "endpoint" => value.as_str() == Some("runtime"),
                "legacy" => value.as_bool() == Some(false),
                _ => false,
            };
            if !default {
                let value = edit_value(value).map_err(|e| field_error(key, e))?;
                table.insert(key, Item::Value(value));
            }
        }
        if let Some(key) = values.keys().find(|k| !FIELD_ORDER.contains(&k.as_str())) {
            return Err(field_error(key, "a field the writer does not know".into()));
        }
        let prefix = match note.filter(|_| i == before.model.len()) {
            Some(note) => {
                let comment: String = note.lines().map(|l| format!("# {l}\n")).collect();
                format!("\n{comment}\n")
            }
            None => "\n".to_string(),
        };
        table.decor_mut().set_prefix(prefix);
        tables.push(table);
    }
    for (row, ((old, new), table)) in before
        .model
        .iter()
        .zip(&after.model)
        .zip(tables.iter_mut().take(before.model.len()))
        .enumerate()
    {
        if old == new {
            continue;
        }
        let field_error = |field: &str, reason: String| CatalogEditError::Field {
            origin: origin.to_string(),
            row: row + 1,
            field: field.to_string(),
            reason,
        };
        let old = fields(old).map_err(|e| field_error("*", e))?;
        let new = fields(new).map_err(|e| field_error("*", e))?;
        for (key, value) in &new {
            if old.get(key) == Some(value) {
                continue;
            }
            let mut replacement = edit_value(value).map_err(|e| field_error(key, e))?;
            match table.get_mut(key) {
                // Replaced where it stands: the key, and any comment beside the value, stay.
                Some(item) => {
                    if let Some(previous) = item.as_value() {
                        *replacement.decor_mut() = previous.decor().clone();
                    }
                    *item = Item::Value(replacement);
                }
                None => {
                    table.insert(key, Item::Value(replacement));
                }
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            table.remove(key);
        }
    }
    Ok(document.to_string())
}

/// A row's fields as TOML values (optional prices that are unset are absent).
fn fields(row: &super::catalog::BedrockPrice) -> Result<toml::Table, String> {
    match toml::Value::try_from(row) {
        Ok(toml::Value::Table(table)) => Ok(table),
        Ok(other) => Err(format!("a row serialised as {}", other.type_str())),
        Err(error) => Err(error.to_string()),
    }
}

fn edit_value(value: &toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        other => return Err(format!("a {} value", other.type_str())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# Prices, USD per million tokens.\n\n\
        [[model]]\n\
        model_id = \"a.model-v1:0\"\n\
        name = \"A\"\n\
        region = \"us-east-1\"\n\
        # list price\n\
        input_per_mtok = 1.0 # per million input tokens\n\
        output_per_mtok = 2.0\n\
        source = \"page\"\n\
        date = \"2025-10\"\n\n\
        [[model]]\n\
        model_id = \"b.model-v1:0\"\n\
        name = \"B\"\n\
        region = \"us-east-1\"\n\
        input_per_mtok = 3.0\n\
        output_per_mtok = 4.0\n\
        source = \"page\"\n\
        date = \"2025-10\"\n";

    #[test]
    fn only_changed_values_move_and_comments_stay() {
        let before = BedrockCatalog::parse(TEXT, "b.toml").unwrap();
        let mut after = before.clone();
        after.model[0].input_per_mtok = 1.5;
        after.model[0].cache_read_per_mtok = Some(0.1);
        after.model[0].date = "2026-11-24".into();
        let text = update_bedrock(TEXT, "b.toml", &before, &after).unwrap();
        assert!(
            text.starts_with("# Prices, USD per million tokens.\n"),
            "{text}"
        );
        assert!(text.contains("# list price\ninput_per_mtok = 1.5 # per million input tokens\n"));
        assert!(text.contains("cache_read_per_mtok = 0.1"), "{text}");
        assert_eq!(BedrockCatalog::parse(&text, "b.toml").unwrap(), after);
        // The untouched row is byte for byte what it was.
        let tail = TEXT.split("[[model]]").nth(2).unwrap();
        assert!(text.ends_with(tail), "{text}");
        // Nothing changed: the text comes back as it was.
        assert_eq!(
            update_bedrock(TEXT, "b.toml", &before, &before).unwrap(),
            TEXT
        );
    }

    #[test]
    fn appended_rows_follow_with_a_note_and_the_rest_stays() {
        let before = BedrockCatalog::parse(TEXT, "b.toml").unwrap();
        let mut after = before.clone();
        let mut added = after.model[1].clone();
        added.model_id = "c.model-v1:0".into();
        added.endpoint = "mantle".into();
        added.priority_input_per_mtok = Some(0.5);
        after.model.push(added.clone());
        added.model_id = "d.model-v1:0".into();
        added.endpoint = "runtime".into();
        added.legacy = true;
        after.model.push(added);
        let text =
            update_bedrock_noting(TEXT, "b.toml", &before, &after, Some("Added rows\nsecond"))
                .unwrap();
        assert!(text.starts_with(TEXT), "{text}");
        assert!(
            text.contains("\n\n# Added rows\n# second\n\n[[model]]\nmodel_id = \"c.model-v1:0\"\n"),
            "{text}"
        );
        assert!(text.contains("endpoint = \"mantle\""), "{text}");
        assert_eq!(text.matches("endpoint").count(), 1, "runtime is left out");
        assert!(
            text.contains("\n\n[[model]]\nmodel_id = \"d.model-v1:0\""),
            "{text}"
        );
        assert_eq!(BedrockCatalog::parse(&text, "b.toml").unwrap(), after);
    }

    #[test]
    fn a_row_count_that_does_not_match_is_refused() {
        let before = BedrockCatalog::parse(TEXT, "b.toml").unwrap();
        let mut after = before.clone();
        after.model.pop();
        let error = update_bedrock(TEXT, "b.toml", &before, &after)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("b.toml"), "{error}");
    }
}

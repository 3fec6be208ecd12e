//! Writing imported prices back into `pricing/bedrock.toml` in place: only the values that
//! changed are replaced, so the file's comments, order and layout stay as its authors left them.

use toml_edit::{DocumentMut, Item, Value};

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
/// replaced, added or removed. Rows are matched by position: importers change prices, never
/// the rows themselves.
pub fn update_bedrock(
    text: &str,
    origin: &str,
    before: &BedrockCatalog,
    after: &BedrockCatalog,
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
    if before.model.len() != after.model.len() {
        return Err(rows_error(after.model.len()));
    }
    if before.model.is_empty() {
        return Ok(text.to_string());
    }
    let tables = document
        .get_mut("model")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| rows_error(0))?;
    if tables.len() != before.model.len() {
        return Err(rows_error(tables.len()));
    }
    for (row, ((old, new), table)) in before
        .model
        .iter()
        .zip(&after.model)
        .zip(tables.iter_mut())
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

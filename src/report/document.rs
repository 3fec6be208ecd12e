//! A report as data (sections of prose, figures and tables) and its two renderings: a
//! self-contained HTML page (figures inline as base64 PNG) and a markdown twin.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::ReportError;

/// A figure: the chart's files and one sentence that reads it.
#[derive(Clone, Debug)]
pub struct Figure {
    pub title: String,
    pub png: PathBuf,
    pub svg: PathBuf,
    pub reading: String,
}

/// A table: header and rows of already formatted cells.
#[derive(Clone, Debug, Default)]
pub struct TableBlock {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct Section {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub figures: Vec<Figure>,
    pub tables: Vec<TableBlock>,
}

#[derive(Clone, Debug, Default)]
pub struct Document {
    pub title: String,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

impl Document {
    pub fn markdown(&self, base: &Path) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for p in &self.intro {
            let _ = writeln!(out, "{p}\n");
        }
        for section in &self.sections {
            let _ = writeln!(out, "## {}\n", section.heading);
            for p in &section.paragraphs {
                let _ = writeln!(out, "{p}\n");
            }
            for figure in &section.figures {
                let _ = writeln!(
                    out,
                    "![{}]({})\n\n*{}* {}\n",
                    figure.title,
                    relative(&figure.png, base),
                    figure.title,
                    figure.reading
                );
            }
            for table in &section.tables {
                let _ = writeln!(out, "{}\n", table.caption);
                let _ = writeln!(out, "| {} |", table.header.join(" | "));
                let _ = writeln!(out, "|{}", " --- |".repeat(table.header.len()));
                for row in &table.rows {
                    let _ = writeln!(out, "| {} |", row.join(" | "));
                }
                out.push('\n');
            }
        }
        out
    }

    /// One HTML file with every figure embedded, readable offline.
    pub fn html(&self) -> Result<String, ReportError> {
        let mut out =
            String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        let _ = writeln!(out, "<title>{}</title>", escape(&self.title));
        out.push_str(
            "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;\
             padding:0 1em;color:#222}img{max-width:100%;border:1px solid #ddd}\
             table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;\
             padding:4px 8px;text-align:right}th{background:#f4f4f4}\
             figcaption{margin:.4em 0 1.6em;color:#333}h2{border-bottom:2px solid #0072b2}\
             </style></head><body>\n",
        );
        let _ = writeln!(out, "<h1>{}</h1>", escape(&self.title));
        for p in &self.intro {
            let _ = writeln!(out, "<p>{}</p>", escape(p));
        }
        for section in &self.sections {
            let _ = writeln!(out, "<h2>{}</h2>", escape(&section.heading));
            for p in &section.paragraphs {
                let _ = writeln!(out, "<p>{}</p>", escape(p));
            }
            for figure in &section.figures {
                let bytes = std::fs::read(&figure.png).map_err(|cause| ReportError::Figure {
                    path: figure.png.clone(),
                    cause,
                })?;
                let _ = writeln!(
                    out,
                    "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\">\
                     <figcaption><b>{}</b> {}</figcaption></figure>",
                    escape(&figure.title),
                    aws_smithy_types::base64::encode(bytes),
                    escape(&figure.title),
                    escape(&figure.reading)
                );
            }
            for table in &section.tables {
                let _ = writeln!(out, "<p>{}</p><table><tr>", escape(&table.caption));
                for h in &table.header {
                    let _ = write!(out, "<th>{}</th>", escape(h));
                }
                out.push_str("</tr>\n");
                for row in &table.rows {
                    out.push_str("<tr>");
                    for cell in row {
                        let _ = write!(out, "<td>{}</td>", escape(cell));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
        }
        out.push_str("</body></html>\n");
        Ok(out)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

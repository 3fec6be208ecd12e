//! Cost (pure): price catalogs, Bedrock and SageMaker monthly cost, break-even, realistic budget.

pub mod budget;
pub mod catalog;
pub mod catalog_edit;
pub mod error;
pub mod fleet;
pub mod genai_prices;
pub mod import;
pub mod money;
pub mod overheads;

pub use error::{CatalogError, ImportError};

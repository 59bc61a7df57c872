//! What an MCP server offers besides its tools: resources, resource templates, prompts and
//! their completions. The server is given one with its tools (`Registry::with_catalogue`).

use serde_json::{Map, Value};

use super::tool::Tool;
use super::version::Version;

/// Outcome of `prompts/get` when it fails.
pub enum PromptError {
    UnknownPrompt,
    MissingArgument(&'static str),
    BadArgument(String),
}

/// What a server offers besides its tools: resources, resource templates, prompts and their
/// completions. Injected with the tools (see [`Registry::with_catalogue`]), so the protocol
/// code names no particular one.
pub trait Catalogue: Sync {
    fn resources(&self) -> Vec<Value>;
    fn templates(&self) -> Vec<Value>;
    /// The contents of `uri`, or `None` if there is no such resource.
    fn read(&self, uri: &str, origin: &str, tools: &[&Tool]) -> Option<Value>;
    fn prompts(&self) -> Vec<Value>;
    fn get_prompt(
        &self,
        name: &str,
        args: &Map<String, Value>,
        params: &Map<String, Value>,
        version: Version,
        tools: &[&Tool],
    ) -> Result<Value, PromptError>;
    /// Completion values for a prompt argument or a template variable; `None`: unknown reference.
    fn complete(
        &self,
        ref_type: &str,
        ref_name: &str,
        argument: &str,
        prefix: &str,
        tools: &[&Tool],
    ) -> Option<Vec<String>>;
    /// A client capability `tool` cannot work without, if any.
    fn requires(&self, _tool: &str) -> Option<&'static str> {
        None
    }
}

/// Tools only.
pub struct NoCatalogue;

impl Catalogue for NoCatalogue {
    fn resources(&self) -> Vec<Value> {
        Vec::new()
    }
    fn templates(&self) -> Vec<Value> {
        Vec::new()
    }
    fn read(&self, _: &str, _: &str, _: &[&Tool]) -> Option<Value> {
        None
    }
    fn prompts(&self) -> Vec<Value> {
        Vec::new()
    }
    fn get_prompt(
        &self,
        _: &str,
        _: &Map<String, Value>,
        _: &Map<String, Value>,
        _: Version,
        _: &[&Tool],
    ) -> Result<Value, PromptError> {
        Err(PromptError::UnknownPrompt)
    }
    fn complete(&self, _: &str, _: &str, _: &str, _: &str, _: &[&Tool]) -> Option<Vec<String>> {
        None
    }
}

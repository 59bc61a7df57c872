//! What a tool is: a name, its schemas, its hints, and one function. The tools themselves live
//! in `crate::tools`; this module is the machinery they plug into.

use std::cell::RefCell;

use serde_json::{json, Map, Value};

use super::catalogue::NoCatalogue;
pub use super::catalogue::{Catalogue, PromptError};
pub use super::io::{Io, IoFuture, IoStore, KeyPage};
use super::version::Version;

/// The behaviour hints clients show to people (MCP `ToolAnnotations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Hints {
    /// A pure computation: reads nothing outside, changes nothing, same answer every time.
    pub const PURE: Hints = Hints { read_only: true, destructive: false, idempotent: true, open_world: false };
    /// Reads only, but the answer changes over time (clocks, identity lookups).
    pub const READ_ONLY: Hints = Hints { read_only: true, destructive: false, idempotent: false, open_world: false };
}

/// A tool, declared as a constant next to its function.
pub struct Tool {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments, as JSON text. Validated before `run` is called.
    pub input_schema: &'static str,
    /// JSON Schema of `structuredContent`, when the result is data.
    pub output_schema: Option<&'static str>,
    pub hints: Hints,
    /// The OAuth scope a caller's token must carry to call it (`403 insufficient_scope`).
    pub scope: &'static str,
    pub run: Run,
}

/// What runs when a tool is called: a pure function, or an async one that reaches storage and
/// the network through [`Io`]. Either is one function next to its [`Tool`] constant.
#[derive(Clone, Copy)]
pub enum Run {
    Pure(fn(&Args, &Call) -> Result<Output, ToolError>),
    Io(for<'a> fn(&'a Args<'a>, &'a Call<'a>, &'a dyn Io) -> ToolFuture<'a>),
}

/// The future of an I/O tool, boxed so a tool is a plain function pointer.
pub type ToolFuture<'a> = IoFuture<'a, Result<Output, ToolError>>;

impl Tool {
    /// The `tools/list` entry for a protocol version. `None` if a schema constant is not JSON
    /// (a unit test keeps that from shipping; the server answers -32603 rather than panic).
    pub fn describe(&self, version: Version) -> Option<Value> {
        let mut t = json!({
            "name": self.name,
            "description": self.description,
            "inputSchema": serde_json::from_slice::<Value>(self.input_schema.as_bytes()).ok()?,
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.hints.read_only,
                "destructiveHint": self.hints.destructive,
                "idempotentHint": self.hints.idempotent,
                "openWorldHint": self.hints.open_world,
            },
        });
        if version.has_structured_tools() {
            t["title"] = json!(self.title);
            if let Some(schema) = self.output_schema {
                t["outputSchema"] = serde_json::from_slice::<Value>(schema.as_bytes()).ok()?;
            }
        }
        Some(t)
    }
}

/// The tools a server offers, in order, with each input schema parsed once instead of on
/// every call.
pub struct Registry {
    entries: Vec<(&'static Tool, Option<Value>)>,
    /// Resources, templates, prompts and completions offered beside the tools.
    catalogue: &'static dyn Catalogue,
    /// The `tools/list` array per protocol version, described on first use.
    lists: [std::sync::OnceLock<Option<Value>>; super::version::SUPPORTED.len()],
}

impl Registry {
    /// The tools, and nothing else (no resources, no prompts).
    pub fn new(tools: impl IntoIterator<Item = &'static Tool>) -> Registry {
        Registry {
            entries: tools.into_iter().map(|t| (t, serde_json::from_slice(t.input_schema.as_bytes()).ok())).collect(),
            catalogue: &NoCatalogue,
            lists: Default::default(),
        }
    }

    /// With resources, templates, prompts and completions.
    pub fn with_catalogue(mut self, catalogue: &'static dyn Catalogue) -> Registry {
        self.catalogue = catalogue;
        self
    }

    pub fn catalogue(&self) -> &dyn Catalogue {
        self.catalogue
    }

    /// Every tool described for `version`; `None` if a schema constant is not JSON.
    pub fn list(&self, version: Version) -> Option<&Value> {
        let describe =
            || self.entries.iter().map(|(t, _)| t.describe(version)).collect::<Option<Vec<_>>>().map(Value::from);
        self.lists.get(version as usize)?.get_or_init(describe).as_ref()
    }

    pub fn tools(&self) -> Vec<&'static Tool> {
        self.entries.iter().map(|(t, _)| *t).collect()
    }

    /// The tool called `name` and its parsed input schema (`None` if the constant is not JSON,
    /// which a unit test keeps from shipping).
    pub fn find(&self, name: &str) -> Option<(&'static Tool, Option<&Value>)> {
        self.entries.iter().find(|(t, _)| t.name == name).map(|(t, s)| (*t, s.as_ref()))
    }
}

/// Validated arguments, with accessors that fail as a tool error instead of panicking.
pub struct Args<'a>(pub &'a Map<String, Value>);

impl<'a> Args<'a> {
    pub fn str(&self, name: &str) -> Result<&'a str, ToolError> {
        self.0.get(name).and_then(Value::as_str).ok_or_else(|| ToolError::expected(name, "a string"))
    }

    /// An optional string argument (the API tools use; docs/tools.md).
    pub fn opt_str(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn number(&self, name: &str) -> Result<f64, ToolError> {
        self.0.get(name).and_then(Value::as_f64).ok_or_else(|| ToolError::expected(name, "a number"))
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name)
    }
}

/// Who is calling. Filled from the access token once authentication is on; tools must not
/// assume it is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Discord user id (snowflake).
    pub user_id: String,
    pub username: String,
    pub global_name: Option<String>,
    pub avatar_url: Option<String>,
    pub email: Option<String>,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The grant (login) behind the token: what tools acting through Discord use.
    pub grant: String,
}

/// Severity of a log message, in the order the spec defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl LogLevel {
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Everything a tool may know about the call besides its arguments, and the channel for the
/// progress and log notifications it sends while it runs.
pub struct Call<'a> {
    pub caller: Option<&'a Caller>,
    /// Wall-clock time of the request, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// `scheme://host` the client reached this server at.
    pub origin: &'a str,
    pub version: Version,
    pub(crate) progress_token: Option<Value>,
    /// Messages below this level are not sent; `None`: the client asked for no log messages.
    pub(crate) log_level: Option<LogLevel>,
    pub(crate) notifications: RefCell<Vec<Value>>,
    /// 2026-07-28 retries: the client's answers to an earlier `input_required`.
    pub(crate) input_responses: Option<Map<String, Value>>,
    /// The tool's own state from that earlier answer, verified.
    pub(crate) state: Option<Value>,
    /// 2026-07-28: what the client declared in `_meta`; 2025-x: unknown (`None`).
    pub(crate) client_capabilities: Option<Value>,
}

impl<'a> Call<'a> {
    pub fn new(origin: &'a str, now_ms: u64, version: Version) -> Call<'a> {
        Call {
            caller: None,
            now_ms,
            origin,
            version,
            progress_token: None,
            log_level: None,
            notifications: RefCell::new(Vec::new()),
            input_responses: None,
            state: None,
            client_capabilities: None,
        }
    }

    /// The client's raw answer to the input request named `key`, on a retry.
    pub fn input(&self, key: &str) -> Option<&Value> {
        self.input_responses.as_ref()?.get(key)
    }

    /// The content of an accepted elicitation named `key`.
    pub fn accepted(&self, key: &str) -> Option<&Map<String, Value>> {
        let r = self.input(key)?;
        (r.get("action")? == "accept").then(|| r.get("content")?.as_object())?
    }

    /// The state this tool sealed into its last `input_required`, verified by the server.
    pub fn state(&self) -> Option<&Value> {
        self.state.as_ref()
    }

    /// Whether the client declared a capability (`elicitation`, `sampling`, `roots`).
    /// Input may be requested only for declared ones.
    pub fn client_supports(&self, capability: &str) -> bool {
        self.client_capabilities.as_ref().and_then(|c| c.get(capability)).is_some()
    }

    /// Reports progress, when the client asked for it with a `progressToken`.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.progress_token else {
            return;
        };
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(m) = message {
            params["message"] = json!(m);
        }
        self.notify("notifications/progress", params);
    }

    /// Sends a log message, when the client asked for messages at this level or below.
    pub fn log(&self, level: LogLevel, data: Value) {
        if self.log_level.is_some_and(|min| level >= min) {
            self.notify("notifications/message", json!({ "level": level.as_str(), "logger": "tools", "data": data }));
        }
    }

    fn notify(&self, method: &str, params: Value) {
        self.notifications.borrow_mut().push(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }
}

/// A tool's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub content: Vec<Value>,
    pub structured: Option<Value>,
    pub is_error: bool,
    /// Set when the tool cannot finish without input (2026-07-28 Multi Round-Trip Requests).
    pub input_required: Option<InputRequired>,
}

/// Requests for input, keyed by a name the tool picks, and state to get back on the retry.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRequired {
    pub requests: Map<String, Value>,
    pub state: Option<Value>,
}

/// An `elicitation/create` input request: ask the person for a form.
pub fn elicit(message: &str, requested_schema: Value) -> Value {
    json!({ "method": "elicitation/create", "params": { "mode": "form", "message": message, "requestedSchema": requested_schema } })
}

/// A `sampling/createMessage` input request: ask the client's model.
pub fn sample(prompt: &str, max_tokens: u32) -> Value {
    json!({ "method": "sampling/createMessage", "params": {
        "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
        "maxTokens": max_tokens,
    } })
}

/// A `roots/list` input request.
pub fn list_roots() -> Value {
    json!({ "method": "roots/list", "params": {} })
}

impl Output {
    /// Plain text for the model.
    pub fn text(text: impl Into<String>) -> Output {
        // Moved in, not through `json!`, which would copy the text once more.
        let block: Map<String, Value> = [("type", Value::from("text")), ("text", Value::String(text.into()))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Output::blocks(vec![Value::Object(block)])
    }

    /// Data that matches the tool's `outputSchema`; also sent as JSON text for older clients.
    pub fn data(value: Value) -> Output {
        let text = value.to_string();
        Output { structured: Some(value), ..Output::text(text) }
    }

    /// Any content blocks (images, audio, embedded resources).
    pub fn blocks(content: Vec<Value>) -> Output {
        Output { content, structured: None, is_error: false, input_required: None }
    }

    /// A failure the model can read and correct (`isError: true`), not a protocol error.
    pub fn error(message: impl Into<String>) -> Output {
        Output { is_error: true, ..Output::text(message) }
    }

    /// Asks the client for input before the tool can finish. `state` comes back, verified,
    /// through [`Call::state`] on the retry.
    pub fn needs_input(requests: Vec<(&str, Value)>, state: Option<Value>) -> Output {
        let requests = requests.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        Output { input_required: Some(InputRequired { requests, state }), ..Output::blocks(Vec::new()) }
    }

    /// The `tools/call` result for a protocol version.
    pub fn into_result(self, version: Version) -> Value {
        let mut r = Map::new();
        r.insert("content".into(), Value::Array(self.content));
        if let (Some(s), true) = (self.structured, version.has_structured_tools()) {
            r.insert("structuredContent".into(), s);
        }
        if self.is_error {
            r.insert("isError".into(), Value::Bool(true));
        }
        Value::Object(r)
    }
}

/// A failure inside a tool; becomes an `isError` result naming what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError(pub String);

impl ToolError {
    pub fn expected(name: &str, what: &str) -> ToolError {
        ToolError(format!("argument `{name}`: expected {what}"))
    }
}

impl From<ToolError> for Output {
    fn from(e: ToolError) -> Output {
        Output::error(e.0)
    }
}

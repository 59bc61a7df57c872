//! Method dispatch: one JSON-RPC request in, its result (or error) and the notifications it
//! produced out. Knows the methods of every protocol version; knows nothing of HTTP.

use serde_json::{json, Map, Value};

use super::input_required;
use super::jsonrpc::{RpcError, INTERNAL_ERROR, INVALID_REQUEST, MISSING_CLIENT_CAPABILITY};
use super::schema;
use super::tool::{Args, Call, Caller, InputRequired, Io, LogLevel, Output, PromptError, Registry, Run, Tool};
use super::version::{negotiate_initialize, supported_strings, Version};
use crate::rules::keys::Key;

/// List results may be cached this long by 2026-07-28 clients.
pub const LIST_TTL_MS: u64 = 300_000;

/// `_meta` keys of 2026-07-28.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

const INSTRUCTIONS: &str = "Tools on this server run as the person who logged in. Call `server_info` to learn what the server supports; the resource guide://tools lists every tool.";

/// What the request handler knows about the request besides method and params.
pub struct Context<'a> {
    pub version: Version,
    pub origin: &'a str,
    pub now_ms: u64,
    pub caller: Option<&'a Caller>,
    /// Seals `requestState` for Multi Round-Trip Requests; `None` when `SECRET_KEY` is unset.
    pub state_key: Option<&'a Key>,
    /// Storage and the network for the tools that need them; `None` natively and in tests of
    /// the protocol alone, where those tools say they cannot run here.
    pub io: Option<&'a dyn Io>,
    /// The tools offered, with their catalogue of resources and prompts (`tools::registry()` in
    /// the Worker); benchmarks and tests bring their own.
    pub tools: &'a Registry,
}

/// A handled request: its result and the notifications to send before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub result: Value,
    pub notifications: Vec<Value>,
}

/// A failed request: the JSON-RPC error and the HTTP status that carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub error: RpcError,
    pub status: u16,
    /// Set on `403`: the OAuth scope the caller's token lacks.
    pub missing_scope: Option<&'static str>,
}

impl Failed {
    fn new(error: RpcError) -> Failed {
        Failed { error, status: 200, missing_scope: None }
    }

    pub fn http(status: u16, error: RpcError) -> Failed {
        Failed { error, status, missing_scope: None }
    }
}

impl From<RpcError> for Failed {
    fn from(e: RpcError) -> Failed {
        Failed::new(e)
    }
}

fn server_info(version: Version) -> Value {
    let mut info = json!({ "name": crate::NAME, "version": crate::VERSION });
    if version.has_structured_tools() {
        info["title"] = json!("MCP server with Discord login");
    }
    info
}

fn capabilities() -> Value {
    json!({ "tools": {}, "resources": {}, "prompts": {}, "completions": {}, "logging": {} })
}

/// Handles one request. `params` is the request's params object.
pub async fn handle(method: &str, params: &Map<String, Value>, cx: &Context<'_>) -> Result<Handled, Failed> {
    let v = cx.version;
    let mut notifications = Vec::new();
    let result = match method {
        "initialize" if !v.is_stateless() => initialize(params)?,
        "ping" | "logging/setLevel" if v.is_stateless() => return Err(not_found(method, v)),
        "ping" => json!({}),
        "logging/setLevel" => {
            // Stateless: the level cannot be remembered across requests, so it is validated and
            // acknowledged; tools log at `info` and above for 2025-x clients (see docs).
            let level = params.get("level").and_then(Value::as_str).unwrap_or("");
            if LogLevel::parse(level).is_none() {
                return Err(RpcError::invalid_params(format!("Unknown log level `{level}`")).into());
            }
            json!({})
        }
        "server/discover" if v.is_stateless() => json!({
            "supportedVersions": supported_strings(),
            "capabilities": capabilities(),
            "instructions": INSTRUCTIONS,
        }),
        "tools/list" => {
            no_cursor(params)?;
            let list = cx.tools.list(v).cloned().ok_or_else(|| RpcError::new(INTERNAL_ERROR, "Internal error"))?;
            // Not `json!`, which would copy the list a second time.
            Value::Object(Map::from_iter([("tools".to_string(), list)]))
        }
        "tools/call" => {
            let (result, notes) = call_tool(params, cx).await?;
            notifications = notes;
            result
        }
        "resources/list" => {
            no_cursor(params)?;
            json!({ "resources": cx.tools.catalogue().resources() })
        }
        "resources/templates/list" => {
            no_cursor(params)?;
            json!({ "resourceTemplates": cx.tools.catalogue().templates() })
        }
        "resources/read" => {
            let uri = required_str(params, "uri")?;
            cx.tools.catalogue().read(uri, cx.origin, &cx.tools.tools()).ok_or_else(|| {
                RpcError::new(v.resource_not_found_code(), format!("Resource not found: {uri}"))
                    .with_data(json!({ "uri": uri }))
            })?
        }
        "prompts/list" => {
            no_cursor(params)?;
            json!({ "prompts": cx.tools.catalogue().prompts() })
        }
        "prompts/get" => get_prompt(params, v, cx.tools)?,
        "completion/complete" => complete(params, cx.tools)?,
        _ => return Err(not_found(method, v)),
    };
    Ok(Handled { result: decorate(method, result, v), notifications })
}

/// 2026-07-28 results carry `resultType` and the server's identity; cacheable ones a TTL.
fn decorate(method: &str, mut result: Value, v: Version) -> Value {
    if !v.is_stateless() {
        return result;
    }
    if result.get("resultType").is_none() {
        result["resultType"] = json!("complete");
    }
    result["_meta"] = json!({ META_SERVER_INFO: server_info(v) });
    if matches!(
        method,
        "server/discover"
            | "tools/list"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
    ) {
        result["ttlMs"] = json!(LIST_TTL_MS);
        result["cacheScope"] = json!("public");
    }
    result
}

fn not_found(method: &str, v: Version) -> Failed {
    Failed::http(if v.is_stateless() { 404 } else { 200 }, RpcError::method_not_found(method))
}

fn required_str<'a>(params: &'a Map<String, Value>, key: &str) -> Result<&'a str, RpcError> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params(format!("`{key}` is required and must be a string")))
}

fn no_cursor(params: &Map<String, Value>) -> Result<(), RpcError> {
    match params.get("cursor") {
        None | Some(Value::Null) => Ok(()),
        // Every list fits in one page, so no cursor was ever issued.
        Some(_) => Err(RpcError::invalid_params("Invalid cursor")),
    }
}

fn initialize(params: &Map<String, Value>) -> Result<Value, RpcError> {
    let requested = required_str(params, "protocolVersion")?;
    let version = negotiate_initialize(Some(requested));
    Ok(json!({
        "protocolVersion": version.as_str(),
        "capabilities": capabilities(),
        "serverInfo": server_info(version),
        "instructions": INSTRUCTIONS,
    }))
}

fn meta(params: &Map<String, Value>) -> Option<&Map<String, Value>> {
    params.get("_meta").and_then(Value::as_object)
}

async fn call_tool(params: &Map<String, Value>, cx: &Context<'_>) -> Result<(Value, Vec<Value>), Failed> {
    let name = required_str(params, "name")?;
    let empty = Map::new();
    let args = match params.get("arguments") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(_) => return Err(RpcError::invalid_params("`arguments` must be an object").into()),
    };
    let (tool, input_schema) = cx
        .tools
        .find(name)
        .ok_or_else(|| RpcError::invalid_params(format!("Unknown tool: {name}")).with_data(json!({ "name": name })))?;

    if let Some(c) = cx.caller {
        if !c.scopes.iter().any(|s| s == tool.scope) {
            return Err(Failed {
                error: RpcError::new(
                    INVALID_REQUEST,
                    format!("Insufficient scope: `{name}` needs the `{}` scope; log in again granting it", tool.scope),
                )
                .with_data(json!({ "requiredScope": tool.scope })),
                status: 403,
                missing_scope: Some(tool.scope),
            });
        }
    }
    let mut call = Call::new(cx.origin, cx.now_ms, cx.version);
    call.caller = cx.caller;
    let m = meta(params);
    let who = cx.caller.map(|c| (c.user_id.as_str(), c.client_id.as_str()));
    // Hashing the arguments costs as much as reading them: only round trips need it.
    let binding = || input_required::binding("tools/call", name, &Value::Object(args.clone()), who);
    if cx.version.is_stateless() {
        call.client_capabilities = m.and_then(|m| m.get(META_CLIENT_CAPABILITIES)).cloned();
        call.input_responses = match params.get("inputResponses") {
            None | Some(Value::Null) => None,
            Some(Value::Object(r)) => Some(r.clone()),
            Some(_) => return Err(RpcError::invalid_params("`inputResponses` must be an object").into()),
        };
        call.state = match params.get("requestState") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => {
                let key = cx.state_key.ok_or_else(no_state_key)?;
                Some(input_required::open(key, token, &binding(), cx.now_ms).map_err(|e| {
                    RpcError::invalid_params(match e {
                        input_required::StateError::Expired => {
                            "`requestState` has expired; call the tool again without it"
                        }
                        _ => "`requestState` failed its integrity check",
                    })
                })?)
            }
            Some(_) => return Err(RpcError::invalid_params("`requestState` must be a string").into()),
        };
    }
    call.progress_token =
        m.and_then(|m| m.get("progressToken")).filter(|t| t.is_string() || t.is_i64() || t.is_u64()).cloned();
    call.log_level = if cx.version.is_stateless() {
        match m.and_then(|m| m.get(META_LOG_LEVEL)) {
            None => None,
            Some(level) => Some(
                level
                    .as_str()
                    .and_then(LogLevel::parse)
                    .ok_or_else(|| RpcError::invalid_params("Unknown log level in _meta"))?,
            ),
        }
    } else {
        Some(LogLevel::Info)
    };
    if let Some(required) = tool_requires(tool, cx) {
        let declared = m.and_then(|m| m.get(META_CLIENT_CAPABILITIES)).and_then(|c| c.get(required));
        if cx.version.is_stateless() && declared.is_none() {
            return Err(Failed::http(
                400,
                RpcError::new(MISSING_CLIENT_CAPABILITY, format!("This tool needs the client capability `{required}`"))
                    .with_data(json!({ "requiredCapabilities": { required: {} } })),
            ));
        }
    }

    let input_schema = input_schema.ok_or_else(|| RpcError::new(INTERNAL_ERROR, "Internal error"))?;
    let output = match schema::validate_arguments(input_schema, args) {
        Err(e) => Output::error(format!("Invalid arguments for `{name}`: {e}")),
        Ok(()) => match (tool.run, cx.io) {
            (Run::Pure(run), _) => run(&Args(args), &call).unwrap_or_else(Into::into),
            (Run::Io(run), Some(io)) => {
                let args = Args(args);
                run(&args, &call, io).await.unwrap_or_else(Into::into)
            }
            (Run::Io(_), None) => Output::error(format!(
                "`{name}` needs this server's storage and network, which are not available here."
            )),
        },
    };
    let result = match &output.input_required {
        None => output.into_result(cx.version),
        Some(_) if !cx.version.is_stateless() => Output::error(format!(
            "`{name}` needs input from you before it can finish, which needs a client that speaks MCP 2026-07-28."
        ))
        .into_result(cx.version),
        Some(needs) => input_required(needs, &binding(), cx)?,
    };
    Ok((result, call.notifications.into_inner()))
}

/// The `input_required` result, with the tool's state sealed.
fn input_required(needs: &InputRequired, binding: &str, cx: &Context) -> Result<Value, RpcError> {
    let mut r = json!({ "resultType": "input_required", "inputRequests": needs.requests });
    if let Some(state) = &needs.state {
        let key = cx.state_key.ok_or_else(no_state_key)?;
        r["requestState"] = json!(input_required::seal(key, binding, cx.now_ms, state));
    }
    Ok(r)
}

/// Round trips with state are signed with a key derived from `SECRET_KEY`.
fn no_state_key() -> RpcError {
    RpcError::new(INTERNAL_ERROR, "Server not configured: SECRET_KEY is missing, so this tool cannot ask for input")
}

/// A client capability the tool cannot work without, if any.
fn tool_requires(tool: &Tool, cx: &Context) -> Option<&'static str> {
    cx.tools.catalogue().requires(tool.name)
}

fn get_prompt(params: &Map<String, Value>, v: Version, tools: &Registry) -> Result<Value, RpcError> {
    let name = required_str(params, "name")?;
    let empty = Map::new();
    let args = match params.get("arguments") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) if a.values().all(Value::is_string) => a,
        Some(_) => return Err(RpcError::invalid_params("`arguments` must be an object of strings")),
    };
    tools.catalogue().get_prompt(name, args, params, v, &tools.tools()).map_err(|e| match e {
        PromptError::UnknownPrompt => RpcError::invalid_params(format!("Unknown prompt: {name}")),
        PromptError::MissingArgument(a) => RpcError::invalid_params(format!("Missing required argument `{a}`")),
        PromptError::BadArgument(m) => RpcError::invalid_params(m),
    })
}

fn complete(params: &Map<String, Value>, tools: &Registry) -> Result<Value, RpcError> {
    let reference =
        params.get("ref").and_then(Value::as_object).ok_or_else(|| RpcError::invalid_params("`ref` is required"))?;
    let ref_type = reference.get("type").and_then(Value::as_str).unwrap_or("");
    let ref_name = match ref_type {
        "ref/prompt" => reference.get("name"),
        "ref/resource" => reference.get("uri"),
        _ => None,
    }
    .and_then(Value::as_str)
    .ok_or_else(|| RpcError::invalid_params("`ref` must be a ref/prompt with a name or a ref/resource with a uri"))?;
    let argument = params
        .get("argument")
        .and_then(Value::as_object)
        .ok_or_else(|| RpcError::invalid_params("`argument` is required"))?;
    let arg_name = argument
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("`argument.name` is required"))?;
    let value = argument
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("`argument.value` is required"))?;

    let mut values = tools
        .catalogue()
        .complete(ref_type, ref_name, arg_name, value, &tools.tools())
        .ok_or_else(|| RpcError::invalid_params(format!("Unknown reference: {ref_name}")))?;
    let total = values.len();
    values.truncate(100);
    Ok(json!({ "completion": { "values": values, "total": total, "hasMore": total > 100 } }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::mcp::jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND};

    fn cx(version: Version) -> Context<'static> {
        Context {
            version,
            origin: "https://mcp.example",
            now_ms: 1_785_240_000_000,
            caller: None,
            state_key: None,
            io: None,
            tools: crate::tools::registry(),
        }
    }

    fn call(method: &str, params: Value, version: Version) -> Result<Handled, Failed> {
        crate::rules::platform::block_on(handle(method, params.as_object().unwrap(), &cx(version)))
    }

    #[test]
    fn initialize_negotiates_and_advertises_what_exists() {
        let r = call(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
            Version::V2025_03_26,
        )
        .unwrap();
        assert_eq!(r.result["protocolVersion"], "2025-06-18");
        assert_eq!(r.result["capabilities"], capabilities());
        assert_eq!(r.result["serverInfo"]["name"], "mcp-oauth-worker");
        let old = call("initialize", json!({"protocolVersion": "2024-11-05"}), Version::V2025_03_26).unwrap();
        assert_eq!(old.result["protocolVersion"], "2025-11-25");
        assert_eq!(call("initialize", json!({}), Version::V2025_03_26).unwrap_err().error.code, INVALID_PARAMS);
    }

    #[test]
    fn removed_methods_are_404_in_2026() {
        for m in ["initialize", "ping", "logging/setLevel", "resources/subscribe", "nope"] {
            let e = call(m, json!({}), Version::V2026_07_28).unwrap_err();
            assert_eq!((e.error.code, e.status), (METHOD_NOT_FOUND, 404), "{m}");
        }
        let e = call("server/discover", json!({}), Version::V2025_11_25).unwrap_err();
        assert_eq!((e.error.code, e.status), (METHOD_NOT_FOUND, 200));
    }

    #[test]
    fn discover_and_list_results_are_decorated_in_2026() {
        let d = call("server/discover", json!({}), Version::V2026_07_28).unwrap().result;
        assert_eq!(d["supportedVersions"], json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]));
        assert_eq!(d["resultType"], "complete");
        assert_eq!(d["ttlMs"], LIST_TTL_MS);
        assert_eq!(d["_meta"][META_SERVER_INFO]["name"], "mcp-oauth-worker");
        let t = call("tools/list", json!({}), Version::V2026_07_28).unwrap().result;
        assert_eq!(t["cacheScope"], "public");
        let names: Vec<&str> = t["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(&names[..5], ["echo", "add", "get_time", "server_info", "hello"]);
        let c = call("tools/call", json!({"name": "echo", "arguments": {"message": "x"}}), Version::V2026_07_28)
            .unwrap()
            .result;
        assert_eq!(c["resultType"], "complete");
        assert!(c.get("ttlMs").is_none());
        let legacy = call("tools/list", json!({}), Version::V2025_11_25).unwrap().result;
        assert!(legacy.get("resultType").is_none());
    }

    #[test]
    fn tool_calls_and_their_errors() {
        let v = Version::V2025_11_25;
        let r = call("tools/call", json!({"name": "echo", "arguments": {"message": "héllo"}}), v).unwrap().result;
        assert_eq!(r["structuredContent"], json!({"message": "héllo", "length": 5}));
        assert_eq!(r["content"][0]["type"], "text");
        let old = call("tools/call", json!({"name": "echo", "arguments": {"message": "x"}}), Version::V2025_03_26)
            .unwrap()
            .result;
        assert!(old.get("structuredContent").is_none());

        let bad = call("tools/call", json!({"name": "add", "arguments": {"a": 1, "b": "2"}}), v).unwrap().result;
        assert_eq!(bad["isError"], true);
        assert_eq!(
            bad["content"][0]["text"],
            "Invalid arguments for `add`: argument `b`: expected a number, got a string"
        );
        let missing = call("tools/call", json!({"name": "echo"}), v).unwrap().result;
        assert_eq!(
            missing["content"][0]["text"],
            "Invalid arguments for `echo`: argument `message`: is required (a string)"
        );
        let extra = call("tools/call", json!({"name": "get_time", "arguments": {"tz": "x"}}), v).unwrap().result;
        assert_eq!(extra["isError"], true);

        assert_eq!(call("tools/call", json!({"name": "nope"}), v).unwrap_err().error.code, INVALID_PARAMS);
        assert_eq!(call("tools/call", json!({}), v).unwrap_err().error.code, INVALID_PARAMS);
        assert_eq!(
            call("tools/call", json!({"name": "echo", "arguments": [1]}), v).unwrap_err().error.code,
            INVALID_PARAMS
        );
        let huge = call("tools/call", json!({"name": "add", "arguments": {"a": 1e308, "b": 1e308}}), v).unwrap().result;
        assert_eq!(huge["isError"], true);
    }

    #[test]
    fn every_tool_runs() {
        let v = Version::V2026_07_28;
        let t = call("tools/call", json!({"name": "get_time"}), v).unwrap().result;
        assert_eq!(t["structuredContent"], json!({"utc": "2026-07-28T12:00:00.000Z", "unix": 1_785_240_000u64}));
        let s = call("tools/call", json!({"name": "server_info"}), v).unwrap().result;
        assert_eq!(s["structuredContent"]["mcpUrl"], "https://mcp.example/mcp");
        assert_eq!(s["structuredContent"]["negotiatedVersion"], "2026-07-28");
        let h = call("tools/call", json!({"name": "hello", "arguments": {"name": "Ada"}}), v).unwrap().result;
        assert_eq!(h["structuredContent"]["greeting"], "Hello, Ada!");
        let a = call("tools/call", json!({"name": "add", "arguments": {"a": 2, "b": 0.5}}), v).unwrap().result;
        assert_eq!(a["structuredContent"]["sum"], 2.5);
    }

    #[test]
    fn tools_need_their_scope_and_whoami_reports_the_caller() {
        let caller = |scopes: &[&str]| Caller {
            user_id: "80351110224678912".into(),
            username: "nelly".into(),
            global_name: Some("Nelly".into()),
            avatar_url: None,
            email: None,
            client_id: "c".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            grant: "g".into(),
        };
        let run = |c: &Caller, name: &str| {
            let cx = Context { caller: Some(c), ..cx(Version::V2025_11_25) };
            crate::rules::platform::block_on(handle("tools/call", json!({"name": name}).as_object().unwrap(), &cx))
        };
        let narrow = caller(&["mcp"]);
        let denied = run(&narrow, "whoami").unwrap_err();
        assert_eq!((denied.status, denied.missing_scope), (403, Some("profile")));
        assert!(run(&narrow, "get_time").is_ok());
        let full = caller(&["mcp", "profile"]);
        let me = run(&full, "whoami").unwrap().result;
        assert_eq!(me["structuredContent"]["id"], "80351110224678912");
        assert_eq!(me["structuredContent"]["globalName"], "Nelly");
        let nobody = call("tools/call", json!({"name": "whoami"}), Version::V2025_11_25).unwrap().result;
        assert_eq!(nobody["isError"], true);
        assert_eq!(
            run(&full, "hello").unwrap().result["isError"],
            true,
            "missing argument: a tool error, not a scope error"
        );
    }

    #[test]
    fn resources_prompts_completion_logging() {
        let v = Version::V2025_11_25;
        let nf = call("resources/read", json!({"uri": "guide://nope"}), v).unwrap_err().error;
        assert_eq!((nf.code, nf.data.unwrap()["uri"].as_str().unwrap()), (-32002, "guide://nope"));
        let nf26 = call("resources/read", json!({"uri": "x"}), Version::V2026_07_28).unwrap_err().error;
        assert_eq!(nf26.code, -32602);
        let r = call("resources/read", json!({"uri": "guide://connect"}), Version::V2026_07_28).unwrap().result;
        assert_eq!(r["cacheScope"], "public");
        assert_eq!(
            call("prompts/get", json!({"name": "tool_guide", "arguments": {"tool": 5}}), v).unwrap_err().error.code,
            INVALID_PARAMS
        );
        assert_eq!(call("prompts/get", json!({"name": "zzz"}), v).unwrap_err().error.code, INVALID_PARAMS);
        let c = call(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "tool_guide"}, "argument": {"name": "tool", "value": "s"}}),
            v,
        )
        .unwrap()
        .result;
        assert_eq!(c["completion"]["values"], json!(["server_info"]));
        assert_eq!(
            call("completion/complete", json!({"ref": {"type": "ref/x"}}), v).unwrap_err().error.code,
            INVALID_PARAMS
        );
        assert_eq!(call("logging/setLevel", json!({"level": "debug"}), v).unwrap().result, json!({}));
        assert_eq!(call("logging/setLevel", json!({"level": "loud"}), v).unwrap_err().error.code, INVALID_PARAMS);
        assert_eq!(call("tools/list", json!({"cursor": "abc"}), v).unwrap_err().error.code, INVALID_PARAMS);
    }
}

//! The tools this server offers. Each is one function and one `Tool` constant beside it, with
//! its schemas; adding a tool means writing both and listing the constant in [`TOOLS`].

use serde_json::json;

use crate::rules::mcp::tool::{Args, Call, Hints, Output, Registry, Run, Tool, ToolError};
use crate::rules::mcp::version::SUPPORTED;
pub use crate::rules::time::iso8601;

/// Every tool this build offers, with the resources and prompts beside them (and, in the
/// conformance build, the suite's fixtures); built once per isolate.
pub fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        #[cfg(not(feature = "conformance"))]
        return Registry::new(TOOLS.iter()).with_catalogue(&catalogue::Builtin);
        #[cfg(feature = "conformance")]
        return Registry::new(TOOLS.iter().chain(conformance::TOOLS.iter())).with_catalogue(&conformance::Fixtures);
    })
}

/// Every tool, in the order `tools/list` returns them.
pub const TOOLS: &[Tool] = &[ECHO, ADD, GET_TIME, SERVER_INFO, HELLO, WHOAMI, GUILDS];

/// Name of the tool that lists the caller's Discord servers.
pub const DISCORD_GUILDS: &str = "discord_guilds";

/// Runs through Discord with the grant's stored token: an I/O tool, one async function in
/// `tools/discord.rs`.
pub const GUILDS: Tool = Tool {
    name: DISCORD_GUILDS,
    title: "My Discord servers",
    description: "Lists the Discord servers (guilds) of the person this client acts for: id, name, and whether they own it. Read from Discord on their behalf and cached for a few minutes. Needs the `guilds` scope.",
    input_schema: r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#,
    output_schema: Some(
        r#"{
        "type": "object",
        "properties": {
            "guilds": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "id": { "type": "string" }, "name": { "type": "string" }, "owner": { "type": "boolean" } },
                    "required": ["id", "name", "owner"]
                }
            },
            "fetchedAt": { "type": "integer", "description": "When Discord was asked (seconds since the epoch)" },
            "cached": { "type": "boolean" }
        },
        "required": ["guilds", "fetchedAt", "cached"]
    }"#,
    ),
    hints: Hints { read_only: true, destructive: false, idempotent: false, open_world: true },
    scope: "guilds",
    run: Run::Io(discord::guilds),
};

pub const ECHO: Tool = Tool {
    name: "echo",
    title: "Echo",
    description:
        "Returns the message it is given, and its length in characters. Useful to check that the connection works.",
    input_schema: r#"{
        "type": "object",
        "properties": { "message": { "type": "string", "description": "Text to send back", "maxLength": 524288 } },
        "required": ["message"],
        "additionalProperties": false
    }"#,
    output_schema: Some(
        r#"{
        "type": "object",
        "properties": {
            "message": { "type": "string" },
            "length": { "type": "integer", "description": "Length in Unicode characters" }
        },
        "required": ["message", "length"]
    }"#,
    ),
    hints: Hints::PURE,
    scope: "mcp",
    run: Run::Pure(echo),
};

fn echo(args: &Args, _call: &Call) -> Result<Output, ToolError> {
    let message = args.str("message")?;
    Ok(Output::data(json!({ "message": message, "length": message.chars().count() })))
}

pub const ADD: Tool = Tool {
    name: "add",
    title: "Add two numbers",
    description: "Adds two numbers and returns the sum.",
    input_schema: r#"{
        "type": "object",
        "properties": {
            "a": { "type": "number", "description": "First addend" },
            "b": { "type": "number", "description": "Second addend" }
        },
        "required": ["a", "b"],
        "additionalProperties": false
    }"#,
    output_schema: Some(r#"{ "type": "object", "properties": { "sum": { "type": "number" } }, "required": ["sum"] }"#),
    hints: Hints::PURE,
    scope: "mcp",
    run: Run::Pure(add),
};

fn add(args: &Args, _call: &Call) -> Result<Output, ToolError> {
    let sum = args.number("a")? + args.number("b")?;
    if !sum.is_finite() {
        return Err(ToolError("the sum is too large to represent".into()));
    }
    Ok(Output::data(json!({ "sum": sum })))
}

pub const GET_TIME: Tool = Tool {
    name: "get_time",
    title: "Current time",
    description: "Returns the current time in UTC, as ISO 8601 text and as Unix time in seconds.",
    input_schema: r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#,
    output_schema: Some(
        r#"{
        "type": "object",
        "properties": {
            "utc": { "type": "string", "description": "ISO 8601, e.g. 2026-07-28T12:00:00.000Z" },
            "unix": { "type": "integer", "description": "Seconds since 1970-01-01T00:00:00Z" }
        },
        "required": ["utc", "unix"]
    }"#,
    ),
    hints: Hints::READ_ONLY,
    scope: "mcp",
    run: Run::Pure(get_time),
};

fn get_time(_args: &Args, call: &Call) -> Result<Output, ToolError> {
    Ok(Output::data(json!({ "utc": iso8601(call.now_ms), "unix": call.now_ms / 1000 })))
}

pub const SERVER_INFO: Tool = Tool {
    name: "server_info",
    title: "About this server",
    description:
        "Describes this server: name, version, the MCP protocol versions it speaks, and how authentication works.",
    input_schema: r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#,
    output_schema: Some(
        r#"{
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "version": { "type": "string" },
            "protocolVersions": { "type": "array", "items": { "type": "string" } },
            "negotiatedVersion": { "type": "string" },
            "mcpUrl": { "type": "string" },
            "authentication": { "type": "string" }
        },
        "required": ["name", "version", "protocolVersions", "negotiatedVersion", "mcpUrl", "authentication"]
    }"#,
    ),
    hints: Hints::PURE,
    scope: "mcp",
    run: Run::Pure(server_info),
};

/// How a client gets access; kept in one place so `server_info` and the guides agree.
pub const AUTHENTICATION: &str =
    "OAuth 2.1: every MCP request needs a bearer token from this server's authorization server, which a person gets by logging in with Discord (discovery from the 401 and /.well-known/oauth-protected-resource/mcp).";

fn server_info(_args: &Args, call: &Call) -> Result<Output, ToolError> {
    let versions: Vec<&str> = SUPPORTED.iter().map(|v| v.as_str()).collect();
    Ok(Output::data(json!({
        "name": crate::NAME,
        "version": crate::VERSION,
        "protocolVersions": versions,
        "negotiatedVersion": call.version.as_str(),
        "mcpUrl": format!("{}/mcp", call.origin),
        "authentication": AUTHENTICATION,
    })))
}

pub const HELLO: Tool = Tool {
    name: "hello",
    title: "Say hello",
    description: "Greets someone by name.",
    input_schema: r#"{
        "type": "object",
        "properties": { "name": { "type": "string", "description": "Who to greet", "minLength": 1, "maxLength": 100 } },
        "required": ["name"],
        "additionalProperties": false
    }"#,
    output_schema: Some(
        r#"{ "type": "object", "properties": { "greeting": { "type": "string" } }, "required": ["greeting"] }"#,
    ),
    hints: Hints::PURE,
    scope: "mcp",
    run: Run::Pure(hello),
};

fn hello(args: &Args, call: &Call) -> Result<Output, ToolError> {
    let name = args.str("name")?.trim();
    // The caller's name is known only with the `profile` scope.
    let on_behalf = call.caller.map(|c| c.global_name.as_deref().unwrap_or(&c.username)).filter(|n| !n.is_empty());
    let greeting = match on_behalf {
        Some(who) => format!("Hello, {name}! (Greeted on behalf of {who}.)"),
        None => format!("Hello, {name}!"),
    };
    Ok(Output::data(json!({ "greeting": greeting })))
}

pub const WHOAMI: Tool = Tool {
    name: "whoami",
    title: "Who am I",
    description: "Returns the Discord identity of the person this client acts for: id, user name, display name, avatar, and email when the email scope was granted.",
    input_schema: r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#,
    output_schema: Some(
        r#"{
        "type": "object",
        "properties": {
            "id": { "type": "string", "description": "Discord user id (snowflake)" },
            "username": { "type": "string" },
            "globalName": { "type": ["string", "null"] },
            "avatarUrl": { "type": ["string", "null"] },
            "email": { "type": ["string", "null"] },
            "scopes": { "type": "array", "items": { "type": "string" } }
        },
        "required": ["id", "username", "scopes"]
    }"#,
    ),
    hints: Hints::READ_ONLY,
    scope: "profile",
    run: Run::Pure(whoami),
};

fn whoami(_args: &Args, call: &Call) -> Result<Output, ToolError> {
    // Taken from the access token, which login filled: no Discord call.
    let c = call.caller.ok_or_else(|| ToolError("No one is logged in on this connection.".into()))?;
    Ok(Output::data(json!({
        "id": c.user_id,
        "username": c.username,
        "globalName": c.global_name,
        "avatarUrl": c.avatar_url,
        "email": c.email,
        "scopes": c.scopes,
    })))
}

pub mod catalogue;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod discord;

// Out of line (src/tools/tests.rs), so a tool pasted below it (README) follows no test module.
#[cfg(test)]
mod tests;

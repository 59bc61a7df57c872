//! Resources and prompts this server offers: guides for the person connecting a client, and a
//! prompt that teaches the model a tool. Everything is generated from the live tool list and
//! the URL the client used, so it cannot drift from what the server does.

use serde_json::{json, Value};

use crate::rules::mcp::tool::{Catalogue, PromptError, Tool};
use crate::rules::mcp::version::Version;

/// Clients the connection guide knows, as (id, display name, instructions with `{url}`).
pub const CLIENTS: &[(&str, &str, &str)] = &[
    (
        "claude",
        "Claude (web and desktop)",
        "Settings → Connectors → Add custom connector. Paste `{url}` as the URL and save, then choose Connect: a browser window opens for the Discord login.",
    ),
    (
        "claude-code",
        "Claude Code",
        "Run `claude mcp add --transport http discord-tools {url}`, start Claude Code, and run `/mcp` to log in.",
    ),
    (
        "chatgpt",
        "ChatGPT",
        "Settings → Apps & Connectors → Advanced → enable Developer mode, then Create. Paste `{url}` as the MCP server URL, choose OAuth authentication, and connect.",
    ),
    (
        "cursor",
        "Cursor",
        "Add to `~/.cursor/mcp.json`: `{\"mcpServers\": {\"discord-tools\": {\"url\": \"{url}\"}}}`, then enable the server in Settings → MCP and log in when asked.",
    ),
    (
        "vscode",
        "VS Code",
        "Add to `.vscode/mcp.json`: `{\"servers\": {\"discord-tools\": {\"type\": \"http\", \"url\": \"{url}\"}}}` and start the server from that file.",
    ),
    (
        "inspector",
        "MCP Inspector",
        "Run `npx @modelcontextprotocol/inspector`, choose the Streamable HTTP transport, paste `{url}` and connect.",
    ),
];

pub const CONNECT_URI: &str = "guide://connect";
pub const TOOLS_URI: &str = "guide://tools";
pub const CLIENT_TEMPLATE: &str = "guide://connect/{client}";
const CLIENT_PREFIX: &str = "guide://connect/";

/// `resources/list` entries.
pub fn resources() -> Vec<Value> {
    vec![
        json!({
            "uri": CONNECT_URI,
            "name": "connect",
            "title": "Connecting an MCP client",
            "description": "How to connect Claude, ChatGPT, Cursor, VS Code, Claude Code or MCP Inspector to this server.",
            "mimeType": "text/markdown",
        }),
        json!({
            "uri": TOOLS_URI,
            "name": "tools",
            "title": "Tool reference",
            "description": "Every tool on this server with its arguments.",
            "mimeType": "text/markdown",
        }),
    ]
}

/// `resources/templates/list` entries.
pub fn templates() -> Vec<Value> {
    vec![json!({
        "uriTemplate": CLIENT_TEMPLATE,
        "name": "connect-client",
        "title": "Connecting one client",
        "description": "Connection steps for one client: claude, claude-code, chatgpt, cursor, vscode or inspector.",
        "mimeType": "text/markdown",
    })]
}

/// Reads a guide; `None` for an unknown URI.
pub fn read(uri: &str, origin: &str, tools: &[&Tool]) -> Option<Value> {
    let url = format!("{origin}/mcp");
    let text = if uri == CONNECT_URI {
        let mut t = format!("# Connecting to this MCP server\n\nServer URL: `{url}`\n\nThe first time a client connects, it opens a browser window where you approve it and log in with Discord.\n\n");
        for (_, name, how) in CLIENTS {
            t.push_str(&format!("## {name}\n\n{}\n\n", how.replace("{url}", &url)));
        }
        t
    } else if uri == TOOLS_URI {
        let mut t = String::from("# Tools\n\n");
        for tool in tools {
            t.push_str(&format!(
                "## `{}`: {}\n\n{}\n\n{}\n",
                tool.name,
                tool.title,
                tool.description,
                arguments_markdown(tool)
            ));
        }
        t
    } else {
        let id = uri.strip_prefix(CLIENT_PREFIX)?;
        let (_, name, how) = CLIENTS.iter().find(|(c, _, _)| *c == id)?;
        format!("# Connecting {name}\n\nServer URL: `{url}`\n\n{}\n", how.replace("{url}", &url))
    };
    Some(json!({ "contents": [{ "uri": uri, "mimeType": "text/markdown", "text": text }] }))
}

fn arguments_markdown(tool: &Tool) -> String {
    let schema: Value = serde_json::from_slice(tool.input_schema.as_bytes()).unwrap_or(Value::Null);
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let Some(props) = schema["properties"].as_object().filter(|p| !p.is_empty()) else {
        return "No arguments.\n".to_string();
    };
    let mut t = String::from("Arguments:\n\n");
    for (name, p) in props {
        t.push_str(&format!(
            "- `{name}` ({}{}): {}\n",
            p["type"].as_str().unwrap_or("any"),
            if required.contains(&name.as_str()) { ", required" } else { "" },
            p["description"].as_str().unwrap_or("")
        ));
    }
    t
}

/// `prompts/list` entries.
pub fn prompts() -> Vec<Value> {
    vec![
        json!({
            "name": "tool_guide",
            "title": "Learn a tool",
            "description": "Explains one of this server's tools and helps you call it.",
            "arguments": [{ "name": "tool", "description": "Tool name (completion available)", "required": true }],
        }),
        json!({
            "name": "getting_started",
            "title": "Tour of this server",
            "description": "Asks the assistant to introduce this server's tools and suggest what to try first.",
        }),
    ]
}

pub fn get_prompt(name: &str, args: &serde_json::Map<String, Value>, tools: &[&Tool]) -> Result<Value, PromptError> {
    match name {
        "tool_guide" => {
            let wanted = args.get("tool").and_then(Value::as_str).ok_or(PromptError::MissingArgument("tool"))?;
            let tool = tools.iter().find(|t| t.name == wanted).ok_or_else(|| {
                let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
                PromptError::BadArgument(format!("unknown tool `{wanted}`; tools: {}", names.join(", ")))
            })?;
            let text = format!(
                "I want to use the MCP tool `{}` ({}).\n\nWhat it does: {}\n\n{}\nExplain in two or three sentences what it is good for, ask me for any required argument I have not given yet, then call it.",
                tool.name, tool.title, tool.description, arguments_markdown(tool)
            );
            Ok(json!({
                "description": format!("How to use {}", tool.name),
                "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
            }))
        }
        "getting_started" => {
            let list: String = tools.iter().map(|t| format!("- `{}`: {}\n", t.name, t.description)).collect();
            Ok(json!({
                "description": "A tour of this server",
                "messages": [{ "role": "user", "content": { "type": "text", "text": format!(
                    "This MCP server offers these tools:\n\n{list}\nIntroduce them to me briefly and suggest one thing to try first. Call `server_info` if you need to know more about the server itself."
                ) } }],
            }))
        }
        _ => Err(PromptError::UnknownPrompt),
    }
}

/// Completion values for a prompt argument or a resource-template variable; `None` if the
/// reference is unknown.
pub fn complete(ref_type: &str, ref_name: &str, argument: &str, prefix: &str, tools: &[&Tool]) -> Option<Vec<String>> {
    let candidates: Vec<&str> = match (ref_type, ref_name, argument) {
        ("ref/prompt", "tool_guide", "tool") => tools.iter().map(|t| t.name).collect(),
        ("ref/prompt", "tool_guide" | "getting_started", _) => Vec::new(),
        ("ref/resource", CLIENT_TEMPLATE, "client") => CLIENTS.iter().map(|(id, _, _)| *id).collect(),
        ("ref/resource", CLIENT_TEMPLATE | CONNECT_URI | TOOLS_URI, _) => Vec::new(),
        _ => return None,
    };
    Some(candidates.into_iter().filter(|c| c.starts_with(prefix)).map(String::from).collect())
}

/// The resources and prompts this server offers, as the MCP server's [`Catalogue`].
pub struct Builtin;

impl Catalogue for Builtin {
    fn resources(&self) -> Vec<Value> {
        resources()
    }
    fn templates(&self) -> Vec<Value> {
        templates()
    }
    fn read(&self, uri: &str, origin: &str, tools: &[&Tool]) -> Option<Value> {
        read(uri, origin, tools)
    }
    fn prompts(&self) -> Vec<Value> {
        prompts()
    }
    fn get_prompt(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
        _params: &serde_json::Map<String, Value>,
        _version: Version,
        tools: &[&Tool],
    ) -> Result<Value, PromptError> {
        get_prompt(name, args, tools)
    }
    fn complete(
        &self,
        ref_type: &str,
        ref_name: &str,
        argument: &str,
        prefix: &str,
        tools: &[&Tool],
    ) -> Option<Vec<String>> {
        complete(ref_type, ref_name, argument, prefix, tools)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::TOOLS;

    fn tools() -> Vec<&'static Tool> {
        TOOLS.iter().collect()
    }

    #[test]
    fn guides_carry_the_server_url() {
        let r = read(CONNECT_URI, "https://mcp.example", &tools()).unwrap();
        let text = r["contents"][0]["text"].as_str().unwrap();
        assert!(text.contains("claude mcp add --transport http discord-tools https://mcp.example/mcp"));
        let one = read("guide://connect/cursor", "https://mcp.example", &tools()).unwrap();
        assert!(one["contents"][0]["text"].as_str().unwrap().contains("\"url\": \"https://mcp.example/mcp\""));
        assert!(read("guide://connect/nope", "x", &tools()).is_none());
        assert!(read("guide://connect/", "x", &tools()).is_none());
        let reference = read(TOOLS_URI, "x", &tools()).unwrap();
        assert!(reference["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("- `message` (string, required): Text to send back"));
    }

    #[test]
    fn tool_guide_prompt() {
        let mut args = serde_json::Map::new();
        assert!(matches!(get_prompt("tool_guide", &args, &tools()), Err(PromptError::MissingArgument("tool"))));
        args.insert("tool".into(), json!("nope"));
        assert!(matches!(get_prompt("tool_guide", &args, &tools()), Err(PromptError::BadArgument(_))));
        args.insert("tool".into(), json!("add"));
        let p = get_prompt("tool_guide", &args, &tools()).ok().unwrap();
        assert!(p["messages"][0]["content"]["text"].as_str().unwrap().contains("`a` (number, required)"));
        assert!(matches!(get_prompt("nope", &args, &tools()), Err(PromptError::UnknownPrompt)));
    }

    #[test]
    fn completion_by_prefix() {
        assert_eq!(complete("ref/prompt", "tool_guide", "tool", "e", &tools()), Some(vec!["echo".to_string()]));
        assert_eq!(
            complete("ref/resource", CLIENT_TEMPLATE, "client", "c", &tools()).unwrap(),
            ["claude", "claude-code", "chatgpt", "cursor"]
        );
        assert_eq!(complete("ref/prompt", "nope", "x", "", &tools()), None);
    }
}

//! Fixtures that `@modelcontextprotocol/conformance` expects (tools, resources, prompts named
//! `test_*` / `test://…`). Compiled only with the `conformance` feature, which only the
//! conformance build enables: the default Worker never carries them.

use serde_json::{json, Map, Value};

use crate::rules::mcp::tool::{
    elicit, list_roots, sample, Args, Call, Catalogue, Hints, LogLevel, Output, PromptError, Run, Tool, ToolError,
};
use crate::rules::mcp::version::Version;

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const WAV: &str = "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YRAAAAAAAAAAAAAAAAAAAAAAAAAA";
const NO_ARGS: &str = r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#;

const fn fixture(
    name: &'static str,
    description: &'static str,
    run: fn(&Args, &Call) -> Result<Output, ToolError>,
) -> Tool {
    Tool {
        name,
        title: name,
        description,
        input_schema: NO_ARGS,
        output_schema: None,
        hints: Hints::PURE,
        scope: "mcp",
        run: Run::Pure(run),
    }
}

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "json_schema_2020_12_tool",
        title: "JSON Schema 2020-12",
        description: "Carries a JSON Schema 2020-12 input schema that must reach clients intact",
        input_schema: r##"{
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": { "address": { "$anchor": "addressDef", "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } } } },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" },
                "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                "phone": { "type": "string" },
                "email": { "type": "string" }
            },
            "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
            "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
            "then": { "required": ["phone"] },
            "else": { "required": ["email"] },
            "additionalProperties": false
        }"##,
        output_schema: None,
        hints: Hints::PURE,
        scope: "mcp",
        run: Run::Pure(|_, _| Ok(Output::text("ok"))),
    },
    fixture("test_simple_text", "Returns simple text", |_, _| {
        Ok(Output::text("This is a simple text response for testing."))
    }),
    fixture("test_image_content", "Returns an image", |_, _| Ok(Output::blocks(vec![image()]))),
    fixture("test_audio_content", "Returns audio", |_, _| {
        Ok(Output::blocks(vec![json!({ "type": "audio", "data": WAV, "mimeType": "audio/wav" })]))
    }),
    fixture("test_embedded_resource", "Returns an embedded resource", |_, _| {
        Ok(Output::blocks(vec![json!({ "type": "resource", "resource": {
            "uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."
        } })]))
    }),
    fixture("test_multiple_content_types", "Returns text, an image and a resource", |_, _| {
        Ok(Output::blocks(vec![
            json!({ "type": "text", "text": "Multiple content types test:" }),
            image(),
            json!({ "type": "resource", "resource": {
                "uri": "test://mixed-content-resource", "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"
            } }),
        ]))
    }),
    fixture("test_error_handling", "Always fails", |_, _| {
        Err(ToolError("This tool intentionally returns an error for testing".into()))
    }),
    fixture("test_tool_with_progress", "Reports progress", |_, call| {
        for p in [0.0, 50.0, 100.0] {
            call.progress(p, Some(100.0), None);
        }
        Ok(Output::text("Progress test completed"))
    }),
    fixture("test_tool_with_logging", "Sends log messages", log_three),
    fixture("test_logging_tool", "Sends log messages when asked for them", log_three),
    fixture("test_streaming_elicitation", "Answers without server-to-client requests", |_, _| {
        Ok(Output::text("A stateless server asks for input with an input_required result, never on the stream."))
    }),
    fixture("test_missing_capability", "Needs the client's sampling capability", |_, _| {
        Ok(Output::text("The client declared the sampling capability."))
    }),
    fixture("test_input_required_result_elicitation", "Asks the person for their name", |_, call| {
        Ok(match name_from(call, "user_name") {
            Some(name) => Output::text(format!("Hello, {name}!")),
            None => Output::needs_input(vec![("user_name", ask_name())], None),
        })
    }),
    fixture("test_input_required_result_sampling", "Asks the client's model a question", |_, call| {
        Ok(match sampled(call, "capital") {
            Some(text) => Output::text(format!("The model answered: {text}")),
            None => Output::needs_input(vec![("capital", sample("What is the capital of France?", 100))], None),
        })
    }),
    fixture("test_input_required_result_list_roots", "Asks the client for its roots", |_, call| {
        Ok(match roots(call, "roots") {
            Some(n) => Output::text(format!("The client has {n} root(s).")),
            None => Output::needs_input(vec![("roots", list_roots())], None),
        })
    }),
    fixture("test_input_required_result_request_state", "Carries state across a round trip", confirm_with_state),
    fixture("test_input_required_result_tampered_state", "Rejects a tampered state", confirm_with_state),
    fixture("test_input_required_result_multiple_inputs", "Asks for three inputs at once", |_, call| {
        let done = call.state() == Some(&json!({ "step": "all" }));
        Ok(match (done, name_from(call, "name"), sampled(call, "capital"), roots(call, "roots")) {
            (true, Some(name), Some(capital), Some(n)) => {
                Output::text(format!("{name}; the model said {capital}; {n} root(s)."))
            }
            _ => Output::needs_input(
                vec![
                    ("name", ask_name()),
                    ("capital", sample("What is the capital of France?", 100)),
                    ("roots", list_roots()),
                ],
                Some(json!({ "step": "all" })),
            ),
        })
    }),
    fixture("test_input_required_result_multi_round", "Asks two questions, one per round", |_, call| {
        let round = call.state().and_then(|s| s.get("round")).and_then(Value::as_u64);
        Ok(match (round, name_from(call, "name"), call.accepted("color")) {
            (Some(2), _, Some(c)) if c.get("color").is_some_and(Value::is_string) => {
                let name = call.state().and_then(|s| s.get("name")).and_then(Value::as_str).unwrap_or("you");
                Output::text(format!("{name} likes {}.", c.get("color").and_then(Value::as_str).unwrap_or("")))
            }
            (Some(1), Some(name), _) => Output::needs_input(
                vec![(
                    "color",
                    elicit(
                        "Favourite colour?",
                        json!({ "type": "object", "properties": { "color": { "type": "string" } }, "required": ["color"] }),
                    ),
                )],
                Some(json!({ "round": 2, "name": name })),
            ),
            _ => Output::needs_input(vec![("name", ask_name())], Some(json!({ "round": 1 }))),
        })
    }),
    fixture("test_input_required_result_capabilities", "Asks only through declared capabilities", |_, call| {
        let mut requests = Vec::new();
        if call.client_supports("elicitation") {
            requests.push(("name", ask_name()));
        }
        if call.client_supports("sampling") {
            requests.push(("capital", sample("What is the capital of France?", 100)));
        }
        if call.client_supports("roots") {
            requests.push(("roots", list_roots()));
        }
        Ok(if requests.is_empty() {
            Output::text("The client declared no capability to ask through.")
        } else {
            Output::needs_input(requests, None)
        })
    }),
];

fn ask_name() -> Value {
    elicit(
        "What is your name?",
        json!({ "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] }),
    )
}

fn name_from(call: &Call, key: &str) -> Option<String> {
    call.accepted(key)?.get("name")?.as_str().map(String::from)
}

fn sampled(call: &Call, key: &str) -> Option<String> {
    call.input(key)?.get("content")?.get("text")?.as_str().map(String::from)
}

fn roots(call: &Call, key: &str) -> Option<usize> {
    call.input(key)?.get("roots")?.as_array().map(Vec::len)
}

fn confirm_with_state(_: &Args, call: &Call) -> Result<Output, ToolError> {
    let confirmed = call.state() == Some(&json!({ "step": "confirm" })) && call.accepted("confirm").is_some();
    Ok(if confirmed {
        Output::text("Confirmed; the state came back intact.")
    } else {
        Output::needs_input(
            vec![(
                "confirm",
                elicit("Confirm?", json!({ "type": "object", "properties": { "ok": { "type": "boolean" } } })),
            )],
            Some(json!({ "step": "confirm" })),
        )
    })
}

fn image() -> Value {
    json!({ "type": "image", "data": PNG, "mimeType": "image/png" })
}

fn log_three(_: &Args, call: &Call) -> Result<Output, ToolError> {
    for m in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
        call.log(LogLevel::Info, json!(m));
    }
    Ok(Output::text("Logging test completed"))
}

/// Client capabilities a fixture cannot run without.
pub fn requires(tool: &str) -> Option<&'static str> {
    (tool == "test_missing_capability").then_some("sampling")
}

pub fn resources() -> Vec<Value> {
    vec![
        json!({ "uri": "test://static-text", "name": "static-text", "mimeType": "text/plain", "description": "Static text" }),
        json!({ "uri": "test://static-binary", "name": "static-binary", "mimeType": "image/png", "description": "Static binary" }),
        json!({ "uri": "test://watched-resource", "name": "watched-resource", "mimeType": "text/plain", "description": "Watched" }),
    ]
}

pub fn templates() -> Vec<Value> {
    vec![
        json!({ "uriTemplate": "test://template/{id}/data", "name": "template", "mimeType": "application/json", "description": "Template" }),
    ]
}

pub fn read(uri: &str) -> Option<Value> {
    let content = match uri {
        "test://static-text" => {
            json!({ "uri": uri, "mimeType": "text/plain", "text": "This is the content of the static text resource." })
        }
        "test://static-binary" => json!({ "uri": uri, "mimeType": "image/png", "blob": PNG }),
        "test://watched-resource" => {
            json!({ "uri": uri, "mimeType": "text/plain", "text": "Watched resource content" })
        }
        _ => {
            let id = uri.strip_prefix("test://template/")?.strip_suffix("/data")?;
            if id.is_empty() || id.contains('/') {
                return None;
            }
            let data = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
            json!({ "uri": uri, "mimeType": "application/json", "text": data.to_string() })
        }
    };
    Some(json!({ "contents": [content] }))
}

pub fn prompts() -> Vec<Value> {
    vec![
        json!({ "name": "test_simple_prompt", "description": "A simple prompt" }),
        json!({ "name": "test_prompt_with_arguments", "description": "A prompt with arguments", "arguments": [
            { "name": "arg1", "description": "First argument", "required": true },
            { "name": "arg2", "description": "Second argument", "required": true }
        ] }),
        json!({ "name": "test_prompt_with_embedded_resource", "description": "A prompt with a resource", "arguments": [
            { "name": "resourceUri", "description": "URI of the resource", "required": true }
        ] }),
        json!({ "name": "test_prompt_with_image", "description": "A prompt with an image" }),
        json!({ "name": "test_input_required_result_prompt", "description": "A prompt that asks for context first" }),
    ]
}

/// `None`: not a fixture prompt. `Some(Err)`: an invalid-params message.
pub fn get_prompt(
    name: &str,
    args: &Map<String, Value>,
    params: &Map<String, Value>,
    version: Version,
) -> Option<Result<Value, String>> {
    let arg = |k: &str| args.get(k).and_then(Value::as_str).ok_or(format!("Missing required argument `{k}`"));
    let user = |content: Value| json!({ "role": "user", "content": content });
    let text = |t: String| json!({ "type": "text", "text": t });
    Some(match name {
        "test_simple_prompt" => Ok(json!({ "messages": [user(text("This is a simple prompt for testing.".into()))] })),
        "test_prompt_with_arguments" => (|| {
            let (a, b) = (arg("arg1")?, arg("arg2")?);
            Ok(json!({ "messages": [user(text(format!("Prompt with arguments: arg1='{a}', arg2='{b}'")))] }))
        })(),
        "test_prompt_with_embedded_resource" => arg("resourceUri").map(|uri| {
            json!({ "messages": [
                user(json!({ "type": "resource", "resource": { "uri": uri, "mimeType": "text/plain", "text": "Embedded resource content for testing." } })),
                user(text("Please process the embedded resource above.".into())),
            ] })
        }),
        "test_input_required_result_prompt" if version.is_stateless() => {
            let context = params
                .get("inputResponses")
                .and_then(Value::as_object)
                .and_then(|r| r.values().find_map(|v| v.get("content")?.get("context")?.as_str()));
            Ok(match context {
                Some(c) => json!({ "messages": [user(text(format!("Context: {c}")))] }),
                None => json!({ "resultType": "input_required", "inputRequests": { "context": elicit(
                    "Some context, please?",
                    json!({ "type": "object", "properties": { "context": { "type": "string" } }, "required": ["context"] }),
                ) } }),
            })
        }
        "test_prompt_with_image" => Ok(json!({ "messages": [user(image()), user(text("Please analyze the image above.".into()))] })),
        _ => return None,
    })
}

pub fn complete(ref_type: &str, ref_name: &str) -> Option<Vec<String>> {
    match (ref_type, ref_name) {
        ("ref/prompt", "test_prompt_with_arguments") => Some(vec!["paris".into(), "park".into(), "party".into()]),
        ("ref/prompt", n) if n.starts_with("test_") => Some(Vec::new()),
        _ => None,
    }
}

/// The fixtures first, then this server's own resources and prompts.
pub struct Fixtures;

impl Catalogue for Fixtures {
    fn resources(&self) -> Vec<Value> {
        [super::catalogue::resources(), resources()].concat()
    }
    fn templates(&self) -> Vec<Value> {
        [super::catalogue::templates(), templates()].concat()
    }
    fn read(&self, uri: &str, origin: &str, tools: &[&Tool]) -> Option<Value> {
        read(uri).or_else(|| super::catalogue::read(uri, origin, tools))
    }
    fn prompts(&self) -> Vec<Value> {
        [super::catalogue::prompts(), prompts()].concat()
    }
    fn get_prompt(
        &self,
        name: &str,
        args: &Map<String, Value>,
        params: &Map<String, Value>,
        version: Version,
        tools: &[&Tool],
    ) -> Result<Value, PromptError> {
        match get_prompt(name, args, params, version) {
            Some(r) => r.map_err(PromptError::BadArgument),
            None => super::catalogue::get_prompt(name, args, tools),
        }
    }
    fn complete(
        &self,
        ref_type: &str,
        ref_name: &str,
        argument: &str,
        prefix: &str,
        tools: &[&Tool],
    ) -> Option<Vec<String>> {
        complete(ref_type, ref_name).or_else(|| super::catalogue::complete(ref_type, ref_name, argument, prefix, tools))
    }
    fn requires(&self, tool: &str) -> Option<&'static str> {
        requires(tool)
    }
}

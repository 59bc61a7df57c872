//! JSON-RPC 2.0 envelopes, parsed strictly. Ids are echoed exactly as received.

use serde_json::{json, Map, Value};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// 2026-07-28: an HTTP header disagrees with the body, or a required one is missing.
pub const HEADER_MISMATCH: i64 = -32020;
/// 2026-07-28: a request needs a client capability the client did not declare.
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
/// 2026-07-28: the requested protocol version is not supported.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError { code, message: message.into(), data: None }
    }

    pub fn with_data(mut self, data: Value) -> RpcError {
        self.data = Some(data);
        self
    }

    pub fn invalid_params(message: impl Into<String>) -> RpcError {
        RpcError::new(INVALID_PARAMS, message)
    }

    pub fn method_not_found(method: &str) -> RpcError {
        RpcError::new(METHOD_NOT_FOUND, "Method not found").with_data(json!({ "method": method }))
    }

    /// The full response envelope. `id` is `null` when the request's id could not be read.
    pub fn to_response(&self, id: Option<&Value>) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        json!({ "jsonrpc": "2.0", "id": id.cloned().unwrap_or(Value::Null), "error": error })
    }
}

/// One message from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    Notification {
        method: String,
        params: Map<String, Value>,
    },
    /// A response to a server-to-client request; this server sends none, so it is acknowledged.
    Response {
        id: Value,
    },
}

/// Why a message is not a valid JSON-RPC message, with the id to answer when one was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub id: Option<Value>,
    pub error: RpcError,
}

fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        // MCP: ids are strings or integers; never null.
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

/// Classifies one parsed JSON value as a JSON-RPC message.
pub fn parse_message(value: &Value) -> Result<Message, Invalid> {
    let invalid = |id: Option<Value>, msg: &str| Invalid { id, error: RpcError::new(INVALID_REQUEST, msg) };
    let Some(obj) = value.as_object() else {
        return Err(invalid(None, "A JSON-RPC message must be an object"));
    };
    let id = obj.get("id").filter(|id| valid_id(id)).cloned();
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, "\"jsonrpc\" must be \"2.0\""));
    }
    if let Some(raw) = obj.get("id") {
        if !valid_id(raw) {
            return Err(invalid(None, "\"id\" must be a string or an integer"));
        }
    }
    match obj.get("method") {
        Some(Value::String(method)) => {
            let params = match obj.get("params") {
                None => Map::new(),
                Some(Value::Object(p)) => p.clone(),
                Some(Value::Array(_)) => {
                    return Err(Invalid {
                        id,
                        error: RpcError::invalid_params("\"params\" must be an object (named parameters)"),
                    })
                }
                Some(_) => return Err(invalid(id, "\"params\" must be an object")),
            };
            if obj.contains_key("result") || obj.contains_key("error") {
                return Err(invalid(id, "A request must not carry \"result\" or \"error\""));
            }
            Ok(match id {
                Some(id) => Message::Request { id, method: method.clone(), params },
                None => Message::Notification { method: method.clone(), params },
            })
        }
        Some(_) => Err(invalid(id, "\"method\" must be a string")),
        None => match id {
            Some(id) if obj.contains_key("result") != obj.contains_key("error") => Ok(Message::Response { id }),
            _ => Err(invalid(id, "Not a request, notification or response")),
        },
    }
}

/// A success envelope.
pub fn result_response(id: &Value, result: Value) -> Value {
    // Built by hand: `json!` would copy the whole result, which can be a megabyte.
    let mut m = Map::new();
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("id".into(), id.clone());
    m.insert("result".into(), result);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Message, Invalid> {
        parse_message(&serde_json::from_str(s).unwrap())
    }

    #[test]
    fn requests_notifications_and_responses() {
        assert_eq!(
            parse(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Ok(Message::Request { id: json!(1), method: "ping".into(), params: Map::new() })
        );
        assert_eq!(
            parse(r#"{"jsonrpc":"2.0","id":"a","method":"x","params":{"k":1}}"#)
                .map(|m| matches!(m, Message::Request { .. })),
            Ok(true)
        );
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Message::Notification { .. })
        ));
        assert!(matches!(parse(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#), Ok(Message::Response { .. })));
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}"#),
            Ok(Message::Response { .. })
        ));
    }

    #[test]
    fn invalid_envelopes() {
        let code = |s: &str| parse(s).unwrap_err().error.code;
        assert_eq!(code(r#"[]"#), INVALID_REQUEST);
        assert_eq!(code(r#"1"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"id":1,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#), INVALID_PARAMS);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#), INVALID_REQUEST);
    }

    #[test]
    fn the_id_is_kept_for_the_error_when_readable() {
        let e = parse(r#"{"jsonrpc":"1.0","id":"keep","method":"ping"}"#).unwrap_err();
        assert_eq!(e.id, Some(json!("keep")));
        let r = e.error.to_response(e.id.as_ref());
        assert_eq!(r["id"], "keep");
        assert_eq!(r["error"]["code"], INVALID_REQUEST);
        assert_eq!(RpcError::new(1, "m").to_response(None)["id"], Value::Null);
    }
}

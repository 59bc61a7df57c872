//! How the cost of `tools/call` and `tools/list` grows with the size of the arguments and with
//! the number of registered tools: the whole MCP transport (body parse, dispatch, schema
//! validation, the tool, serialization) run natively, against a reference measured in the same
//! run: parsing the same request body and writing the same result with serde_json alone, the
//! least any JSON server must do. Run by `npm run bench` (or `cargo bench --bench scale`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use mcp_oauth_worker::rules::mcp::tool::{Args, Call, Hints, Output, Registry, Run, Tool, ToolError};
use mcp_oauth_worker::web::http::{Body, RequestInfo};
use mcp_oauth_worker::web::mcp::{self, Endpoint};
use serde_json::{json, Value};

use mcp_oauth_worker::rules::platform::block_on;

/// Median time of one call of `f`, over enough repetitions to fill about `budget`.
fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(50));
    let per_sample = ((budget.as_nanos() / 15) / once.as_nanos()).clamp(1, 100_000) as u32;
    let mut samples: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_sample {
                f();
            }
            t.elapsed() / per_sample
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn request(body: String) -> RequestInfo {
    let url = "https://mcp.example/mcp".parse().expect("a constant URL");
    let mut req = RequestInfo::new(
        "POST",
        url,
        vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json, text/event-stream".into()),
            ("mcp-protocol-version".into(), "2025-11-25".into()),
        ],
    );
    req.body = Body::Bytes(body.into_bytes());
    req
}

fn post(tools: &Registry, req: &RequestInfo) -> usize {
    let ep = Endpoint {
        allowed_origins: &[],
        caller: None,
        state_key: None,
        session_key: None,
        local_only: false,
        io: None,
        tools,
    };
    let reply = block_on(mcp::post(req, &ep));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body.len()
}

fn synthetic(n: usize) -> Vec<&'static Tool> {
    fn run(args: &Args, _: &Call) -> Result<Output, ToolError> {
        Ok(Output::text(args.str("message")?.to_string()))
    }
    (0..n)
        .map(|i| {
            let name: &'static str = Box::leak(format!("tool_{i:05}").into_boxed_str());
            let tool = Tool {
                name,
                title: "Synthetic",
                description: "A tool like echo, registered to measure how the server scales with the tool count.",
                input_schema: r#"{"type":"object","properties":{"message":{"type":"string","maxLength":1000}},"required":["message"],"additionalProperties":false}"#,
                output_schema: None,
                hints: Hints::PURE,
                scope: "mcp",
                run: Run::Pure(run),
            };
            &*Box::leak(Box::new(tool))
        })
        .collect()
}

fn main() {
    let budget = Duration::from_millis(std::env::var("SCALE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(600));
    let builtin = mcp_oauth_worker::tools::registry();

    println!("tools/call echo by argument size (native, whole MCP transport; reference: serde_json parse of the body + write of the same result)");
    println!("| message | request bytes | response bytes | ours µs | reference µs | × reference | ours ns/byte |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for kib in [1usize, 8, 64, 512] {
        let message = "x".repeat(kib * 1024 - 1) + "é";
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": message}}})
        .to_string();
        let req = request(body.clone());
        let out_bytes = post(builtin, &req);
        let ours = time(budget, || {
            black_box(post(builtin, black_box(&req)));
        });
        let reference = time(budget, || {
            let v: Value = serde_json::from_slice(black_box(body.as_bytes())).expect("valid JSON");
            let args = &v["params"]["arguments"];
            let m = args["message"].as_str().unwrap_or("");
            let structured = json!({"message": m, "length": m.chars().count()});
            let text = structured.to_string();
            let out = json!({"jsonrpc": "2.0", "id": v["id"], "result": {
                "content": [{"type": "text", "text": text}], "structuredContent": structured}});
            black_box(serde_json::to_vec(&out).expect("serializable"));
        });
        let bytes = (body.len() + out_bytes) as f64;
        println!(
            "| {kib} KiB | {} | {out_bytes} | {:.1} | {:.1} | {:.2} | {:.2} |",
            body.len(),
            ours.as_secs_f64() * 1e6,
            reference.as_secs_f64() * 1e6,
            ours.as_secs_f64() / reference.as_secs_f64(),
            ours.as_nanos() as f64 / bytes
        );
    }

    println!();
    println!("By number of registered tools (built-in + synthetic; call: echo with a 1 KiB message)");
    println!("| tools | tools/list µs | list µs per tool | list response bytes | tools/call µs |");
    println!("| --- | --- | --- | --- | --- |");
    let list = request(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string());
    let call = request(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": "x".repeat(1024)}}})
        .to_string(),
    );
    for extra in [0usize, 10, 100, 1000] {
        let registry = Registry::new(builtin.tools().into_iter().chain(synthetic(extra)));
        let n = registry.tools().len();
        let list_bytes = post(&registry, &list);
        let l = time(budget, || {
            black_box(post(&registry, black_box(&list)));
        });
        let c = time(budget, || {
            black_box(post(&registry, black_box(&call)));
        });
        println!(
            "| {n} | {:.1} | {:.2} | {list_bytes} | {:.1} |",
            l.as_secs_f64() * 1e6,
            l.as_secs_f64() * 1e6 / n as f64,
            c.as_secs_f64() * 1e6
        );
    }
}

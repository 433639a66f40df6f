"""The same job as the mcp-server Lambda, in Python, for scripts/measure-mcp.sh to compare
against: every tool of crates/common/src/tools/*.json listed with its schema and read-only
annotations, each call forwarded to the tool's Lambda with boto3's Invoke, served over
Streamable HTTP by the official SDK (PyPI `mcp`, its low-level `Server`: the tools have
JSON schemas already, which the decorator-based `MCPServer` would derive from Python
signatures instead), stateless and answering JSON.

    python mcp_python_server.py <port>

boto3 is imported on the first call, as the Rust server builds its Lambda client on the first
call: the first tools/list measures the server, not the AWS SDK.
"""

import json
import pathlib
import sys

import mcp_types as types
import uvicorn
from mcp.server.lowlevel import Server

TOOLS_DIR = pathlib.Path(__file__).resolve().parents[2] / "crates/common/src/tools"
ORDER = [
    "prometheus_alerts", "cloudwatch", "prometheus_metadata", "prometheus_query",
    "prometheus_range_query", "eks_info", "k8s_info", "cloudtrail", "runbooks", "web_search",
]
SPECS = {s["name"]: s for s in (json.loads(p.read_text()) for p in TOOLS_DIR.glob("*.json"))}
TOOLS = [
    types.Tool(
        name=name,
        title=SPECS[name]["title"],
        description=SPECS[name]["description"],
        input_schema=SPECS[name]["input_schema"],
        annotations=types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True,
            open_world_hint=name == "web_search",
        ),
    )
    for name in ORDER
]
_lambda = None


async def list_tools(ctx, params):
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx, params):
    global _lambda
    if _lambda is None:
        import boto3  # on first use, as the Rust server's client

        _lambda = boto3.client("lambda")
    function = params.name.replace("_", "-")
    out = _lambda.invoke(FunctionName=function, Payload=json.dumps(params.arguments or {}).encode())
    text = out["Payload"].read().decode()
    result = json.loads(text)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=result,
        is_error="error" in result,
    )


server = Server("devops-agent-tools-python", on_list_tools=list_tools, on_call_tool=call_tool)
app = server.streamable_http_app(stateless_http=True, json_response=True)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")

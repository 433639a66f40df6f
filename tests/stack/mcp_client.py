"""A real MCP client against the MCP server: the official Python SDK (PyPI `mcp`), over its
Streamable HTTP transport, in one protocol era. tests/mcp.rs runs it and asserts on the one
JSON document it prints.

    python mcp_client.py <url> <mode> <down-tool> <down-arguments-json>

<mode> is the SDK's connect mode: `auto` probes `server/discover` and speaks 2026-07-28 when
the server does (it does), `legacy` forces the 2025-11-25 `initialize` handshake. The client
lists the tools, then calls one that succeeds (`prometheus_query` `up`), one whose arguments
fail the schema, one the test has made fail upstream (<down-tool>), and one that does not exist.
"""

import asyncio
import json
import sys

from mcp import Client


def result(r):
    """A tool result as plain JSON: isError, the text, the structured content."""
    return {
        "is_error": bool(r.is_error),
        "text": r.content[0].text if r.content else None,
        "structured": r.structured_content,
    }


async def main(url, mode, down_tool, down_arguments):
    out = {"mode": mode}
    async with Client(url, mode=mode) as client:
        out["protocol_version"] = client.protocol_version
        info = client.server_info
        out["server_name"] = info.name if info else None
        out["capabilities"] = client.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        listed = await client.list_tools()
        out["tools"] = [
            {
                "name": t.name,
                "title": t.title,
                "annotations": t.annotations.model_dump(by_alias=True, exclude_none=True) if t.annotations else None,
                "required": t.input_schema.get("required", []),
                "has_output_schema": t.output_schema is not None,
            }
            for t in listed.tools
        ]
        out["ok"] = result(await client.call_tool("prometheus_query", {"query": "up"}))
        out["invalid"] = result(await client.call_tool("prometheus_query", {"max_series": "all", "colour": "red"}))
        out["down"] = result(await client.call_tool(down_tool, down_arguments))
        try:
            r = await client.call_tool("delete_cluster", {})
            out["unknown"] = {"raised": False, "result": result(r)}
        except Exception as e:  # the SDK raises the JSON-RPC error
            error = getattr(e, "error", None)
            out["unknown"] = {
                "raised": True,
                "code": getattr(error, "code", None),
                "message": getattr(error, "message", str(e)),
            }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])))

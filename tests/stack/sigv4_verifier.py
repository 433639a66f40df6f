"""An HTTP server that accepts only requests carrying a valid AWS SigV4 signature.

It recomputes each signature with botocore, an implementation independent of the
aws-sigv4 crate that signed the request, from the bytes that actually arrived: the method,
the raw path and query as sent, the headers named in SignedHeaders and the body. A mismatch
is answered 403 with the canonical request botocore built, so a failing test shows why.

A verified request is answered 200 with what was received (JSON), or, with --upstream, is
forwarded to that URL (a real Prometheus) and its answer relayed: an AMP stand-in whose
signature check is real.

On start it prints "LISTENING <port>" on stdout (it binds port 0 on 127.0.0.1, so tests
never race for a port).
"""

import argparse
import datetime
import hmac
import json
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = datetime.timedelta(minutes=5)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "host", "content-length"}


def parse_authorization(value):
    algorithm, _, rest = value.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise ValueError(f"unexpected algorithm {algorithm!r}")
    fields = {}
    for part in rest.split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    access_key, date, region, service, terminator = fields["Credential"].split("/")
    if terminator != "aws4_request":
        raise ValueError("credential scope does not end in aws4_request")
    return {
        "access_key": access_key, "date": date, "region": region, "service": service,
        "signed_headers": fields["SignedHeaders"].split(";"), "signature": fields["Signature"],
    }


class Verifier(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    args = None

    def log_message(self, fmt, *a):  # keep test output quiet; failures are in the body
        pass

    def reply(self, status, payload, content_type="application/json"):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        problem = self.verify(body)
        if problem is not None:
            self.server.rejected += 1
            self.reply(403, problem)
            return
        self.server.verified += 1
        if self.args.upstream:
            self.forward(body)
            return
        path, _, query = self.path.partition("?")
        self.reply(200, {"verified": True, "method": self.command, "path": path, "query": query,
                         "body": body.decode("utf-8", "replace"),
                         "signed_headers": parse_authorization(self.headers["authorization"])["signed_headers"]})

    def verify(self, body):
        a = self.args
        header = self.headers.get("authorization")
        if not header:
            return {"message": "missing authorization header"}
        try:
            auth = parse_authorization(header)
        except (ValueError, KeyError) as e:
            return {"message": f"malformed authorization header: {e}"}
        if auth["access_key"] != a.access_key:
            return {"message": "unknown access key"}
        if (auth["region"], auth["service"]) != (a.region, a.service):
            return {"message": f"scope {auth['region']}/{auth['service']} is not {a.region}/{a.service}"}
        amz_date = self.headers.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return {"message": "missing or malformed x-amz-date"}
        if abs(datetime.datetime.now(datetime.timezone.utc) - when) > MAX_SKEW:
            return {"message": "x-amz-date is more than 5 minutes from now"}
        if auth["date"] != amz_date[:8]:
            return {"message": "credential scope date does not match x-amz-date"}
        for required in ["host", "x-amz-date"] + (["x-amz-security-token"] if a.token else []):
            if required not in auth["signed_headers"]:
                return {"message": f"{required} is not signed"}
        if a.token and self.headers.get("x-amz-security-token") != a.token:
            return {"message": "wrong or missing session token"}
        headers = {}
        for name in auth["signed_headers"]:
            value = self.headers.get(name)
            if value is None:
                return {"message": f"signed header {name} is missing"}
            headers[name] = value
        request = AWSRequest(method=self.command, url=f"http://{self.headers['host']}{self.path}",
                             data=body, headers=headers)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(a.access_key, a.secret_key, a.token), a.service, a.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, auth["signature"]):
            return {"message": "signature mismatch", "canonical_request": canonical}
        return None

    def forward(self, body):
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() != "authorization"
                   and not k.lower().startswith("x-amz-")}
        path = self.path
        if self.args.strip_prefix and path.startswith(self.args.strip_prefix):
            path = path[len(self.args.strip_prefix):] or "/"
        request = urllib.request.Request(self.args.upstream + path, data=body or None,
                                         headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                self.reply(response.status, response.read(), response.headers.get("content-type", "application/json"))
        except urllib.error.HTTPError as e:
            self.reply(e.code, e.read(), e.headers.get("content-type", "application/json"))

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    verified = 0
    rejected = 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--token")
    p.add_argument("--region", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--upstream", help="forward verified requests to this base URL")
    p.add_argument("--strip-prefix", help="remove this path prefix before forwarding (e.g. /workspaces/ws-1)")
    Verifier.args = p.parse_args()
    server = Server(("127.0.0.1", 0), Verifier)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

"""A Kubernetes API server double: the REST/JSON protocol of an EKS cluster's API server, over TLS.

It serves the objects and container logs of stack/k8s_fixtures.json (cluster prod-eu in trouble)
read-only, as the real API server spells them: single objects with kind and apiVersion, lists
as `<Kind>List` whose items carry neither, errors as `Status` objects with the real messages,
paging with `limit`/`continue`, label and field selectors, and pod logs chosen the way the
kubelet chooses them. Times in the fixtures are relative to the moment the double starts.

Authentication is EKS's: every request carries `Authorization: Bearer k8s-aws-v1.<unpadded
base64url of a presigned STS GetCallerIdentity URL>`. The checks aws-iam-authenticator makes
(host, path, allowed parameters, Action, x-k8s-aws-id signed, X-Amz-Date no older than 15
minutes) are made here, and STS's part (the signature) is recomputed with botocore for service
`sts`, with the known secret of the access key and the header `x-k8s-aws-id: <cluster>` that
the authenticator sends, so a token presigned for another cluster, with another secret, or
tampered with, is refused with 401 like any invalid one. Why a token was refused goes to
stderr, never to the client (the real server says only "Unauthorized").

Test controls, with no network round trip: the state directory (--state-dir) holds
`requests.jsonl`, one line per request answered ({"method", "path", "query", "status"}, in
order; written before the answer is sent), and `control.json`, re-read on every request:
  {"reject_before": <unix seconds>}  refuse every token whose X-Amz-Date is earlier
  {"forbid": ["/api/v1/secrets", ...]} answer 403 Forbidden under these path prefixes
  {"continue_generation": <n>}       continue tokens minted before the last bump are expired (410)

As the real API server: a list in a namespace that does not exist is 200 with no items
(`GET /api/v1/namespaces/x` is the 404 `namespaces "x" not found`); a malformed `continue` is
400, a well-formed one it did not hand out (or expired) 410 `Expired`; a path outside /api and
/apis is a plain-text `404 page not found`. Not served: watch (400 here), follow on logs
(answered with the log so far), Table and protobuf answers, other resources (services,
ingresses, … are 404 here), anonymous requests (EKS lets them read /version, /healthz).

On start it prints "LISTENING <port>" on stdout (it binds port 0 on 127.0.0.1).
"""

import argparse
import base64
import binascii
import copy
import datetime
import hmac
import json
import os
import re
import ssl
import sys
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_MAX_AGE = datetime.timedelta(minutes=15)
MAX_EXPIRES = 900
# aws-iam-authenticator refuses any other query parameter.
ALLOWED_PARAMS = {"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                  "X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-SignedHeaders"}
REQUIRED_PARAMS = ALLOWED_PARAMS - {"X-Amz-Security-Token"}
# The headers the authenticator's request to STS carries that a presigned URL may sign.
SIGNABLE_HEADERS = {"host", "x-k8s-aws-id"}
USER = "arn:aws:sts::123456789012:assumed-role/devops-agent-k8s-info/devops-agent"

# kind -> (group, version, plural, namespaced, fields selectable besides metadata.name/namespace)
KINDS = {
    "Namespace": ("", "v1", "namespaces", False, {"status.phase"}),
    "Node": ("", "v1", "nodes", False, {"spec.unschedulable"}),
    "Pod": ("", "v1", "pods", True, {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                     "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                                     "status.nominatedNodeName"}),
    "Event": ("", "v1", "events", True, {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                         "involvedObject.uid", "involvedObject.apiVersion",
                                         "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                                         "reportingComponent", "source", "type"}),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True, set()),
    "Secret": ("", "v1", "secrets", True, {"type"}),
    "ConfigMap": ("", "v1", "configmaps", True, set()),
    "Deployment": ("apps", "v1", "deployments", True, set()),
    "StatefulSet": ("apps", "v1", "statefulsets", True, set()),
    "DaemonSet": ("apps", "v1", "daemonsets", True, set()),
    "ReplicaSet": ("apps", "v1", "replicasets", True, {"status.replicas"}),
    "Job": ("batch", "v1", "jobs", True, {"status.successful"}),
}
RESOURCES = {(g, v, plural): kind for kind, (g, v, plural, _, _) in KINDS.items()}
GROUP_VERSIONS = {("", "v1"), ("apps", "v1"), ("batch", "v1")}
POD_STREAMS = {"exec", "attach", "portforward"}

NOW_RE = re.compile(r"^<now(?:-(\d+)([smhd]))?>$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(t):
    """Go's time.RFC3339Nano: fraction with trailing zeros dropped (the kubelet's timestamps)."""
    frac = f"{t.microsecond:06d}000".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def resolve_times(value, now):
    if isinstance(value, dict):
        return {k: resolve_times(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_times(v, now) for v in value]
    if isinstance(value, str):
        m = NOW_RE.match(value)
        if m:
            seconds = int(m.group(1)) * UNITS[m.group(2)] if m.group(1) else 0
            return rfc3339(now - datetime.timedelta(seconds=seconds))
    return value


class ApiError(Exception):
    """An answer other than 200: a Status object (or plain text for paths outside the API)."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def qualified(kind):
    group, _, plural, _, _ = KINDS[kind]
    return f"{plural}.{group}" if group else plural


def not_found(kind, name):
    group, _, plural, _, _ = KINDS[kind]
    details = {"name": name, "kind": plural}
    if group:
        details = {"name": name, "group": group, "kind": plural}
    return ApiError(404, "NotFound", f'{qualified(kind)} "{name}" not found', details)


NO_RESOURCE = ApiError(404, "NotFound", "the server could not find the requested resource", {})


# ---------------------------------------------------------------------------- selectors

# A label key (optional DNS prefix and "/") and value, without capture groups.
LABEL_KEY = r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[a-z0-9A-Z](?:[-a-z0-9A-Z_.]*[a-z0-9A-Z])?"
LABEL_VALUE = r"(?:[a-z0-9A-Z](?:[-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?"


def split_outside_parens(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def parse_label_selector(text):
    """labels.Parse: equality (=, ==, !=), set-based (in, notin), existence (key, !key), gt/lt."""
    requirements = []
    if not text.strip():
        return requirements
    for raw in split_outside_parens(text):
        part = raw.strip()

        def invalid(why):
            return bad_request(f"unable to parse requirement: {why}: {part!r}")

        m = re.fullmatch(rf"({LABEL_KEY})\s+(in|notin)\s*\(([^()]*)\)", part)
        if m:
            values = [v.strip() for v in m.group(3).split(",")]
            if any(not re.fullmatch(LABEL_VALUE, v) for v in values):
                raise invalid("invalid label value")
            requirements.append((m.group(1), m.group(2), set(values)))
            continue
        m = re.fullmatch(rf"!\s*({LABEL_KEY})", part)
        if m:
            requirements.append((m.group(1), "!", None))
            continue
        m = re.fullmatch(rf"({LABEL_KEY})\s*(==|!=|=|<|>)\s*(\S*)", part)
        if m:
            key, op, value = m.group(1), m.group(2), m.group(3)
            if op in "<>":
                if not re.fullmatch(r"-?\d+", value):
                    raise invalid("for 'Gt', 'Lt' operators, the value must be an integer")
            elif not re.fullmatch(LABEL_VALUE, value):
                raise invalid("invalid label value")
            requirements.append((key, "==" if op == "=" else op, value))
            continue
        m = re.fullmatch(LABEL_KEY, part)
        if m:
            requirements.append((part, "exists", None))
            continue
        raise invalid("found unexpected token")
    return requirements


def labels_match(requirements, labels):
    for key, op, value in requirements:
        have = labels.get(key)
        ok = {
            "==": lambda: have == value,
            "!=": lambda: have != value,
            "in": lambda: have is not None and have in value,
            "notin": lambda: have not in value,
            "exists": lambda: have is not None,
            "!": lambda: have is None,
            ">": lambda: have is not None and re.fullmatch(r"-?\d+", have) is not None and int(have) > int(value),
            "<": lambda: have is not None and re.fullmatch(r"-?\d+", have) is not None and int(have) < int(value),
        }[op]()
        if not ok:
            return False
    return True


def split_unescaped(text, sep):
    parts, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current += "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def unescape_field(value):
    return re.sub(r"\\(.)", r"\1", value)


def parse_field_selector(text, kind):
    requirements = []
    if not text.strip():
        return requirements
    allowed = {"metadata.name", "metadata.namespace"} | KINDS[kind][4]
    for part in split_unescaped(text, ","):
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|!=|=)(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1), m.group(2), unescape_field(m.group(3).strip())
        if field not in allowed:
            raise bad_request(f'field label not supported: {field}')
        requirements.append((field, op != "!=", value))
    return requirements


def field_value(obj, field):
    meta = obj.get("metadata", {})
    if field == "metadata.name":
        return meta.get("name", "")
    if field == "metadata.namespace":
        return meta.get("namespace", "")
    spec, status = obj.get("spec", {}), obj.get("status", {})
    if field == "spec.hostNetwork":
        return "true" if spec.get("hostNetwork") else "false"
    if field == "spec.unschedulable":
        return "true" if spec.get("unschedulable") else "false"
    if field == "status.podIP":
        ips = status.get("podIPs") or []
        return ips[0]["ip"] if ips else ""
    if field.startswith("involvedObject."):
        return str(obj.get("involvedObject", {}).get(field.split(".", 1)[1], ""))
    if field == "source":
        return obj.get("source", {}).get("component", "")
    if field in ("reason", "reportingComponent", "type"):
        return str(obj.get(field, ""))
    if field in ("status.successful", "status.replicas"):
        return str(status.get(field.split(".", 1)[1], 0))
    section, _, name = field.partition(".")
    value = {"spec": spec, "status": status}.get(section, {}).get(name, "")
    return str(value) if value is not None else ""


def fields_match(requirements, obj):
    return all((field_value(obj, field) == value) == equal for field, equal, value in requirements)


# ---------------------------------------------------------------------------- the store

class Store:
    def __init__(self, fixtures, now):
        self.now = now
        self.version = fixtures["version"]
        self.objects = {}  # kind -> {(namespace, name): object}
        for obj in resolve_times(fixtures["objects"], now):
            meta = obj["metadata"]
            self.objects.setdefault(obj["kind"], {})[(meta.get("namespace", ""), meta["name"])] = obj
        self.resource_version = str(max(int(o["metadata"]["resourceVersion"])
                                        for objs in self.objects.values() for o in objs.values()) + 1)
        self.logs = {}
        for pod, containers in fixtures["logs"].items():
            for container, instances in containers.items():
                for instance, lines in instances.items():
                    self.logs[(pod, container, instance)] = [
                        (now + datetime.timedelta(seconds=offset), text) for offset, text in lines]

    def get(self, kind, namespace, name):
        obj = self.objects.get(kind, {}).get((namespace, name))
        if obj is None:
            raise not_found(kind, name)
        return obj

    def list(self, kind, namespace):
        """Objects in key order (namespace, name), as etcd returns them."""
        return [obj for key, obj in sorted(self.objects.get(kind, {}).items())
                if namespace is None or key[0] == namespace]


# ---------------------------------------------------------------------------- auth

def b64url_decode_unpadded(text):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("the token is not unpadded base64url")
    if len(text) % 4 == 1:
        raise ValueError("the token's base64 has an impossible length")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_token(header, args, control, now):
    """None if the bearer token is a valid EKS token for this cluster, else why not."""
    if not header:
        return "no Authorization header"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return f"the Authorization header is not a bearer token (scheme {scheme!r})"
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX):
        return f"the token does not start with {TOKEN_PREFIX}"
    try:
        url = b64url_decode_unpadded(token[len(TOKEN_PREFIX):]).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        return f"the token is not base64url of a URL: {e}"
    parts = urlsplit(url)
    expected_host = f"sts.{args.region}.amazonaws.com"
    if parts.scheme != "https":
        return f"the presigned URL's scheme is {parts.scheme!r}, not https"
    if parts.netloc != expected_host:
        return f"the presigned URL's host is {parts.netloc!r}, not {expected_host!r}"
    if parts.path != "/":
        return f"the presigned URL's path is {parts.path!r}, not /"
    if parts.fragment:
        return "the presigned URL has a fragment"
    params = {}
    raw_pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        raw_key, _, raw_value = pair.partition("=")
        key, value = unquote(raw_key), unquote(raw_value)
        if key not in ALLOWED_PARAMS:
            return f"non-whitelisted query parameter {key!r}"
        if key in params:
            return f"query parameter {key!r} appears twice"
        params[key] = value
        raw_pairs.append((key, value))
    missing = sorted(REQUIRED_PARAMS - params.keys())
    if missing:
        return f"the presigned URL lacks {', '.join(missing)}"
    if params["Action"] != "GetCallerIdentity":
        return f"Action is {params['Action']!r}, not GetCallerIdentity"
    if params["Version"] != "2011-06-15":
        return f"Version is {params['Version']!r}, not 2011-06-15"
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        return f"X-Amz-Algorithm is {params['X-Amz-Algorithm']!r}"
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        return f"X-Amz-Expires is not an integer: {params['X-Amz-Expires']!r}"
    if not 0 < expires <= MAX_EXPIRES:
        return f"X-Amz-Expires {expires} is not in 1..{MAX_EXPIRES}"
    amz_date = params["X-Amz-Date"]
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return f"X-Amz-Date is malformed: {amz_date!r}"
    if now - signed_at > TOKEN_MAX_AGE:
        return f"X-Amz-Date {amz_date} is expired (15 minute expiration)"
    if signed_at - now > TOKEN_MAX_AGE:
        return f"X-Amz-Date {amz_date} is in the future"
    reject_before = control.get("reject_before")
    if reject_before is not None and signed_at.timestamp() < reject_before:
        return f"X-Amz-Date {amz_date} is before the cut-off the test set (reject_tokens_before_now)"
    credential = params["X-Amz-Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        return f"X-Amz-Credential is malformed: {params['X-Amz-Credential']!r}"
    access_key, scope_date, scope_region, scope_service, _ = credential
    if scope_date != amz_date[:8]:
        return "the credential scope's date is not X-Amz-Date's"
    if (scope_region, scope_service) != (args.region, "sts"):
        return f"the credential scope is {scope_region}/{scope_service}, not {args.region}/sts"
    known = args.credentials.get(access_key)
    if known is None:
        return f"unknown access key {access_key!r}"
    secret, session_token = known
    if "X-Amz-Security-Token" in params and params["X-Amz-Security-Token"] != session_token:
        return "wrong X-Amz-Security-Token for the access key"
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    if "x-k8s-aws-id" not in signed_headers:
        return "x-k8s-aws-id is not among the signed headers"
    if not set(signed_headers) <= SIGNABLE_HEADERS or "host" not in signed_headers:
        return f"signed headers {signed_headers} are not host and x-k8s-aws-id"
    # STS's side: recompute the signature of the request the authenticator would send, whose
    # x-k8s-aws-id header is this cluster's name. The query is canonicalised from the decoded
    # parameters (RFC 3986 encoding, sorted), as AWS does whatever the client's encoding was.
    canonical_query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                      for k, v in raw_pairs if k != "X-Amz-Signature"))
    headers = {"host": expected_host, "x-k8s-aws-id": args.cluster}
    request = AWSRequest(method="GET", url=f"https://{expected_host}/?{canonical_query}",
                         headers={k: v for k, v in headers.items() if k in signed_headers})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key, secret, session_token), "sts", args.region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        shown = re.sub(r"(X-Amz-Security-Token=)[^&\n]*", r"\1<redacted>", canonical)
        return ("signature mismatch (another cluster, another secret, or a changed URL); canonical request "
                f"for cluster {args.cluster!r}:\n{shown}")
    return None


# ---------------------------------------------------------------------------- logs

def parse_bool(value):
    # strconv.ParseBool
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False", ""):
        return False
    raise bad_request(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_int(name, value):
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def pod_log(store, pod, query):
    name = pod["metadata"]["name"]
    namespace = pod["metadata"]["namespace"]
    spec = pod["spec"]
    all_containers = [c["name"] for key in ("initContainers", "containers", "ephemeralContainers")
                      for c in spec.get(key, [])]
    container = query.get("container", "")
    if not container:
        if len(spec["containers"]) == 1:
            container = spec["containers"][0]["name"]
        else:
            names = " ".join(all_containers)
            raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{names}]")
    elif container not in all_containers:
        raise bad_request(f"container {container} is not valid for pod {name}")

    previous = parse_bool(query.get("previous", "false"))
    timestamps = parse_bool(query.get("timestamps", "false"))
    errors = []
    tail = since = limit = since_time = None
    if "tailLines" in query:
        tail = parse_int("tailLines", query["tailLines"])
        if tail < 0:
            errors.append(f"tailLines: Invalid value: {tail}: must be greater than or equal to 0")
    if "sinceSeconds" in query:
        since = parse_int("sinceSeconds", query["sinceSeconds"])
        if since < 1:
            errors.append(f"sinceSeconds: Invalid value: {since}: must be greater than 0")
    if "sinceTime" in query:
        try:
            since_time = datetime.datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f'parsing time "{query["sinceTime"]}" as "2006-01-02T15:04:05Z07:00": '
                              'cannot parse') from None
        if since is not None:
            errors.append("sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
    if "limitBytes" in query:
        limit = parse_int("limitBytes", query["limitBytes"])
        if limit < 1:
            errors.append(f"limitBytes: Invalid value: {limit}: must be greater than 0")
    if errors:
        raise ApiError(422, "Invalid", f'PodLogOptions "{name}" is invalid: [{", ".join(errors)}]'
                       if len(errors) > 1 else f'PodLogOptions "{name}" is invalid: {errors[0]}',
                       {"name": name, "kind": "PodLogOptions",
                        "causes": [{"reason": "FieldValueInvalid", "message": e} for e in errors]})
    if not spec.get("nodeName"):
        return ""  # not scheduled: the API server has no kubelet to ask and answers an empty stream

    # The kubelet's choice of container instance (validateContainerLogStatus).
    status = pod.get("status", {})
    statuses = [s for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses")
                for s in status.get(key, []) if s["name"] == container]
    if not statuses:
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
    state, last = statuses[0].get("state", {}), statuses[0].get("lastState", {})
    if previous:
        if not last.get("terminated", {}).get("containerID"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        instance = "previous"
    elif "running" in state:
        instance = "current"
    elif "terminated" in state:
        instance = "current" if state["terminated"].get("containerID") else "previous"
    elif last.get("terminated", {}).get("containerID"):
        instance = "previous"
    else:
        reason = state.get("waiting", {}).get("reason", "ContainerCreating")
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    lines = store.logs.get((f"{namespace}/{name}", container, instance), [])
    if tail is not None:
        lines = lines[max(0, len(lines) - tail):]
    if since is not None:
        since_time = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=since)
    if since_time is not None:
        lines = [(t, text) for t, text in lines if t >= since_time]
    text = "".join(f"{rfc3339_nano(t)} {line}\n" if timestamps else f"{line}\n" for t, line in lines)
    if limit is not None:
        text = text.encode()[:limit].decode("utf-8", "ignore")
    return text


# ---------------------------------------------------------------------------- the server

class Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK
    # stalls each kept-alive answer by about 40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "k8s-double"
    sys_version = ""

    def log_message(self, fmt, *a):  # quiet; refusals are explained on stderr by name
        pass

    def note(self, message):
        sys.stderr.write(f"[k8s-double] {self.command} {self.path}: {message}\n")
        sys.stderr.flush()

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        path, _, query = self.path.partition("?")
        try:
            status, content_type, body = self.answer(path, query)
        except ApiError as e:
            if e.reason == "PlainNotFound":
                status, content_type, body = 404, "text/plain; charset=utf-8", b"404 page not found\n"
            else:
                status, content_type, body = e.code, "application/json", compact(e.status())
        except Exception:  # a bug in the double: say so loudly, answer 500 as the API would
            self.note("internal error\n" + traceback.format_exc())
            err = ApiError(500, "InternalError", "Internal error occurred: the k8s double failed; see its log")
            status, content_type, body = 500, "application/json", compact(err.status())
        self.server.record({"method": self.command, "path": path, "query": query, "status": status})
        self.send_response(status)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", content_type)
        if status != 401 and content_type == "application/json":
            self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "e4c3a6b1-2f0d-4d3e-9a8b-7c6d5e4f3a2b")
            self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    def answer(self, path, raw_query):
        server = self.server
        control = server.control()
        now = datetime.datetime.now(datetime.timezone.utc)
        problem = verify_token(self.headers.get("authorization"), server.args, control, now)
        if problem is not None:
            self.note(f"401: {problem}")
            raise ApiError(401, "Unauthorized", "Unauthorized")
        route = parse_route(path)
        for prefix in control.get("forbid", []):
            if path.startswith(prefix):
                raise forbidden(route, path)
        if self.command != "GET":
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource", {})
        accept = self.headers.get("accept", "")
        if accept and not any(t.split(";")[0].strip() in ("application/json", "*/*", "application/*")
                              for t in accept.split(",")):
            raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, "
                                                 "application/yaml, application/vnd.kubernetes.protobuf")
        query = {}
        for pair in raw_query.split("&") if raw_query else []:
            key, _, value = pair.partition("=")
            query.setdefault(unquote(key.replace("+", " ")), unquote(value.replace("+", " ")))
        if parse_bool(query.get("watch", "false")):
            raise bad_request("watch is not supported by the k8s double")
        store = server.store
        what = route[0]
        if what == "version":
            return self.json(store.version)
        if what == "discovery":
            return self.json(route[1])
        if what == "list":
            _, kind, namespace = route
            return self.json(server.list(kind, namespace, query, control))
        if what == "get":
            _, kind, namespace, name = route
            return self.json(store.get(kind, namespace, name))
        if what == "log":
            _, namespace, name = route
            pod = store.get("Pod", namespace, name)
            return 200, "text/plain", pod_log(store, pod, query).encode()
        if what == "stream":
            store.get("Pod", route[1], route[2])
            raise bad_request("Upgrade request required")
        raise route[1]

    @staticmethod
    def json(obj):
        return 200, "application/json", compact(obj)


def discovery(group, version):
    resources = []
    for kind, (g, v, plural, namespaced, _) in sorted(KINDS.items()):
        if (g, v) == (group, version):
            resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                              "kind": kind, "verbs": ["get", "list"]})
            if kind == "Pod":
                resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                                  "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def parse_route(path):
    """('version',) / ('discovery', body) / ('list', kind, ns|None) / ('get', kind, ns, name) /
    ('log', ns, name) / ('stream', ns, name) / ('missing', ApiError)."""
    segments = path.strip("/").split("/") if path.strip("/") else []
    if segments == ["version"]:
        return ("version",)
    if segments == ["api"]:
        return ("discovery", {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "ip-172-16-91-12.eu-west-1.compute.internal:443"}]})
    if segments == ["apis"]:
        groups = [{"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                   "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in ("apps", "batch")]
        return ("discovery", {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    if segments[:1] == ["api"] and len(segments) >= 2:
        group, version, rest = "", segments[1], segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 3:
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return ("missing", ApiError(404, "PlainNotFound", "404 page not found"))
    if (group, version) not in GROUP_VERSIONS:
        return ("missing", ApiError(404, "PlainNotFound", "404 page not found"))
    if not rest:
        return ("discovery", discovery(group, version))

    def kind_of(plural):
        return RESOURCES.get((group, version, plural))

    if len(rest) in (1, 2):
        kind = kind_of(rest[0])
        if kind is None or (len(rest) == 2 and KINDS[kind][3]):
            return ("missing", NO_RESOURCE)
        return ("list", kind, None) if len(rest) == 1 else ("get", kind, "", rest[1])
    if rest[0] == "namespaces" and group == "":
        namespace = rest[1]
        kind = kind_of(rest[2])
        if kind is None or not KINDS[kind][3]:
            return ("missing", NO_RESOURCE)
        if len(rest) == 3:
            return ("list", kind, namespace)
        if len(rest) == 4:
            return ("get", kind, namespace, rest[3])
        if len(rest) == 5 and kind == "Pod":
            if rest[4] == "log":
                return ("log", namespace, rest[3])
            if rest[4] in POD_STREAMS:
                return ("stream", namespace, rest[3])
            if rest[4] == "status":
                return ("get", kind, namespace, rest[3])
        if len(rest) == 5 and rest[4] == "status":
            return ("get", kind, namespace, rest[3])
    elif rest[0] == "namespaces" and len(rest) >= 3:
        kind = kind_of(rest[2])
        if kind is not None and KINDS[kind][3]:
            if len(rest) == 3:
                return ("list", kind, rest[1])
            if len(rest) == 4:
                return ("get", kind, rest[1], rest[3])
            if len(rest) == 5 and rest[4] == "status":
                return ("get", kind, rest[1], rest[3])
    return ("missing", NO_RESOURCE)


def forbidden(route, path):
    """403 worded as the RBAC authorizer words it."""
    verb, resource, group, namespace, name = "get", None, "", None, None
    if route[0] == "list":
        _, kind, namespace = route
        verb, resource, group = "list", KINDS[kind][2], KINDS[kind][0]
    elif route[0] == "get":
        _, kind, namespace, name = route
        resource, group = KINDS[kind][2], KINDS[kind][0]
        namespace = namespace or None
    elif route[0] in ("log", "stream"):
        _, namespace, name = route
        resource = "pods/log" if route[0] == "log" else f"pods/{path.rsplit('/', 1)[-1]}"
    if resource is None:
        return ApiError(403, "Forbidden", f'forbidden: User "{USER}" cannot get path "{path}"', {})
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    subject = f'{resource.split("/")[0]} "{name}"' if name else resource.split("/")[0]
    details = {"kind": resource.split("/")[0]}
    if name:
        details = {"name": name, "kind": resource.split("/")[0]}
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", f'{subject} is forbidden: User "{USER}" cannot {verb} resource '
                                      f'"{resource}" in API group "{group}" {where}', details)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, args, store, tls):
        super().__init__(("127.0.0.1", 0), Handler)
        self.args, self.store, self.tls = args, store, tls
        self.lock = threading.Lock()
        self.continue_tokens = {}  # token -> (generation, start key)
        self.requests_path = os.path.join(args.state_dir, "requests.jsonl")
        self.control_path = os.path.join(args.state_dir, "control.json")
        open(self.requests_path, "w").close()

    def control(self):
        try:
            with open(self.control_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def record(self, entry):
        with self.lock, open(self.requests_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def list(self, kind, namespace, query, control):
        group, version, _, _, _ = KINDS[kind]
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), kind)
        limit = parse_int("limit", query["limit"]) if query.get("limit") else 0
        generation = control.get("continue_generation", 0)
        start = None
        token = query.get("continue", "")
        if token:
            try:
                decoded = json.loads(base64.b64decode(token, validate=True))
                decoded["start"]
            except (ValueError, binascii.Error, KeyError, TypeError) as e:
                raise bad_request(f"continue key is not valid: {e}") from None
            with self.lock:
                minted = self.continue_tokens.get(token)
            if minted is None or minted[0] < generation:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent "
                                               "list result. You can start a new list without the continue parameter, "
                                               "or use the continue token in this response to retrieve the remainder "
                                               "of the results. Continuing with the provided token results in an "
                                               "inconsistent list - objects that were created, modified, or deleted "
                                               "between the time the first chunk was returned and now may show up in "
                                               "the list.", {})
            start = minted[1]
        matching = [o for o in self.store.list(kind, namespace)
                    if labels_match(labels, o["metadata"].get("labels", {})) and fields_match(fields, o)]
        if start is not None:
            matching = [o for o in matching if key_of(o) > start]
        metadata = {"resourceVersion": self.store.resource_version}
        page = matching
        if limit > 0 and len(matching) > limit:
            page = matching[:limit]
            last = key_of(page[-1])
            token = base64.b64encode(compact(
                {"v": "meta.k8s.io/v1", "rv": int(self.store.resource_version),
                 "start": "/".join(last) + "\u0000", "n": uuid.uuid4().hex[:8]})).decode()
            with self.lock:
                self.continue_tokens[token] = (generation, last)
            metadata["continue"] = token
            if not labels and not fields:
                metadata["remainingItemCount"] = len(matching) - limit
        items = []
        for obj in page:
            item = copy.deepcopy(obj)
            item.pop("kind", None)
            item.pop("apiVersion", None)
            items.append(item)
        return {"kind": f"{kind}List", "apiVersion": f"{group}/{version}" if group else version,
                "metadata": metadata, "items": items}

    def finish_request(self, request, client_address):
        # TLS per connection, in the connection's own thread: a client that refuses the
        # certificate fails its handshake without holding up anyone else. An idle keep-alive
        # connection is closed after 2 minutes, later than clients' pools drop theirs (50 s
        # for common::http and k8s-info), so a client never reuses one the double just closed.
        request.settimeout(120)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def key_of(obj):
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True, help="the cluster name tokens must be presigned for")
    p.add_argument("--region", required=True, help="the region of the STS endpoint and credential scope")
    p.add_argument("--credential", nargs=3, action="append", required=True,
                   metavar=("ACCESS_KEY", "SECRET_KEY", "SESSION_TOKEN"),
                   help="a known access key, its secret and its session token ('' for none); repeatable")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--fixtures", required=True)
    p.add_argument("--state-dir", required=True)
    args = p.parse_args()
    args.credentials = {access: (secret, token or None) for access, secret, token in args.credential}
    with open(args.fixtures) as f:
        fixtures = json.load(f)
    store = Store(fixtures, datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.key)
    tls.set_alpn_protocols(["http/1.1"])
    server = Server(args, store, tls)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

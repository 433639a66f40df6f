"""A CloudWatch and CloudWatch Logs double: the real wire protocols, in front of moto.

The Rust aws-sdk-cloudwatch speaks Smithy RPCv2 CBOR (`POST /service/GraniteServiceVersion20100801/
operation/<Operation>`, a CBOR map of the input members, `smithy-protocol: rpc-v2-cbor`), which
moto 5.2.5 answers with 404: its CloudWatch only knows the query and awsJson1_0 protocols. This
server sits between the SDK and moto and, per request:

* CloudWatch in CBOR: decodes the request (timestamps arrive as CBOR tag 1, epoch seconds; blobs as
  byte strings), sends the same operation to moto as awsJson1_0 (timestamps as epoch-seconds
  numbers, blobs as base64) and re-encodes moto's JSON answer as rpcv2Cbor, walking botocore's
  output shape so that every timestamp becomes tag 1, every double a CBOR float and every blob a
  byte string. moto's JSON error (`__type`, `message`, status) becomes the rpcv2Cbor error: the
  same status, a CBOR map `{"__type": "com.amazonaws.cloudwatch#<ErrorShape>", "message": ...}`
  and the header `x-amzn-query-error: <Code>;Sender`. CloudWatch is "awsQueryCompatible": the SDK
  takes the error code from that header when it is there (`ResourceNotFound`,
  `InvalidParameterValue`, ...), so without it half the typed errors would parse as unhandled.
* CloudWatch in awsJson1_0 (what moto speaks; a client may too): the same operations, answered in
  JSON. Query-protocol requests (`Action=...` forms) go to moto unchanged.
* CloudWatch Logs (awsJson1_1, `X-Amz-Target: Logs_20140328.<Op>`): to moto unchanged, except the
  Logs Insights queries scripted through the control endpoint (below).

What moto lacks or gets wrong, served here instead (moto stays the store of metric alarms, their
states and metric data):

* Alarm states: moto creates every alarm in OK (and re-creates it in OK on an update); AWS creates
  it in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation") and leaves an updated alarm's state
  alone. After each PutMetricAlarm/PutCompositeAlarm the double sets moto's state accordingly.
* DescribeAlarmHistory (moto: not implemented). Kept from the changes seen passing through:
  `StateUpdate` items for every SetAlarmState that changed an alarm's state value (the old state
  asked of moto just before, so an alarm's first change is from INSUFFICIENT_DATA),
  `ConfigurationUpdate` items when an alarm is created, updated or deleted. Timestamps are when
  the double saw the change. Items are worded as AWS words them: HistorySummary `Alarm updated
  from OK to ALARM` / `Alarm "x" created`, HistoryData the JSON string
  `{"version":"1.0","oldState":{"stateValue":..,"stateReason":..},"newState":{...,
  "stateReasonData":{...}}}`. Filters: AlarmName, AlarmTypes (omitted: metric alarms only, as
  AWS), HistoryItemType, StartDate/EndDate, ScanBy (newest first by default), MaxRecords (1-100,
  default 100) with NextToken paging. A SetAlarmState to the state an alarm is already in records
  nothing (AWS records transitions).
* Composite alarms (moto: PutCompositeAlarm is not implemented, and its PutMetricAlarm drops
  AlarmRule). PutCompositeAlarm is stored in moto as an alarm without a metric (so SetAlarmState,
  DeleteAlarms and states work there) and its rule here; DescribeAlarms answers it as a
  CompositeAlarm with its AlarmRule.
* ListMetrics (moto lists a metric once per data point): each metric once, 500 to a page.
* DescribeAlarms filters (moto applies only one of them and ignores AlarmTypes): all of
  AlarmNames, AlarmNamePrefix, StateValue, ActionPrefix are applied together; AlarmTypes omitted
  means metric alarms only; ChildrenOfAlarmName / ParentsOfAlarmName follow the alarm rules (and
  answer only name, ARN, state value and state timestamp, as AWS); results sorted by name, paged
  with MaxRecords (1-100) and NextToken.

Validation as AWS does it, before anything reaches moto: MaxRecords out of 1-100 is a 400
`ValidationError`; AlarmNames with AlarmNamePrefix, or ChildrenOfAlarmName/ParentsOfAlarmName with
another filter, `InvalidParameterCombination`; an unknown NextToken `InvalidNextToken`.

Control endpoints (JSON, for the tests):
  GET  /_double/requests  -> ["PutMetricAlarm", "DescribeAlarms", "StartQuery", ...]: every AWS
                             operation received, in order (control requests not included)
  POST /_double/insights  scripts the next StartQuery (scripts queue up, one per StartQuery):
       {"statuses": ["Running", "Running", "Complete"],
        "results": [[{"field": "@timestamp", "value": "..."}, {"field": "@message", ...}]],
        "statistics": {"recordsMatched": 3, "recordsScanned": 100, "bytesScanned": 4096}}
         StartQuery still goes to moto (so a missing log group is moto's ResourceNotFoundException)
         and the query id is moto's; each GetQueryResults for it answers the next status (the last
         one repeats) with all of `results` and `statistics`, so a Running query has partial rows.
       {"error": "MalformedQueryException", "message": "unexpected symbol found ...",
        "status": 400, "queryCompileError": {...}}
         StartQuery answers that awsJson1_1 error (status 400 unless given; other keys are added to
         the error body) and moto is not asked.
  GET  /_double/stopped   -> query ids StopQuery was called for, in order. StopQuery on a scripted
                             query that has not ended answers {"success": true} and its next
                             GetQueryResults says Cancelled; on one that has ended, or one moto ran
                             (moto has no StopQuery, and its queries end at once), {"success": false}.

On start it prints "LISTENING <port>" on stdout (it binds --port, 0 for any, on 127.0.0.1).
Tracebacks and moto failures go to stderr.
"""

import argparse
import base64
import datetime
import gzip
import http.client
import json
import re
import sys
import threading
import time
import traceback
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import botocore.session
import cbor2

CW_TARGET = "GraniteServiceVersion20100801"
CW_CBOR_PREFIX = f"/service/{CW_TARGET}/operation/"
CW_SHAPE_NAMESPACE = "com.amazonaws.cloudwatch"
LOGS_TARGET = "Logs_20140328"
# Headers about one hop's connection, never relayed; content-length is recomputed.
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
QUERY_STATUSES = {"Scheduled", "Running", "Complete", "Failed", "Cancelled", "Timeout", "Unknown"}
QUERY_ENDED = {"Complete", "Failed", "Cancelled", "Timeout"}
ALARM_TYPES = {"MetricAlarm", "CompositeAlarm"}
# PutCompositeAlarm members moto has no place for, kept by the double and answered back.
COMPOSITE_ONLY = ("ActionsSuppressor", "ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod",
                  "ActionConfiguration")
HISTORY_ITEM_TYPES = {"ConfigurationUpdate", "StateUpdate", "Action"}
# Names inside ALARM(...), OK(...), INSUFFICIENT_DATA(...) of an alarm rule: quoted or bare.
RULE_REFERENCE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:\"([^\"]+)\"|'([^']+)'|([^\s()]+))\s*\)")


class CloudWatchError(Exception):
    """An error answer of a CloudWatch operation: its status, query code and message."""

    def __init__(self, status, code, message, sender=True):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.sender = sender


def validation_error(message):
    return CloudWatchError(400, "ValidationError", message)


def now_seconds():
    return time.time()


def epoch_seconds(value):
    """A timestamp from a request or from moto (datetime, number or ISO 8601 text) as epoch seconds."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"not a timestamp: {value!r}")


class Codec:
    """Converts CloudWatch members between the CBOR and JSON encodings by botocore's shapes."""

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model("cloudwatch")
        # Query code (the awsQueryError code, what moto and the SDK use) -> error shape names.
        self.error_shapes = {}
        for shape in self.model.error_shapes:
            code = shape.metadata.get("error", {}).get("code", shape.name)
            self.error_shapes.setdefault(code, []).append(shape)

    def operation(self, name):
        try:
            return self.model.operation_model(name)
        except Exception:
            return None

    def cbor_to_json(self, value, shape):
        """Decoded CBOR input -> the JSON value awsJson1_0 would carry."""
        if value is None or shape is None:
            return value
        kind = shape.type_name
        if kind == "structure":
            return {k: self.cbor_to_json(v, shape.members.get(k)) for k, v in value.items() if v is not None}
        if kind == "list":
            return [self.cbor_to_json(v, shape.member) for v in value]
        if kind == "map":
            return {k: self.cbor_to_json(v, shape.value) for k, v in value.items()}
        if kind == "timestamp":
            return epoch_seconds(value.value if isinstance(value, cbor2.CBORTag) else value)
        if kind == "blob" and isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode()
        return value

    def json_to_cbor(self, value, shape):
        """A JSON output value (moto's or ours) -> what rpcv2Cbor carries: tag 1 timestamps,
        floats for doubles, byte strings for blobs, members the shape does not know left out."""
        if value is None or shape is None:
            return value
        kind = shape.type_name
        if kind == "structure":
            out = {}
            for k, v in value.items():
                member = shape.members.get(k)
                if member is not None and v is not None:
                    out[k] = self.json_to_cbor(v, member)
            return out
        if kind == "list":
            return [self.json_to_cbor(v, shape.member) for v in value]
        if kind == "map":
            return {k: self.json_to_cbor(v, shape.value) for k, v in value.items()}
        if kind == "timestamp":
            return cbor2.CBORTag(1, float(epoch_seconds(value)))
        if kind in ("double", "float"):
            return float(value)
        if kind in ("integer", "long", "short", "byte"):
            return int(value)
        if kind == "blob":
            return base64.b64decode(value) if isinstance(value, str) else bytes(value)
        return value

    def error_shape_name(self, operation, code):
        """The shape id's name for query code `code`: the operation's own error with that code,
        else any of the service's, else the code itself (e.g. ValidationError)."""
        candidates = self.error_shapes.get(code, [])
        if operation is not None:
            for shape in operation.error_shapes:
                if shape in candidates:
                    return shape.name
        return candidates[0].name if candidates else code


class Moto:
    """awsJson1_0 / raw HTTP calls to the moto server behind the double."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.host = parts.hostname
        self.port = parts.port or 80

    def request(self, method, target, headers, body):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def cloudwatch(self, operation, params, authorization):
        """Calls `operation` in awsJson1_0; the parsed answer, or raises CloudWatchError."""
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"{CW_TARGET}.{operation}",
        }
        # moto reads the region (and so the backend) from the credential scope; the signature,
        # made for the CBOR request, is not checked.
        if authorization:
            headers["Authorization"] = authorization
        status, answer_headers, body = self.request("POST", "/", headers, json.dumps(params).encode())
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = None
        if 200 <= status < 300 and isinstance(data, dict):
            return data
        if isinstance(data, dict) and "__type" in data:
            code = data["__type"].split("#")[-1].split(":")[0]
            query_error = dict((k.lower(), v) for k, v in answer_headers).get("x-amzn-query-error", "")
            if ";" in query_error:
                code = query_error.split(";")[0]
            message = data.get("message") or data.get("Message") or ""
            raise CloudWatchError(status, code, message, sender=status < 500)
        first_line = body.decode(errors="replace").strip().splitlines()[:1]
        print(f"moto could not serve {operation} (HTTP {status}): {body[:2000]!r}", file=sys.stderr, flush=True)
        raise CloudWatchError(500, "InternalFailure", f"moto could not serve {operation}: {' '.join(first_line)}",
                              sender=False)


class CloudWatch:
    """The CloudWatch operations, protocol-neutral: JSON-shaped params in, JSON-shaped answers out."""

    def __init__(self, moto, codec):
        self.moto = moto
        self.codec = codec
        # Serialises the alarm-changing operations with the history they write.
        self.lock = threading.RLock()
        self.composite_rules = {}  # composite alarm name -> AlarmRule
        # composite alarm name -> the members of its PutCompositeAlarm that moto does not keep
        self.composite_extras = {}
        self.history = []  # dicts as AlarmHistoryItem, Timestamp as epoch seconds, plus "_seq"
        self.sequence = 0

    def call(self, operation, params, authorization):
        handler = getattr(self, f"op_{operation}", None)
        if handler is not None:
            return handler(params, authorization)
        return self.moto.cloudwatch(operation, params, authorization)

    # --- helpers -----------------------------------------------------------------------------

    def all_alarms(self, authorization):
        """Every alarm moto holds (metric and composite, moto lists both as metric alarms)."""
        answer = self.moto.cloudwatch("DescribeAlarms", {}, authorization)
        return answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])

    def alarm(self, name, authorization):
        if not name:
            return None
        answer = self.moto.cloudwatch("DescribeAlarms", {"AlarmNames": [name]}, authorization)
        for alarm in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", []):
            if alarm.get("AlarmName") == name:
                return alarm
        return None

    def alarm_type(self, name):
        return "CompositeAlarm" if name in self.composite_rules else "MetricAlarm"

    def record(self, name, alarm_type, item_type, summary, data, timestamp=None):
        self.sequence += 1
        self.history.append({
            "AlarmName": name,
            "AlarmType": alarm_type,
            "Timestamp": now_seconds() if timestamp is None else timestamp,
            "HistoryItemType": item_type,
            "HistorySummary": summary,
            "HistoryData": json.dumps(data, separators=(",", ":")),
            "_seq": self.sequence,
        })

    @staticmethod
    def max_records(params, field="maxRecords", limit_max=100):
        value = params.get("MaxRecords")
        if value is None:
            return limit_max
        if not isinstance(value, int) or value < 1 or value > limit_max:
            raise validation_error(
                f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
                + ("Member must have value greater than or equal to 1" if isinstance(value, int) and value < 1
                   else f"Member must have value less than or equal to {limit_max}"))
        return value

    @staticmethod
    def page(items, params, kind, limit_max=100):
        """Items from NextToken on, at most MaxRecords of them, and the token for the rest."""
        limit = CloudWatch.max_records(params, limit_max=limit_max)
        start = 0
        token = params.get("NextToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                if decoded.get("kind") != kind:
                    raise ValueError
                start = int(decoded["offset"])
                if start < 0:
                    raise ValueError
            except Exception:
                raise CloudWatchError(400, "InvalidNextToken", "The service returned an error with Error Code "
                                      "InvalidNextToken: the NextToken is not valid.")
        chunk = items[start:start + limit]
        rest = None
        if start + limit < len(items):
            rest = base64.urlsafe_b64encode(json.dumps({"kind": kind, "offset": start + limit}).encode()).decode()
        return chunk, rest

    @staticmethod
    def state_of(alarm):
        state = {"stateValue": alarm.get("StateValue"), "stateReason": alarm.get("StateReason", "")}
        data = alarm.get("StateReasonData")
        if data:
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            if parsed:
                state["stateReasonData"] = parsed
        return state

    @staticmethod
    def config_of(params, alarm_type):
        """The camelCase alarm configuration AWS puts in ConfigurationUpdate history data."""
        config = {}
        for key, value in params.items():
            if key == "Tags":
                continue
            config[key[0].lower() + key[1:]] = value
        config["alarmType"] = alarm_type
        return config

    # --- operations served or amended here -----------------------------------------------------

    def op_PutMetricAlarm(self, params, authorization):
        with self.lock:
            name = params.get("AlarmName")
            before = self.alarm(name, authorization)
            answer = self.moto.cloudwatch("PutMetricAlarm", params, authorization)
            self.settle_state(name, before, authorization)
            self.composite_rules.pop(name, None)
            self.composite_extras.pop(name, None)
            self.record_configuration(name, "MetricAlarm", before, params)
            return answer

    def op_PutCompositeAlarm(self, params, authorization):
        with self.lock:
            name = params.get("AlarmName")
            rule = params.get("AlarmRule")
            if not name:
                raise validation_error("1 validation error detected: Value null at 'alarmName' failed to satisfy "
                                       "constraint: Member must not be null")
            if not rule:
                raise validation_error("1 validation error detected: Value null at 'alarmRule' failed to satisfy "
                                       "constraint: Member must not be null")
            before = self.alarm(name, authorization)
            # moto keeps it as an alarm without a metric: states, SetAlarmState and DeleteAlarms
            # work there; the rule, which moto drops, is kept here.
            stored = {k: params[k] for k in ("AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions",
                                             "OKActions", "InsufficientDataActions", "Tags") if k in params}
            answer = self.moto.cloudwatch("PutMetricAlarm", stored, authorization)
            self.settle_state(name, before, authorization)
            self.composite_rules[name] = rule
            self.composite_extras[name] = {k: params[k] for k in COMPOSITE_ONLY if k in params}
            self.record_configuration(name, "CompositeAlarm", before, params)
            return answer

    def settle_state(self, name, before, authorization):
        """moto creates every alarm in OK (and re-creates it on an update); AWS creates it in
        INSUFFICIENT_DATA and leaves the state of an updated one alone. Put moto's right."""
        if before is None:
            state = {"StateValue": "INSUFFICIENT_DATA", "StateReason": "Unchecked: Initial alarm creation"}
        else:
            state = {k: before[k] for k in ("StateValue", "StateReason", "StateReasonData") if before.get(k)}
        self.moto.cloudwatch("SetAlarmState", {"AlarmName": name, **state}, authorization)

    def record_configuration(self, name, alarm_type, before, params):
        config = self.config_of(params, alarm_type)
        if before is None:
            self.record(name, alarm_type, "ConfigurationUpdate", f'Alarm "{name}" created',
                        {"type": "Create", "version": "1.0", "createdAlarm": config})
        else:
            self.record(name, alarm_type, "ConfigurationUpdate", f'Alarm "{name}" updated',
                        {"type": "Update", "version": "1.0", "updatedAlarm": config})

    def op_SetAlarmState(self, params, authorization):
        with self.lock:
            name = params.get("AlarmName")
            before = self.alarm(name, authorization)
            # moto validates (ResourceNotFound, InvalidFormat for StateReasonData) and stores.
            answer = self.moto.cloudwatch("SetAlarmState", params, authorization)
            new_value = params.get("StateValue")
            if before is not None and before.get("StateValue") != new_value:
                new_state = self.state_of({"StateValue": new_value, "StateReason": params.get("StateReason", ""),
                                           "StateReasonData": params.get("StateReasonData")})
                self.record(name, self.alarm_type(name), "StateUpdate",
                            f"Alarm updated from {before.get('StateValue')} to {new_value}",
                            {"version": "1.0", "oldState": self.state_of(before), "newState": new_state})
            return answer

    def op_DeleteAlarms(self, params, authorization):
        with self.lock:
            answer = self.moto.cloudwatch("DeleteAlarms", params, authorization)
            for name in params.get("AlarmNames", []):
                alarm_type = self.alarm_type(name)
                self.composite_rules.pop(name, None)
                self.composite_extras.pop(name, None)
                self.record(name, alarm_type, "ConfigurationUpdate", f'Alarm "{name}" deleted',
                            {"type": "Delete", "version": "1.0", "deletedAlarm": {"alarmName": name}})
            return answer

    def op_DescribeAlarms(self, params, authorization):
        names = params.get("AlarmNames") or []
        prefix = params.get("AlarmNamePrefix")
        children_of = params.get("ChildrenOfAlarmName")
        parents_of = params.get("ParentsOfAlarmName")
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        for alarm_type in types:
            if alarm_type not in ALARM_TYPES:
                raise validation_error(f"1 validation error detected: Value '[{', '.join(types)}]' at 'alarmTypes' "
                                       "failed to satisfy constraint: Member must satisfy enum value set: "
                                       "[CompositeAlarm, MetricAlarm]")
        if names and prefix:
            raise CloudWatchError(400, "InvalidParameterCombination",
                                  "AlarmNamePrefix and AlarmNames cannot be specified together.")
        if (children_of or parents_of) and (names or prefix or params.get("StateValue") or params.get("ActionPrefix")
                                            or (children_of and parents_of)):
            raise CloudWatchError(400, "InvalidParameterCombination",
                                  "ChildrenOfAlarmName and ParentsOfAlarmName cannot be specified with other "
                                  "filters.")
        self.max_records(params)
        with self.lock:
            alarms = {a["AlarmName"]: a for a in self.all_alarms(authorization)}
            rules = dict(self.composite_rules)
            extras = {name: dict(e) for name, e in self.composite_extras.items()}
            transitions = {}
            for item in self.history:
                if item["HistoryItemType"] == "StateUpdate":
                    transitions[item["AlarmName"]] = item["Timestamp"]

        def shaped(alarm):
            name = alarm["AlarmName"]
            alarm = dict(alarm)
            alarm.setdefault("StateTransitionedTimestamp",
                             transitions.get(name, alarm.get("StateUpdatedTimestamp")))
            if name in rules:
                shape = self.codec.model.shape_for("CompositeAlarm")
                alarm = {k: v for k, v in alarm.items() if k in shape.members}
                alarm.update(extras.get(name, {}))
                alarm["AlarmRule"] = rules[name]
                return "CompositeAlarm", alarm
            return "MetricAlarm", alarm

        selected = []
        if children_of or parents_of:
            if children_of:
                rule = rules.get(children_of, "")
                related = {n for groups in RULE_REFERENCE.findall(rule) for n in groups if n}
            else:
                related = {n for n, rule in rules.items()
                           if parents_of in {g for groups in RULE_REFERENCE.findall(rule) for g in groups if g}}
            for name in sorted(related):
                if name in alarms:
                    kind, alarm = shaped(alarms[name])
                    # AWS answers these with the name, ARN, state and state timestamp only.
                    selected.append((kind, {k: alarm[k] for k in ("AlarmName", "AlarmArn", "StateValue",
                                                                  "StateUpdatedTimestamp") if k in alarm}))
        else:
            for name in sorted(alarms):
                kind, alarm = shaped(alarms[name])
                if kind not in types:
                    continue
                if names and name not in names:
                    continue
                if prefix and not name.startswith(prefix):
                    continue
                if params.get("StateValue") and alarm.get("StateValue") != params["StateValue"]:
                    continue
                action_prefix = params.get("ActionPrefix")
                if action_prefix and not any(a.startswith(action_prefix) for key in
                                             ("AlarmActions", "OKActions", "InsufficientDataActions")
                                             for a in alarm.get(key) or []):
                    continue
                selected.append((kind, alarm))
        chunk, rest = self.page(selected, params, "DescribeAlarms")
        answer = {
            "MetricAlarms": [a for kind, a in chunk if kind == "MetricAlarm"],
            "CompositeAlarms": [a for kind, a in chunk if kind == "CompositeAlarm"],
        }
        if rest:
            answer["NextToken"] = rest
        return answer

    def op_ListMetrics(self, params, authorization):
        # moto lists a metric once per data point put (and pages those by 500); AWS lists each
        # metric (namespace, name, dimensions) once, 500 to a page. All of moto's pages are read
        # and de-duplicated, then paged here.
        if params.get("NextToken"):
            # Checked before moto is asked: a token is ours, not moto's.
            self.page([], {"NextToken": params["NextToken"]}, "ListMetrics")
        ask = {k: params[k] for k in ("Namespace", "MetricName", "Dimensions") if k in params}
        seen = set()
        metrics = []
        while True:
            answer = self.moto.cloudwatch("ListMetrics", ask, authorization)
            for metric in answer.get("Metrics", []):
                key = (metric.get("Namespace"), metric.get("MetricName"),
                       tuple(sorted((d.get("Name"), d.get("Value")) for d in metric.get("Dimensions", []))))
                if key not in seen:
                    seen.add(key)
                    metrics.append(metric)
            if not answer.get("NextToken"):
                break
            ask["NextToken"] = answer["NextToken"]
        chunk, rest = self.page(metrics, {"NextToken": params.get("NextToken"), "MaxRecords": 500}, "ListMetrics",
                                limit_max=500)
        answer = {"Metrics": chunk}
        if rest:
            answer["NextToken"] = rest
        return answer

    def op_DescribeAlarmHistory(self, params, authorization):
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        for alarm_type in types:
            if alarm_type not in ALARM_TYPES:
                raise validation_error(f"1 validation error detected: Value '[{', '.join(types)}]' at 'alarmTypes' "
                                       "failed to satisfy constraint: Member must satisfy enum value set: "
                                       "[CompositeAlarm, MetricAlarm]")
        item_type = params.get("HistoryItemType")
        if item_type is not None and item_type not in HISTORY_ITEM_TYPES:
            raise validation_error(f"1 validation error detected: Value '{item_type}' at 'historyItemType' failed to "
                                   "satisfy constraint: Member must satisfy enum value set: "
                                   "[ConfigurationUpdate, StateUpdate, Action]")
        scan_by = params.get("ScanBy") or "TimestampDescending"
        if scan_by not in ("TimestampDescending", "TimestampAscending"):
            raise validation_error(f"1 validation error detected: Value '{scan_by}' at 'scanBy' failed to satisfy "
                                   "constraint: Member must satisfy enum value set: "
                                   "[TimestampDescending, TimestampAscending]")
        self.max_records(params)
        start = params.get("StartDate")
        end = params.get("EndDate")
        with self.lock:
            items = [dict(item) for item in self.history]
        items = [i for i in items
                 if (not params.get("AlarmName") or i["AlarmName"] == params["AlarmName"])
                 and i["AlarmType"] in types
                 and (item_type is None or i["HistoryItemType"] == item_type)
                 and (start is None or i["Timestamp"] >= epoch_seconds(start))
                 and (end is None or i["Timestamp"] <= epoch_seconds(end))]
        items.sort(key=lambda i: (i["Timestamp"], i["_seq"]), reverse=scan_by == "TimestampDescending")
        chunk, rest = self.page(items, params, "DescribeAlarmHistory")
        for item in chunk:
            del item["_seq"]
        answer = {"AlarmHistoryItems": chunk}
        if rest:
            answer["NextToken"] = rest
        return answer


class Insights:
    """Scripted Logs Insights queries."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scripts = deque()
        self.queries = {}  # query id -> {"script", "calls", "stopped"}
        self.stopped = []

    @staticmethod
    def check(script):
        if not isinstance(script, dict):
            raise ValueError("a script is a JSON object")
        if "error" in script:
            if not isinstance(script["error"], str) or not isinstance(script.get("message", ""), str):
                raise ValueError("error and message are strings")
            return
        statuses = script.get("statuses")
        if not isinstance(statuses, list) or not statuses or any(s not in QUERY_STATUSES for s in statuses):
            raise ValueError(f"statuses: a non-empty list of {sorted(QUERY_STATUSES)}")
        results = script.get("results", [])
        if not isinstance(results, list) or any(
                not isinstance(row, list) or any(not isinstance(f, dict) or set(f) - {"field", "value"} for f in row)
                for row in results):
            raise ValueError('results: a list of rows, each a list of {"field": ..., "value": ...}')
        if not isinstance(script.get("statistics", {}), dict):
            raise ValueError("statistics: an object")

    def status(self, query):
        statuses = query["script"]["statuses"]
        if query["stopped"]:
            return "Cancelled"
        return statuses[min(query["calls"], len(statuses) - 1)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cloudwatch-double"
    # Headers and body go out in two writes; with Nagle's algorithm on, a kept-alive client's
    # delayed ACK held every answer for 40 ms (measured: 48 ms warm against 9 ms cold).
    disable_nagle_algorithm = True

    # --- plumbing ----------------------------------------------------------------------------

    def log_message(self, fmt, *args):  # request lines are noise; errors are printed elsewhere
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        # aws-sdk-cloudwatch gzips PutMetricData bodies of 10 KiB and more.
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
            data = gzip.decompress(data)
        return data

    def send(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, value, content_type="application/json", headers=()):
        self.send(status, json.dumps(value).encode(), [("Content-Type", content_type), *headers])

    def relay(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        status, answer_headers, answer = self.server.moto.request(self.command, self.path, headers, body)
        self.send(status, answer, [(k, v) for k, v in answer_headers if k.lower() not in HOP_BY_HOP])

    def note(self, operation):
        with self.server.requests_lock:
            self.server.requests.append(operation)

    def guarded(self, serve):
        try:
            serve()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            try:
                self.send_json(500, {"__type": "InternalFailure", "message": "the double failed; see its log"})
            except Exception:
                pass

    def do_GET(self):
        self.guarded(self.serve)

    def do_POST(self):
        self.guarded(self.serve)

    def do_PUT(self):
        self.guarded(self.serve)

    def do_DELETE(self):
        self.guarded(self.serve)

    # --- routing -----------------------------------------------------------------------------

    def serve(self):
        path = urlsplit(self.path).path
        if path.startswith("/_double/"):
            return self.control(path)
        body = self.body()
        target = self.headers.get("X-Amz-Target") or ""
        if self.command == "POST" and path.startswith(CW_CBOR_PREFIX):
            return self.cloudwatch_cbor(path[len(CW_CBOR_PREFIX):], body)
        if target.startswith(CW_TARGET + "."):
            return self.cloudwatch_json(target.split(".", 1)[1], body)
        if target.startswith(LOGS_TARGET + "."):
            return self.logs(target.split(".", 1)[1], body)
        action = parse_qs(body.decode(errors="replace")).get("Action") if body else None
        if not action:
            action = parse_qs(urlsplit(self.path).query).get("Action")
        self.note(action[0] if action else f"{self.command} {path}")
        return self.relay(body)

    def control(self, path):
        server = self.server
        if self.command == "GET" and path == "/_double/requests":
            with server.requests_lock:
                return self.send_json(200, list(server.requests))
        if self.command == "GET" and path == "/_double/stopped":
            with server.insights.lock:
                return self.send_json(200, list(server.insights.stopped))
        if self.command == "POST" and path == "/_double/insights":
            try:
                script = json.loads(self.body() or b"null")
                Insights.check(script)
            except ValueError as e:
                return self.send_json(400, {"message": f"bad script: {e}"})
            with server.insights.lock:
                server.insights.scripts.append(script)
            return self.send_json(200, {"queued": len(server.insights.scripts)})
        return self.send_json(404, {"message": f"no control endpoint {self.command} {path}"})

    # --- CloudWatch --------------------------------------------------------------------------

    def cloudwatch_cbor(self, operation, body):
        self.note(operation)
        codec = self.server.codec
        model = codec.operation(operation)
        cbor_headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        if model is None:
            return self.cloudwatch_error_cbor(None, CloudWatchError(
                404, "UnknownOperationException", f"{operation} is not an operation of CloudWatch"), cbor_headers)
        try:
            decoded = cbor2.loads(body) if body else {}
            params = codec.cbor_to_json(decoded or {}, model.input_shape)
        except Exception as e:
            return self.cloudwatch_error_cbor(model, CloudWatchError(
                400, "SerializationException", f"the request body is not CBOR of {operation}'s input: {e}"),
                cbor_headers)
        try:
            answer = self.server.cloudwatch.call(operation, params, self.headers.get("Authorization"))
        except CloudWatchError as error:
            return self.cloudwatch_error_cbor(model, error, cbor_headers)
        encoded = codec.json_to_cbor(answer, model.output_shape) if model.output_shape is not None else {}
        self.send(200, cbor2.dumps(encoded), cbor_headers)

    def cloudwatch_error_cbor(self, model, error, headers):
        shape = self.server.codec.error_shape_name(model, error.code)
        body = {"__type": f"{CW_SHAPE_NAMESPACE}#{shape}", "message": error.message}
        fault = "Sender" if error.sender else "Receiver"
        self.send(error.status, cbor2.dumps(body), [*headers, ("x-amzn-query-error", f"{error.code};{fault}")])

    def cloudwatch_json(self, operation, body):
        self.note(operation)
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = None
        if not isinstance(params, dict):
            return self.relay(body)
        try:
            answer = self.server.cloudwatch.call(operation, params, self.headers.get("Authorization"))
        except CloudWatchError as error:
            shape = self.server.codec.error_shape_name(self.server.codec.operation(operation), error.code)
            fault = "Sender" if error.sender else "Receiver"
            return self.send_json(error.status, {"__type": f"{CW_SHAPE_NAMESPACE}#{shape}", "message": error.message},
                                  "application/x-amz-json-1.0", [("x-amzn-query-error", f"{error.code};{fault}")])
        self.send_json(200, answer, "application/x-amz-json-1.0")

    # --- CloudWatch Logs ---------------------------------------------------------------------

    def logs(self, operation, body):
        self.note(operation)
        insights = self.server.insights
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = {}
        content_type = "application/x-amz-json-1.1"
        if operation == "StartQuery":
            with insights.lock:
                script = insights.scripts[0] if insights.scripts else None
                if script is not None and "error" in script:
                    insights.scripts.popleft()
            if script is None:
                return self.relay(body)
            if "error" in script:
                error = {k: v for k, v in script.items() if k not in ("error", "status")}
                error["__type"] = script["error"]
                error.setdefault("message", "")
                return self.send_json(int(script.get("status", 400)), error, content_type)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            status, answer_headers, answer = self.server.moto.request("POST", self.path, headers, body)
            if status == 200:
                query_id = json.loads(answer)["queryId"]
                with insights.lock:
                    # Taken only now: a StartQuery moto refused leaves the script for the next.
                    if insights.scripts and insights.scripts[0] is script:
                        insights.scripts.popleft()
                    insights.queries[query_id] = {"script": script, "calls": 0, "stopped": False}
            return self.send(status, answer, [(k, v) for k, v in answer_headers if k.lower() not in HOP_BY_HOP])
        if operation == "GetQueryResults":
            with insights.lock:
                query = insights.queries.get(params.get("queryId"))
                if query is not None:
                    status = insights.status(query)
                    query["calls"] += 1
                    script = query["script"]
                    answer = {
                        "queryLanguage": "CWLI",
                        "results": script.get("results", []),
                        "statistics": {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0,
                                       **script.get("statistics", {})},
                        "status": status,
                    }
            if query is not None:
                return self.send_json(200, answer, content_type)
            return self.relay(body)
        if operation == "StopQuery":
            query_id = params.get("queryId")
            with insights.lock:
                insights.stopped.append(query_id)
                query = insights.queries.get(query_id)
                running = False
                if query is not None:
                    statuses = query["script"]["statuses"]
                    last_reported = statuses[min(max(query["calls"] - 1, 0), len(statuses) - 1)]
                    running = not query["stopped"] and last_reported not in QUERY_ENDED
                    if running:
                        query["stopped"] = True
            return self.send_json(200, {"success": running}, content_type)
        return self.relay(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, moto_url):
        super().__init__(("127.0.0.1", port), Handler)
        self.moto = Moto(moto_url)
        self.codec = Codec()
        self.cloudwatch = CloudWatch(self.moto, self.codec)
        self.insights = Insights()
        self.requests = []
        self.requests_lock = threading.Lock()

    def handle_error(self, request, client_address):
        # A client that hung up mid-answer is not a failure of the double.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moto", required=True, help="base URL of the moto server, e.g. http://127.0.0.1:5000")
    p.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0: any free one)")
    args = p.parse_args()
    server = Server(args.port, args.moto)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

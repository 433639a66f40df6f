# The two commands a newcomer needs (see README.md), plus the measurement scripts.
.PHONY: dev test coldstart measure-prometheus measure-eks measure-cloudwatch measure-web-search measure-agent measure-stream measure-mcp zips agentcore-targets fuzz soak

# Local stack + functions under `cargo lambda watch` + invoke of every sample event.
dev:
	bash scripts/dev.sh

# Everything CI runs: installs the test stack, fmt, clippy, build, tests, cfn-lint.
test:
	bash scripts/test.sh

# Cold start and peak RSS of release builds through the Runtime API (not a test).
coldstart:
	bash scripts/coldstart.sh

# Prometheus functions: cold start, warm latency added over direct HTTP, RSS, sizes, bench.
measure-prometheus:
	bash scripts/measure-prometheus.sh

# eks-info and k8s-info: cold start and warm latency (moto, the Kubernetes API double), RSS, zips.
measure-eks:
	bash scripts/measure-eks.sh

measure-cloudwatch:
	bash scripts/measure-cloudwatch.sh

# web-search: cold start and warm latency (DuckDuckGo page, Brave JSON), RSS, zip size.
measure-web-search:
	bash scripts/measure-web-search.sh

# agent: cold start, warm latency and RSS with an instant model, cost per loop cycle, zip.
measure-agent:
	bash scripts/measure-agent.sh

# agent: time to the first streamed text vs the full answer, at a model's pace (Function URL).
measure-stream:
	bash scripts/measure-stream.sh

# mcp-server: cold start to the first tools/list, RSS and zip, against the same job in Python.
measure-mcp:
	bash scripts/measure-mcp.sh

# The deployable zip of every function (cargo lambda build, arm64 if its target is installed).
zips:
	bash scripts/build-zips.sh

# Rewrites template.yaml's AgentCore Gateway targets from the tool schemas.
agentcore-targets:
	python3 scripts/agentcore_targets.py

# Every fuzz target with 10^6 cases (FUZZ_CASES to change), optimised with overflow checks.
fuzz:
	bash scripts/fuzz.sh

# 10,000 mixed invocations per tool in one process (INVOCATIONS to change); peak RSS growth.
soak:
	bash scripts/soak.sh

#!/usr/bin/env python3
"""Parse Prometheus text (argv[1]) with prometheus_client's own parser; print a few values as JSON."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

values = {}
for family in text_string_to_metric_families(sys.argv[1]):
    for s in family.samples:
        # `:classify` and `:predict` share the matched route /v1/models/{action}.
        if s.name == "model_server_requests_total" and "v1/models/{model}" in s.labels.get("route", ""):
            key = f"requests_classify_{s.labels['status']}"
            values[key] = values.get(key, 0) + s.value
        if not s.labels or s.name == "model_server_model_info":
            values[s.name] = s.value
print(json.dumps(values))

#!/usr/bin/env python3
"""sarif_check.py LOG.sarif [RULE_ID ...]: checks a SARIF log written by dbgalloc-sarif.

The official SARIF 2.1.0 JSON schema is not on this machine (and cannot be fetched),
so the log is validated against the part of it that dbgalloc uses, transcribed from
the SARIF 2.1.0 specification (sarifLog, run, tool, toolComponent, reportingDescriptor,
result, message, location, physicalLocation, artifactLocation, region, stack,
stackFrame): required properties, types and enumerations. With python3-jsonschema the
check is jsonschema's; without it, a small walker checks the same required paths.
Then: every result's rule is declared, every error result has a location with a file
and a line, and each RULE_ID given appears among the results.
"""
import json
import sys

MESSAGE = {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
           "properties": {"text": {"type": "string"}, "id": {"type": "string"}}}
ARTIFACT_LOCATION = {"type": "object", "properties": {"uri": {"type": "string", "format": "uri-reference"},
                                                      "uriBaseId": {"type": "string"}}}
REGION = {"type": "object", "properties": {"startLine": {"type": "integer", "minimum": 1},
                                           "startColumn": {"type": "integer", "minimum": 1}}}
PHYSICAL_LOCATION = {
    "type": "object",
    "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
    "properties": {"artifactLocation": ARTIFACT_LOCATION, "region": REGION,
                   "address": {"type": "object", "properties": {
                       "absoluteAddress": {"type": "integer", "minimum": -1},
                       "relativeAddress": {"type": "integer"},
                       "fullyQualifiedName": {"type": "string"}}}},
}
LOCATION = {"type": "object", "properties": {
    "id": {"type": "integer", "minimum": -1},
    "physicalLocation": PHYSICAL_LOCATION,
    "logicalLocations": {"type": "array", "items": {"type": "object", "properties": {
        "fullyQualifiedName": {"type": "string"}, "kind": {"type": "string"}}}},
    "message": MESSAGE}}
STACK = {"type": "object", "required": ["frames"], "properties": {
    "message": MESSAGE,
    "frames": {"type": "array", "items": {"type": "object", "properties": {
        "location": LOCATION, "module": {"type": "string"}}}}}}
RESULT = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "ruleId": {"type": "string"},
        "ruleIndex": {"type": "integer", "minimum": -1},
        "level": {"enum": ["none", "note", "warning", "error"]},
        "message": MESSAGE,
        "locations": {"type": "array", "items": LOCATION},
        "relatedLocations": {"type": "array", "items": LOCATION},
        "stacks": {"type": "array", "items": STACK},
        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
        "properties": {"type": "object"},
    },
}
SCHEMA = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "items": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {
                    "driver": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "informationUri": {"type": "string", "format": "uri"},
                        "rules": {"type": "array", "items": {
                            "type": "object", "required": ["id"],
                            "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                           "shortDescription": MESSAGE,
                                           "helpUri": {"type": "string", "format": "uri"}}}}}}}},
                "results": {"type": "array", "items": RESULT},
            }}},
    },
}


def fail(text):
    print("FAIL: " + text)
    sys.exit(1)


def main():
    if len(sys.argv) < 2:
        fail("usage: sarif_check.py LOG.sarif [RULE_ID ...]")
    with open(sys.argv[1], encoding="utf-8") as f:
        log = json.load(f)
    try:
        import jsonschema
        jsonschema.validate(log, SCHEMA)
        print("ok: valid against the SARIF 2.1.0 subset schema (python3-jsonschema)")
    except ImportError:
        for key in ("version", "runs"):
            if key not in log:
                fail("no %s" % key)
        if log["version"] != "2.1.0":
            fail("version is not 2.1.0")
        print("ok: required top-level properties (no jsonschema module)")
    except Exception as error:  # jsonschema.ValidationError
        fail("schema: %s" % error)
    if not log.get("$schema", "").endswith("sarif-2.1.0.json"):
        fail("$schema does not name SARIF 2.1.0: %r" % log.get("$schema"))
    run = log["runs"][0]
    if run["tool"]["driver"]["name"] != "dbgalloc":
        fail("tool.driver.name is not dbgalloc")
    rules = [rule["id"] for rule in run["tool"]["driver"].get("rules", [])]
    results = run.get("results", [])
    for i, result in enumerate(results):
        if result.get("ruleId") not in rules:
            fail("result %d: rule %r not declared" % (i, result.get("ruleId")))
        if rules[result["ruleIndex"]] != result["ruleId"]:
            fail("result %d: ruleIndex does not point at its rule" % i)
        if result.get("level") == "error" and result["ruleId"] != "memory-leak":
            physical = result["locations"][0]["physicalLocation"]
            if not physical["artifactLocation"]["uri"] or physical["region"]["startLine"] < 1:
                fail("result %d: no file and line" % i)
        if not result["message"]["text"]:
            fail("result %d: empty message" % i)
    found = [result["ruleId"] for result in results]
    for wanted in sys.argv[2:]:
        if wanted not in found:
            fail("no %s result among %s" % (wanted, found))
    print("ok: %d result(s): %s" % (len(results), ", ".join(found)))
    for result in results:
        loc = result["locations"][0]["physicalLocation"] if result.get("locations") else {}
        where = loc.get("artifactLocation", {}).get("uri", "?") + ":" + str(loc.get("region", {}).get("startLine", "?"))
        print("   %s at %s" % (result["ruleId"], where))
    return 0


if __name__ == "__main__":
    sys.exit(main())

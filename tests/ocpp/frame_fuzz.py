"""Invalid OCPP-J frames, generated from the official schemas (for the fuzz test).

Every frame made here is invalid by construction, in one of these classes: a required
field missing, an unknown field, a field of the wrong type, NaN/Infinity/1e400 for a
number, a date that is not a date-time, nesting past any payload, an envelope that is
not a Call (ids that are not strings or too long, an action that is not a string, no
payload, a payload that is not an object, an unknown message type), text that is not
JSON, a binary frame, an action the version does not have. `expect` says what the
charge point must answer: "error" (a CallError with the frame's id) or "none".
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from ocpp.messages import get_validator


@dataclass(frozen=True)
class Fuzzed:
    kind: str
    frame: str | bytes
    unique_id: str | None  # the id a CallError must carry (None: no answer allowed)


def minimal(schema: dict[str, Any], rng: random.Random) -> Any:
    """A small value valid against `schema` (the subset the OCPP schemas use)."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: minimal(props[k], rng) for k in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema.get("items", {}), rng) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2030-01-01T00:00:00Z"
        if schema.get("format") == "uri":
            return "http://127.0.0.1:9/x"
        return "x"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return "x"


def _paths(
    schema: dict[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, sub-schema) of every required property, depth first."""
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    if schema.get("type") != "object":
        return out
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        sub = props[name]
        out.append(((*prefix, name), sub))
        out.extend(_paths(sub, (*prefix, name)))
    return out


def _set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _delete(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        obj = obj[key]
    del obj[path[-1]]


def _wrong_type(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind in ("object", "array"):
        return "not-a-container"
    if kind == "string":
        return {"not": "a string"}
    return "not-a-number"


def inline_refs(node: Any, root: dict[str, Any]) -> Any:
    """The schema with every local `$ref` (2.0.1's `#/definitions/...`) replaced by its
    target, so the generators above see plain objects (the OCPP schemas have no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            return inline_refs(target, root)
        return {k: inline_refs(v, root) for k, v in node.items() if k != "definitions"}
    if isinstance(node, list):
        return [inline_refs(v, root) for v in node]
    return node


class FrameFuzzer:
    def __init__(self, version: str, actions: list[str], seed: int = 1) -> None:
        self.version = version
        self.actions = actions
        self.rng = random.Random(seed)
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"fz{self.n}"

    def schema(self, action: str) -> dict[str, Any]:
        root = dict(get_validator(2, action, self.version).schema)
        return inline_refs(root, root)  # type: ignore[no-any-return]

    def payload_frame(self) -> Fuzzed:
        action = self.rng.choice(self.actions)
        schema = self.schema(action)
        payload = minimal(schema, self.rng)
        paths = _paths(schema)
        uid = self._id()
        choices = ["unknown_field"]
        if paths:
            choices += ["missing", "wrong_type", "wrong_type"]
        numeric = [p for p, s in paths if s.get("type") in ("integer", "number")]
        if numeric:
            choices += ["non_finite", "non_finite"]
        dates = [p for p, s in paths if s.get("format") == "date-time"]
        if dates:
            choices.append("bad_date")
        kind = self.rng.choice(choices)
        if kind == "unknown_field":
            payload["zzNotInTheSchema"] = 1
        elif kind == "missing":
            _delete(payload, self.rng.choice(paths)[0])
        elif kind == "wrong_type":
            path, sub = self.rng.choice(paths)
            _set(payload, path, _wrong_type(sub))
        elif kind == "bad_date":
            _set(
                payload,
                self.rng.choice(dates),
                self.rng.choice(["2026-12-01", "yesterday", "2026-13-40T25:61:00Z"]),
            )
        elif kind == "non_finite":
            _set(payload, self.rng.choice(numeric), "__NUMBER__")
            token = self.rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
            text = json.dumps([2, uid, action, payload]).replace('"__NUMBER__"', token)
            return Fuzzed(f"{action}:{kind}", text, uid)
        return Fuzzed(f"{action}:{kind}", json.dumps([2, uid, action, payload]), uid)

    def envelope_frame(self) -> Fuzzed:
        uid = self._id()
        action = self.rng.choice(self.actions)
        r = self.rng.randrange(13)
        if r == 0:
            return Fuzzed(
                "id_number",
                f'[2,{self.rng.choice(["1e400", "7", "-1", "1.5"])},"{action}",{{}}]',
                None,
            )
        if r == 1:
            return Fuzzed(
                "id_long", json.dumps([2, "i" * self.rng.randint(37, 200), action, {}]), None
            )
        if r == 2:
            return Fuzzed("id_null", json.dumps([2, None, action, {}]), None)
        if r == 3:
            return Fuzzed("action_list", json.dumps([2, uid, [action], {}]), uid)
        if r == 4:
            return Fuzzed("action_object", json.dumps([2, uid, {"a": action}, {}]), uid)
        if r == 5:
            return Fuzzed("no_payload", json.dumps([2, uid, action]), uid)
        if r == 6:
            return Fuzzed("payload_list", json.dumps([2, uid, action, []]), uid)
        if r == 7:
            return Fuzzed(
                "unknown_type", json.dumps([self.rng.choice([0, 1, 5, 99]), uid, action, {}]), uid
            )
        if r == 8:
            text = json.dumps([2, uid, action, {}])
            return Fuzzed("truncated", text[: self.rng.randint(len(uid) + 7, len(text) - 1)], uid)
        if r == 9:
            levels = self.rng.choice([30, 100, 1000, 5000])
            return Fuzzed(
                "deep", f'[2,"{uid}","{action}",{{"x":{"[" * levels}{"]" * levels}}}]', uid
            )
        if r == 10:
            return Fuzzed("binary", json.dumps([2, uid, action, {}]).encode(), None)
        if r == 11:
            return Fuzzed(
                "unknown_action",
                json.dumps([2, uid, "Launch" + str(self.rng.randint(0, 99)), {}]),
                uid,
            )
        return Fuzzed(
            "not_json", self.rng.choice(["", "{", "[2,", "null", "42", '"x"', "[]", "{}"]), None
        )

    def frames(self, count: int) -> list[Fuzzed]:
        return [
            self.payload_frame() if self.rng.random() < 0.6 else self.envelope_frame()
            for _ in range(count)
        ]

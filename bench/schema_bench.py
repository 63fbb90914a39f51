#!/usr/bin/env python3
"""Workload preparation and report for bench/schema_bench.sh (python3 + PyYAML; deterministic).

  schema_bench.py prep DIR         write DIR/<workload>.cand.json: schemas + candidate documents
  schema_bench.py merge DIR NAME   keep the schemas both validators compile and the documents both
                                   classify alike → DIR/NAME.json (+ DIR/NAME.meta.json)
  schema_bench.py drive DIR NAME SPK_BIN NODE MJS [CASE...]
                                   time both validators on DIR/NAME.json, alternating their runs
                                   → DIR/NAME.spk.res, DIR/NAME.ajv.res
  schema_bench.py report DIR OUT   markdown table from DIR/*.{spk,ajv}.res → stdout and OUT

Candidate file: {"name", "title", "schemas": [schema...], "docs": [[schema_index, json_text,
origin]...]}. Every document is a compact JSON text (the bytes both sides parse); origin says
where it came from ("fixture", "example", "generated", "mutated:<kind>") and is informational
only: whether a document is valid is decided by the validators themselves (merge step).
"""
import copy
import glob
import json
import os
import random
import re
import sys

FIXTURES = os.environ.get("FIXTURES", "/work/shared/spikard-fixtures/testing_data")
OPENAPI = os.environ.get(
    "OPENAPI", "/work/shared/conformance/openapi/real-world/adyen-checkout-v71-3.1.yaml")

WORKLOADS = ["fixtures", "adyen", "synthetic"]


def dumps(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------------------------------------
# Schema-guided mutations (invalid-intended documents)

def resolve(schema, root):
    """Follow local $refs ("#/$defs/X", "#/…" JSON pointers)."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 50:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            break
        node = root
        for tok in ref[1:].split("/")[1:]:
            tok = tok.replace("~1", "/").replace("~0", "~")
            node = node[int(tok)] if isinstance(node, list) else node[tok]
        schema = node
        seen += 1
    return schema


def subschemas(schema, root):
    """The schema plus its allOf members (resolved), where instance-level keywords live."""
    out = []
    stack = [schema]
    while stack:
        s = resolve(stack.pop(), root)
        if not isinstance(s, dict):
            continue
        out.append(s)
        for m in s.get("allOf", []) or []:
            stack.append(m)
        if "$ref" in s and isinstance(s["$ref"], str):
            pass
    return out


def walk(schema, value, root, path=(), depth=0, acc=None):
    """(path, [schemas that apply], value, depth) for every node reachable through properties /
    items (not through anyOf/oneOf: which branch applies is not known)."""
    if acc is None:
        acc = []
    subs = subschemas(schema, root)
    acc.append((path, subs, value, depth))
    if depth > 40:
        return acc
    for s in subs:
        if isinstance(value, dict):
            props = s.get("properties") or {}
            for k, v in value.items():
                if k in props:
                    walk(props[k], v, root, path + (k,), depth + 1, acc)
        elif isinstance(value, list):
            items = s.get("items")
            if isinstance(items, dict):
                for i, v in enumerate(value):
                    walk(items, v, root, path + (i,), depth + 1, acc)
    return acc


def set_at(doc, path, fn):
    """Copy of doc with fn(parent, key) applied at path (fn mutates the parent container)."""
    doc = copy.deepcopy(doc)
    if not path:
        return fn(None, None, doc)
    node = doc
    for k in path[:-1]:
        node = node[k]
    fn(node, path[-1], None)
    return doc


def wrong_value(types):
    if "string" in types:
        return 12345
    if "integer" in types or "number" in types:
        return "not-a-number"
    if "boolean" in types:
        return "yes"
    if "array" in types:
        return {"not": "an array"}
    if "object" in types:
        return "not-an-object"
    return None


def mutations(schema, doc, root):
    """Up to three invalid-intended variants of doc: a missing required property, a value of the
    wrong type, a broken constraint (length, pattern, format, enum, bound, extra property).
    Each prefers the deepest place it can find."""
    nodes = walk(schema, doc, root)
    out = []

    # 1. missing required property
    best = None
    for path, subs, value, depth in nodes:
        if isinstance(value, dict):
            for s in subs:
                for r in s.get("required", []) or []:
                    if r in value and (best is None or depth > best[2]):
                        best = (path, r, depth)
    if best:
        path, r, _ = best
        out.append(("missing-required", set_at(doc, path + (r,), lambda p, k, _: p.pop(k))))

    # 2. wrong type at a leaf
    best = None
    for path, subs, value, depth in nodes:
        if not path:
            continue
        for s in subs:
            t = s.get("type")
            types = t if isinstance(t, list) else [t] if isinstance(t, str) else []
            if types and "null" not in types and wrong_value(types) is not None:
                if best is None or depth > best[2]:
                    best = (path, wrong_value(types), depth)
    if best:
        path, bad, _ = best

        def put(p, k, _, bad=bad):
            p[k] = bad
        out.append(("wrong-type", set_at(doc, path, put)))

    # 3. broken constraint
    best = None
    for path, subs, value, depth in nodes:
        for s in subs:
            bad = None
            if isinstance(value, str):
                if "enum" in s:
                    bad = "__not_in_enum__"
                elif "maxLength" in s and s["maxLength"] <= 1000:
                    # (longer limits: a 10-50 KB document would dominate the invalid set)
                    bad = "x" * (int(s["maxLength"]) + 1)
                elif s.get("minLength", 0) > 0:
                    bad = ""
                elif "pattern" in s:
                    bad = "!!no match!!"
                elif s.get("format") in ("email", "uuid", "date-time", "date", "uri", "ipv4",
                                         "hostname", "time"):
                    bad = "not a " + s["format"] + " value"
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                if "maximum" in s:
                    bad = s["maximum"] + 1
                elif "minimum" in s:
                    bad = s["minimum"] - 1
                elif "exclusiveMinimum" in s:
                    bad = s["exclusiveMinimum"]
                elif "enum" in s:
                    bad = -987654321
            elif isinstance(value, dict) and s.get("additionalProperties") is False:
                bad = dict(value, unexpected_extra_field=True)
            elif isinstance(value, list) and "minItems" in s and s["minItems"] > 0:
                bad = []
            if bad is not None and (best is None or depth > best[2]):
                best = (path, bad, depth)
    if best:
        path, bad, _ = best

        def put(p, k, v, bad=bad):
            if p is None:
                return bad
            p[k] = bad
        out.append(("constraint", set_at(doc, path, put)))

    if not out:
        out.append(("root-type", [] if isinstance(doc, dict) else {"unexpected": "object"}))
    return out


# ------------------------------------------------------------------------------------------------
# Workload 1: fixture body schemas

def prep_fixtures():
    schemas, docs = [], []
    files = sorted(glob.glob(os.path.join(FIXTURES, "*", "*.json")))
    for f in files:
        with open(f, encoding="utf-8") as fh:
            d = json.load(fh)
        if not isinstance(d, dict):
            continue
        bs = (d.get("handler") or {}).get("body_schema")
        req = d.get("request") or {}
        if bs is None or "body" not in req:
            continue  # form/multipart fixtures have no JSON body
        si = len(schemas)
        schemas.append(bs)
        body = req["body"]
        docs.append([si, dumps(body), "fixture"])
        status = (d.get("expected_response") or {}).get("status_code", 200)
        if 200 <= status < 300:
            for kind, m in mutations(bs, body, bs):
                docs.append([si, dumps(m), "mutated:" + kind])
    return {"name": "fixtures",
            "title": f"fixture body schemas ({len(schemas)} schemas)",
            "schemas": schemas, "docs": docs}


# ------------------------------------------------------------------------------------------------
# Workload 2: real OpenAPI components

def yaml_load(path):
    import yaml
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):
        pass
    # JSON semantics: no timestamps (dates stay strings), only true/false are booleans.
    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
        for k, v in base.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"),
                                 list("tf"))
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=Loader)


def rewrite_refs(x):
    if isinstance(x, dict):
        return {k: ("#/$defs/" + v[len("#/components/schemas/"):]
                    if k == "$ref" and isinstance(v, str)
                    and v.startswith("#/components/schemas/") else rewrite_refs(v))
                for k, v in x.items()}
    if isinstance(x, list):
        return [rewrite_refs(v) for v in x]
    return x


def refs_in(x, acc):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                acc.add(v[len("#/$defs/"):].split("/")[0])
            else:
                refs_in(v, acc)
    elif isinstance(x, list):
        for v in x:
            refs_in(v, acc)
    return acc


def closure(name, comps):
    todo, seen = [name], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(refs_in(comps[n], set()) - seen)
    return seen


class Gen:
    """Deterministic instance generator: every property it can fill (not deprecated / readOnly),
    down to max_depth; the first enum value / oneOf branch; strings by format and length."""

    FORMATS = {"date-time": "2024-05-17T09:30:00Z", "date": "2024-05-17", "time": "09:30:00Z",
               "email": "shopper@example.com", "uuid": "123e4567-e89b-42d3-a456-426614174000",
               "uri": "https://example.com/return", "ipv4": "192.0.2.10",
               "byte": "aGVsbG8gd29ybGQ=", "hostname": "shop.example.com"}

    def __init__(self, root, max_depth, seed):
        self.root, self.max_depth, self.rng = root, max_depth, random.Random(seed)

    def gen(self, s, depth=0):
        s = resolve(s, self.root)
        if not isinstance(s, dict):
            return None
        if "const" in s:
            return s["const"]
        if "enum" in s and s["enum"]:
            return s["enum"][self.rng.randrange(len(s["enum"]))]
        for k in ("oneOf", "anyOf"):
            if s.get(k):
                return self.gen(s[k][0], depth)
        if s.get("allOf"):
            merged = {"type": "object", "properties": {}, "required": []}
            for m in s["allOf"]:
                m = resolve(m, self.root)
                merged["properties"].update(m.get("properties", {}))
                merged["required"] += m.get("required", [])
            return self.gen(merged, depth)
        t = s.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        if t is None:
            t = "object" if "properties" in s else "string"
        if t == "object":
            obj = {}
            req = set(s.get("required", []))
            for k, v in (s.get("properties") or {}).items():
                rv = resolve(v, self.root)
                if not isinstance(rv, dict):
                    continue
                optional = k not in req
                if optional and (v.get("deprecated") or rv.get("deprecated")
                                 or rv.get("readOnly") or depth >= self.max_depth):
                    continue
                if optional and "pattern" in rv:
                    continue
                obj[k] = self.gen(v, depth + 1)
            ap = s.get("additionalProperties")
            if not s.get("properties") and isinstance(ap, dict) and depth < self.max_depth:
                for i in range(3):
                    obj[f"key{i}"] = self.gen(ap, depth + 1)
            return obj
        if t == "array":
            n = max(s.get("minItems", 0), 0 if depth >= self.max_depth else 2)
            return [self.gen(s.get("items", {}), depth + 1) for _ in range(n)]
        if t == "string":
            f = s.get("format")
            if f in self.FORMATS:
                return self.FORMATS[f]
            lo, hi = s.get("minLength", 1), s.get("maxLength", 24)
            text = "value" + "abcdefghijklmnopqrstuvwxyz0123456789"[self.rng.randrange(36)] * 40
            return text[:max(lo, min(hi, 8 + self.rng.randrange(12)))].ljust(lo, "z")
        if t == "integer":
            lo = s.get("minimum", 0)
            hi = s.get("maximum", lo + 1000)
            return int(lo + self.rng.randrange(int(hi - lo) + 1))
        if t == "number":
            return s.get("minimum", 0) + 12.5
        if t == "boolean":
            return True
        return None


def prep_adyen():
    spec = yaml_load(OPENAPI)
    comps = rewrite_refs(spec["components"]["schemas"])
    # The request-body schemas of the API, with the examples the spec gives for them.
    bodies = {}
    for _, ops in spec["paths"].items():
        for _, op in ops.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            c = (op["requestBody"].get("content") or {}).get("application/json")
            if not c or "$ref" not in (c.get("schema") or {}):
                continue
            name = c["schema"]["$ref"].split("/")[-1]
            exs = bodies.setdefault(name, [])
            for ex in (c.get("examples") or {}).values():
                if isinstance(ex, dict) and isinstance(ex.get("$ref"), str):
                    ex = spec["components"]["examples"].get(ex["$ref"].split("/")[-1])
                if isinstance(ex, dict) and "value" in ex:
                    exs.append(ex["value"])
    schemas, docs = [], []
    for name in sorted(bodies):
        defs = {n: comps[n] for n in sorted(closure(name, comps))}
        schema = {"$ref": "#/$defs/" + name, "$defs": defs}
        si = len(schemas)
        schemas.append(schema)
        valid_like = []
        for ex in bodies[name]:
            docs.append([si, dumps(ex), "example"])
            valid_like.append(ex)
        for depth, seed in ((1, 1), (3, 2)):
            g = Gen(schema, depth, seed * 7919 + si).gen(schema)
            docs.append([si, dumps(g), "generated"])
            valid_like.append(g)
        for v in valid_like[:2] + valid_like[-1:]:
            for kind, m in mutations(schema, v, schema):
                docs.append([si, dumps(m), "mutated:" + kind])
    title = os.path.basename(OPENAPI)
    return {"name": "adyen",
            "title": f"{title}: {len(schemas)} request-body components, "
                     f"{sum(len(s['$defs']) for s in schemas)} $defs in all",
            "schemas": schemas, "docs": docs}


# ------------------------------------------------------------------------------------------------
# Workload 3: synthetic medium schema, ~1 KB documents

SYNTHETIC = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "created_at", "status", "customer", "items", "payment", "shipping"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "created_at": {"type": "string", "format": "date-time"},
        "status": {"enum": ["pending", "paid", "shipped", "delivered", "cancelled"]},
        "customer": {
            "type": "object",
            "required": ["id", "name", "email"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "name": {"type": "string", "minLength": 1, "maxLength": 80},
                "email": {"type": "string", "format": "email"},
                "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{7,14}$"},
                "website": {"type": "string", "format": "uri"},
                "vip": {"type": "boolean"},
            },
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["sku", "name", "quantity", "unit_price"],
                "additionalProperties": False,
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}(-[A-Z0-9]{2})?$"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 120},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "unit_price": {"type": "number", "exclusiveMinimum": 0, "maximum": 100000},
                    "tags": {"type": "array", "uniqueItems": True, "maxItems": 8,
                             "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"}},
                },
            },
        },
        "payment": {
            "oneOf": [
                {"type": "object", "required": ["method", "last4", "expiry"],
                 "additionalProperties": False,
                 "properties": {"method": {"const": "card"},
                                "last4": {"type": "string", "pattern": "^[0-9]{4}$"},
                                "expiry": {"type": "string", "pattern": "^(0[1-9]|1[0-2])/[0-9]{2}$"}}},
                {"type": "object", "required": ["method", "account"],
                 "additionalProperties": False,
                 "properties": {"method": {"const": "paypal"},
                                "account": {"type": "string", "format": "email"}}},
                {"type": "object", "required": ["method", "iban"],
                 "additionalProperties": False,
                 "properties": {"method": {"const": "sepa"},
                                "iban": {"type": "string",
                                         "pattern": "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"}}},
            ]
        },
        "shipping": {"$ref": "#/$defs/address"},
        "billing": {"$ref": "#/$defs/address"},
        "notes": {"type": ["string", "null"], "maxLength": 500},
        "client_ip": {"type": "string", "format": "ipv4"},
        "metadata": {"type": "object", "maxProperties": 10,
                     "propertyNames": {"pattern": "^[a-z_]{1,32}$"},
                     "additionalProperties": {"type": "string", "maxLength": 64}},
    },
    "$defs": {
        "address": {
            "type": "object",
            "required": ["line1", "city", "postal_code", "country"],
            "additionalProperties": False,
            "properties": {
                "line1": {"type": "string", "minLength": 1, "maxLength": 100},
                "line2": {"type": "string", "maxLength": 100},
                "city": {"type": "string", "minLength": 1, "maxLength": 60},
                "postal_code": {"type": "string", "pattern": "^[0-9A-Z][0-9A-Z -]{1,8}[0-9A-Z]$"},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            },
        }
    },
}

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "caf\u00e9", "na\u00efve", "\u00fcber", "sierra", "tango"]


def synthetic_doc(rng, target=1024):
    def words(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    def address():
        a = {"line1": f"{rng.randrange(1, 999)} {words(2).title()} Street",
             "city": words(1).title(), "postal_code": f"{rng.randrange(10000, 99999)}",
             "country": rng.choice(["DE", "FR", "US", "GB", "NL"])}
        if rng.random() < 0.5:
            a["line2"] = f"Apt {rng.randrange(1, 99)}"
        return a

    pay = rng.randrange(3)
    payment = [{"method": "card", "last4": f"{rng.randrange(10000):04d}",
                "expiry": f"{rng.randrange(1, 13):02d}/{rng.randrange(24, 40)}"},
               {"method": "paypal", "account": f"buyer{rng.randrange(1000)}@example.org"},
               {"method": "sepa", "iban": f"DE{rng.randrange(10, 99)}3704004405320130{rng.randrange(10, 99)}"}][pay]
    doc = {
        "id": "%08x-%04x-4%03x-a%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                               rng.getrandbits(12), rng.getrandbits(12),
                                               rng.getrandbits(48)),
        "created_at": "2024-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
            rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60),
            rng.randrange(60), rng.randrange(1000)),
        "status": rng.choice(["pending", "paid", "shipped", "delivered"]),
        "customer": {"id": rng.randrange(1, 10**6), "name": words(2).title(),
                     "email": f"{rng.choice(WORDS[:18])}.{rng.randrange(100)}@example.com",
                     "phone": f"+49{rng.randrange(10**9, 10**10)}",
                     "website": f"https://{rng.choice(WORDS[:18])}.example.net/shop?id={rng.randrange(999)}",
                     "vip": rng.random() < 0.3},
        "items": [],
        "payment": payment,
        "shipping": address(),
        "billing": address(),
        "notes": None if rng.random() < 0.5 else words(6),
        "client_ip": f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "metadata": {"channel": "web", "campaign": words(1), "ref_code": f"R{rng.randrange(10**6)}"},
    }
    while True:
        item = {"sku": "%s-%04d" % ("".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3)),
                                     rng.randrange(10000)),
                "name": words(rng.randrange(1, 4)), "quantity": rng.randrange(1, 20),
                "unit_price": round(rng.uniform(0.5, 500), 2)}
        if rng.random() < 0.7:
            item["tags"] = sorted({rng.choice(["new", "sale", "gift", "eco", "b2b", "fragile"])
                                   for _ in range(rng.randrange(1, 4))})
        if len(dumps(doc).encode()) + len(dumps(item).encode()) > target and doc["items"]:
            break
        doc["items"].append(item)
    return doc


def prep_synthetic(n=24):
    rng = random.Random(20240517)
    docs = []
    for i in range(n):
        d = synthetic_doc(rng)
        docs.append([0, dumps(d), "generated"])
        for kind, m in mutations(SYNTHETIC, d, SYNTHETIC):
            docs.append([0, dumps(m), "mutated:" + kind])
    return {"name": "synthetic",
            "title": "synthetic order schema (nested objects, arrays, $ref, oneOf, patterns, "
                     "formats), ~1 KB documents",
            "schemas": [SYNTHETIC], "docs": docs}


# ------------------------------------------------------------------------------------------------

def cmd_prep(out):
    for name, fn in (("fixtures", prep_fixtures), ("adyen", prep_adyen),
                     ("synthetic", prep_synthetic)):
        w = fn()
        with open(os.path.join(out, name + ".cand.json"), "w", encoding="utf-8") as fh:
            fh.write(dumps(w))
        print(f"{name}: {len(w['schemas'])} schemas, {len(w['docs'])} candidate documents",
              file=sys.stderr)


def read_check(path):
    """Lines 'S i ok' / 'S i fail MESSAGE' / 'D j 1|0|E'."""
    schemas, docs = {}, {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split(" ", 3)
            if parts[0] == "S":
                schemas[int(parts[1])] = (parts[2], parts[3] if len(parts) > 3 else "")
            elif parts[0] == "D":
                docs[int(parts[1])] = parts[2]
    return schemas, docs


def cmd_merge(d, name):
    with open(os.path.join(d, name + ".cand.json"), encoding="utf-8") as fh:
        w = json.load(fh)
    ss, sd = read_check(os.path.join(d, name + ".spk.check"))
    as_, ad = read_check(os.path.join(d, name + ".ajv.check"))
    keep = [i for i in range(len(w["schemas"]))
            if ss.get(i, ("?",))[0] == "ok" and as_.get(i, ("?",))[0] == "ok"]
    dropped_schemas = [(i, ss.get(i), as_.get(i)) for i in range(len(w["schemas"]))
                       if i not in keep]
    remap = {old: new for new, old in enumerate(keep)}
    valid, invalid, disagree = [], [], []
    origins = {"valid": {}, "invalid": {}}
    for j, (si, text, origin) in enumerate(w["docs"]):
        if si not in remap:
            continue
        a, s = ad.get(j), sd.get(j)
        if a != s or a not in ("0", "1"):
            disagree.append({"doc": j, "schema": si, "origin": origin, "ajv": a, "spikard": s,
                             "text": text[:300]})
            continue
        kind = "valid" if a == "1" else "invalid"
        (valid if a == "1" else invalid).append([remap[si], text])
        o = origin.split(":")[0]
        origins[kind][o] = origins[kind].get(o, 0) + 1
    out = {"name": name, "title": w["title"], "schemas": [w["schemas"][i] for i in keep],
           "valid": valid, "invalid": invalid}
    with open(os.path.join(d, name + ".json"), "w", encoding="utf-8") as fh:
        fh.write(dumps(out))
    def avg(lst):
        return sum(len(t.encode()) for _, t in lst) / len(lst) if lst else 0

    def biggest(lst):
        return max((len(t.encode()) for _, t in lst), default=0)
    meta = {"name": name, "title": w["title"], "schemas": len(keep),
            "schemas_dropped": dropped_schemas, "valid": len(valid), "invalid": len(invalid),
            "valid_avg_bytes": avg(valid), "invalid_avg_bytes": avg(invalid),
            "valid_max_bytes": biggest(valid), "invalid_max_bytes": biggest(invalid),
            "origins": origins, "disagreements": disagree,
            "schema_bytes": sum(len(dumps(s)) for s in out["schemas"])}
    with open(os.path.join(d, name + ".meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, ensure_ascii=False)
    print(f"{name}: {len(keep)} schemas kept ({len(dropped_schemas)} dropped), "
          f"{len(valid)} valid + {len(invalid)} invalid documents, "
          f"{len(disagree)} disagreements left out", file=sys.stderr)
    if not valid or not invalid:
        sys.exit(f"{name}: empty document set")


CASES = [
    ("valid-flag", "valid", "pre-parsed", "valid?"),
    ("valid-all", "valid", "pre-parsed", "all errors"),
    ("invalid-flag", "invalid", "pre-parsed", "valid?"),
    ("invalid-all", "invalid", "pre-parsed", "all errors"),
    ("valid-parse", "valid", "parse + validate", "all errors"),
    ("invalid-parse", "invalid", "parse + validate", "all errors"),
]


def cmd_drive(d, name, spk_bin, node, mjs, wanted):
    """Both validators stay loaded (serve mode); per case: warm-up of each, then SB_RUNS runs
    of each, alternating spikard/ajv (and which one goes first), so that drift of a shared
    machine hits both alike. Each process is idle while the other runs."""
    import subprocess
    runs = int(float(os.environ.get("SB_RUNS", "5")))
    wl = os.path.join(d, name + ".json")
    procs = {
        "spk": subprocess.Popen([spk_bin, "serve", wl], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1),
        "ajv": subprocess.Popen([node, mjs, "serve", wl], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1),
    }

    def ask(who, line):
        p = procs[who]
        p.stdin.write(line + "\n")
        p.stdin.flush()
        ans = p.stdout.readline()
        if not ans:
            sys.exit(f"{who} serve: no answer to '{line}' (exit {p.wait()})")
        return ans.strip()

    with open(wl, encoding="utf-8") as fh:
        w = json.load(fh)
    ndocs = {"valid": len(w["valid"]), "invalid": len(w["invalid"])}
    out = {"spk": [], "ajv": []}
    try:
        for case, docs, _, _ in CASES:
            if wanted and case not in wanted:
                continue
            for who in ("spk", "ajv"):
                if ask(who, "warm " + case) != "ok":
                    sys.exit(f"{who}: warm-up failed")
            res = {"spk": [], "ajv": []}
            for r in range(runs):
                for who in (("spk", "ajv") if r % 2 == 0 else ("ajv", "spk")):
                    res[who].append(json.loads(ask(who, "run " + case)))
            for who in ("spk", "ajv"):
                rates = [x["rate"] for x in res[who]]
                out[who].append({
                    "case": case, "median": sorted(rates)[len(rates) // 2], "runs": rates,
                    "per_run": min(x["validations"] for x in res[who]),
                    "min_secs": min(x["secs"] for x in res[who]), "docs": ndocs[docs]})
            print(f"  {case}: spikard {out['spk'][-1]['median']:,.0f}/s, "
                  f"ajv {out['ajv'][-1]['median']:,.0f}/s", file=sys.stderr)
    finally:
        for p in procs.values():
            try:
                p.stdin.write("quit\n")
                p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            p.wait()
    for who in ("spk", "ajv"):
        with open(os.path.join(d, f"{name}.{who}.res"), "w", encoding="utf-8") as fh:
            for r in out[who]:
                fh.write(json.dumps(r) + "\n")


def read_res(path):
    res = {}
    if not os.path.exists(path):
        return res
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                res[r["case"]] = r
    return res


def fmt_rate(x):
    return f"{x:,.0f}"


def cmd_report(d, out_path):
    env = {}
    envf = os.path.join(d, "env.json")
    if os.path.exists(envf):
        with open(envf, encoding="utf-8") as fh:
            env = json.load(fh)
    lines = []
    p = lines.append
    p("# JSON Schema validation: spikard vs ajv")
    p("")
    p(f"Generated by `bench/schema_bench.sh` on {env.get('date', '?')} — commit "
      f"`{env.get('commit', '?')}`{' (dirty tree)' if env.get('dirty') else ''}; "
      f"{env.get('cpu', '?')}, {env.get('nproc', '?')} CPUs, kernel {env.get('kernel', '?')}.")
    p(f"spikard: `{env.get('cc', '?')}` `{env.get('cflags', '?')}` (src/util/*.c src/proto/*.c, "
      f"PCRE2 {env.get('pcre2', '?')}); ajv {env.get('ajv', '?')} + ajv-formats "
      f"{env.get('ajv_formats', '?')} (`ajv/dist/2020`), node {env.get('node', '?')}.")
    if env.get("stat_before") and env.get("stat_after"):
        a = [int(x) for x in env["stat_before"].split()[1:]]
        b = [int(x) for x in env["stat_after"].split()[1:]]
        delta = [y - x for x, y in zip(a, b)]
        total = sum(delta[:8]) or 1
        busy = total - delta[3] - delta[4]
        p(f"Machine during the measurements: {100 * busy / total:.0f}% of all CPUs busy "
          f"(the benchmark itself keeps about one busy), steal {100 * delta[7] / total:.1f}%.")
    p(f"Each figure: validations per CPU-second, median of {env.get('runs', 5)} runs of "
      f"≥ {env.get('seconds', 1)} s after ≥ {env.get('warmup', 5)} s of warm-up, the runs of "
      "spikard and ajv alternating; ratio = spikard / ajv (above 1× spikard is faster).")
    p("")
    metas = {}
    for name in WORKLOADS:
        mf = os.path.join(d, name + ".meta.json")
        if os.path.exists(mf):
            with open(mf, encoding="utf-8") as fh:
                metas[name] = json.load(fh)
    p("| workload | documents | case | mode | spikard (val/s) | ajv (val/s) | ratio |")
    p("|---|---|---|---|---:|---:|---:|")
    slower = []
    for name in WORKLOADS:
        if name not in metas:
            continue
        m = metas[name]
        spk = read_res(os.path.join(d, name + ".spk.res"))
        ajv = read_res(os.path.join(d, name + ".ajv.res"))
        for case, docs, how, mode in CASES:
            n = m[docs]
            avg, big = m[docs + "_avg_bytes"], m[docs + "_max_bytes"]
            s, a = spk.get(case), ajv.get(case)
            sv = fmt_rate(s["median"]) if s else "—"
            av = fmt_rate(a["median"]) if a else "—"
            ratio = f"{s['median'] / a['median']:.2f}×" if s and a else "—"
            if s and a and s["median"] < a["median"]:
                ratio = f"**{ratio}**"
                slower.append((name, case))
            p(f"| {name} | {n} {docs} (avg {avg:,.0f} B, max {big:,} B) | {how} | {mode} | {sv} | {av} | "
              f"{ratio} |")
    p("")
    p("## Workloads")
    p("")
    for name in WORKLOADS:
        if name not in metas:
            continue
        m = metas[name]
        def origins(o):
            return ", ".join(f"{v} {k}" for k, v in sorted(o.items(), key=lambda x: -x[1]))
        p(f"- **{name}** — {m['title']}; {m['schemas']} schemas compiled by both "
          f"({m['schema_bytes']:,} B of schema JSON); valid documents: {origins(m['origins']['valid'])}; "
          f"invalid: {origins(m['origins']['invalid'])}.")
        if m["schemas_dropped"]:
            p(f"  - schemas left out (did not compile on one side): {len(m['schemas_dropped'])}: "
              + "; ".join(f"#{i} spikard={s} ajv={a}" for i, s, a in m["schemas_dropped"][:5]))
        if m["disagreements"]:
            p(f"  - {len(m['disagreements'])} candidate documents left out because the validators "
              "disagree (1 = valid, 0 = invalid):")
            for x in m["disagreements"][:10]:
                p(f"    - schema #{x['schema']} {x['origin']}: spikard={x['spikard']} "
                  f"ajv={x['ajv']} `{x['text'][:160]}`")
            if len(m["disagreements"]) > 10:
                p(f"    - … {len(m['disagreements']) - 10} more")
    p("")
    p("## Method")
    p("")
    p("- Same schemas and same document bytes on both sides. The candidate documents of every "
      "workload are classified by both validators first; only documents both call valid (or "
      "both call invalid) are measured, and schemas must compile on both sides.")
    p("- One *validation* = one document validated against its schema; a pass walks the whole "
      "document list of the workload in order (aggregated over all its schemas), "
      "validations/s = documents × passes / CPU time (process CPU time: `CLOCK_PROCESS_CPUTIME_ID`"
      " / `process.cpuUsage()`, so node's GC and JIT helper threads count).")
    p("- Both validators stay loaded in their own process; per case each warms up, then their "
      "runs alternate (spikard, ajv, ajv, spikard, …: who goes first alternates too) while the "
      "other process waits idle — drift of a shared machine hits both alike. On a shared VM "
      "(as for the committed results, where the same C loop varied by up to ±30% between "
      "consecutive seconds) a single ratio is good to about ±20%: the run-by-run ratios at the "
      "end show the spread.")
    p("- *pre-parsed*: documents parsed once before timing (spikard DOM / JS objects). spikard "
      "gets a fresh arena per validation (`spk__arena_init(&a, 4096)` … `spk__arena_free`), as "
      "a request would. *parse + validate*: from the bytes — spikard `spk_json_parse` (default "
      "options, the server's body depth limit) into a fresh arena + validate + free; ajv "
      "`JSON.parse` of the (already decoded) JS string + validate.")
    p("- Modes: *valid?* = spikard `spk_schema_validate(…, NULL, NULL)` (stops at the first "
      "failure) vs ajv `allErrors: false`; *all errors* = spikard with an error list (what the "
      "server does: every error, with its message) vs ajv `allErrors: true` (error objects with "
      "messages).")
    p("- ajv: `new Ajv2020({strict: false, allErrors})`, ajv-formats in `full` mode for the "
      "formats spikard asserts too (date, time, date-time, duration, email, hostname, ipv4, ipv6, "
      "uri, uri-reference, uri-template, uuid, json-pointer, relative-json-pointer, regex); the "
      "OpenAPI formats ajv-formats would also check (int32, int64, byte, double, …) are "
      "registered as no-ops because spikard only annotates them — both sides do the same work.")
    p("- Adyen: each request-body component becomes `{\"$ref\": \"#/$defs/<Name>\", \"$defs\": "
      "{…the components it references…}}` (`#/components/schemas/` refs rewritten); YAML loaded "
      "with JSON semantics (no timestamps, only true/false booleans). Valid documents: the spec's "
      "request examples + instances generated from the schema; invalid: schema-guided mutations "
      "(missing required property, wrong type, broken constraint — deepest place found).")
    p("")
    p("## Runs (validations/s per run)")
    p("")
    p("| workload | case | spikard runs | ajv runs | ratio run by run |")
    p("|---|---|---|---|---|")
    for name in WORKLOADS:
        if name not in metas:
            continue
        spk = read_res(os.path.join(d, name + ".spk.res"))
        ajv = read_res(os.path.join(d, name + ".ajv.res"))
        for case, *_ in CASES:
            def runs(r):
                if not r:
                    return "—"
                return ", ".join(f"{x:,.0f}" for x in r["runs"]) + \
                    f" (≥ {r['per_run']:,} validations, ≥ {r['min_secs']:.2f} s per run)"
            s_, a_ = spk.get(case), ajv.get(case)
            pairs = ", ".join(f"{x / y:.2f}" for x, y in zip(s_["runs"], a_["runs"])) \
                if s_ and a_ else "—"
            p(f"| {name} | {case} | {runs(s_)} | {runs(a_)} | {pairs} |")
    if slower:
        p("")
        p("Slower than ajv (bold ratios): " + ", ".join(f"{w}/{c}" for w, c in slower) + ".")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_path:
        with open(out_path, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "prep":
        cmd_prep(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "merge":
        cmd_merge(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 7 and sys.argv[1] == "drive":
        cmd_drive(*sys.argv[2:7], sys.argv[7:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "report":
        cmd_report(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(__doc__)

#!/usr/bin/env python3
"""A till that talks to `posbridge serve` with nothing but Python's standard library.

    python3 client.py BASE_URL API_KEY

It posts five sales (the second one twice: the repeat must answer 200 with the same
deliveries), one sale whose total is wrong (422 problem+json naming `/total`), then
reads every delivery back two at a time with the cursor and checks that exactly the
five references are there, once per target of the key's tenant. It expects a tenant
with no other deliveries (a fresh server, as the Rust test `python` starts).

It prints a JSON summary on stdout and exits 0, or prints what did not match on
stderr and exits 1. The key is never printed.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 10  # seconds per request
PAGE = 2


class Mismatch(Exception):
    """The service answered something other than what the API promises."""


def call(base, key, method, path, body=None):
    """One request; returns (status, content type, parsed JSON body)."""
    data = None
    headers = {"Authorization": "Bearer " + key, "Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, ctype, raw = response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        # 4xx and 5xx arrive as an exception that still carries the answer.
        status, ctype, raw = error.code, error.headers.get("Content-Type", ""), error.read()
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        raise Mismatch(f"{method} {path}: {status} with a body that is not JSON: {raw[:200]!r}")
    return status, ctype, parsed


def sale(reference, quantity, total=None):
    """A sale of `quantity` x 10.00, its total right unless `total` is given."""
    return {
        "reference": reference,
        "issued_at": "2026-12-07T10:15:00+05:30",
        "lines": [{"product_code": "P-1", "quantity": str(quantity), "unit_price": "10.00"}],
        "total": total if total is not None else f"{quantity * 10}.00",
    }


def expect(condition, message):
    if not condition:
        raise Mismatch(message)


def delivery_ids(answer):
    return sorted(d["delivery"]["id"] for d in answer["deliveries"])


def run(base, key):
    base = base.rstrip("/")
    references = [f"PY-{i}" for i in range(1, 6)]
    posted = {}  # reference -> the first answer
    targets = None

    for i, reference in enumerate(references):
        status, ctype, answer = call(base, key, "POST", "/v1/sales", sale(reference, i + 1))
        expect(status == 201, f"POST {reference}: expected 201, got {status}: {answer}")
        expect(ctype.startswith("application/json"), f"POST {reference}: content type {ctype!r}")
        expect(answer["reference"] == reference, f"POST {reference}: answer names {answer['reference']!r}")
        expect(
            all(d["enqueued"] == "new" for d in answer["deliveries"]),
            f"POST {reference}: not every delivery is new: {answer}",
        )
        vendors = sorted(d["delivery"]["vendor"] for d in answer["deliveries"])
        expect(vendors, f"POST {reference}: no delivery at all: {answer}")
        expect(len(set(vendors)) == len(vendors), f"POST {reference}: a target twice: {vendors}")
        if targets is None:
            targets = vendors
        expect(vendors == targets, f"POST {reference}: targets {vendors}, the first sale had {targets}")
        posted[reference] = answer

    # The same sale again: nothing new is queued; the same deliveries come back.
    repeat = references[1]
    status, _, again = call(base, key, "POST", "/v1/sales", sale(repeat, 2))
    expect(status == 200, f"POST {repeat} again: expected 200, got {status}: {again}")
    expect(
        all(d["enqueued"] == "existing" for d in again["deliveries"]),
        f"POST {repeat} again: a delivery is not `existing`: {again}",
    )
    first_ids, again_ids = delivery_ids(posted[repeat]), delivery_ids(again)
    expect(again_ids == first_ids, f"POST {repeat} again: delivery ids {again_ids}, first {first_ids}")

    # A total that does not add up is refused before anything is queued.
    status, ctype, problem = call(base, key, "POST", "/v1/sales", sale("PY-BAD", 2, total="20.01"))
    expect(status == 422, f"POST PY-BAD: expected 422, got {status}: {problem}")
    expect(ctype.startswith("application/problem+json"), f"POST PY-BAD: content type {ctype!r}")
    errors = (problem or {}).get("errors") or []
    pointer = errors[0].get("pointer") if errors else None
    expect(pointer == "/total", f"POST PY-BAD: errors[0].pointer is {pointer!r}: {problem}")

    # Every delivery, a page of two at a time.
    listed = []
    pages = 0
    cursor = None
    while True:
        query = {"limit": PAGE}
        if cursor is not None:
            query["cursor"] = cursor
        status, _, page = call(base, key, "GET", "/v1/deliveries?" + urllib.parse.urlencode(query))
        expect(status == 200, f"GET /v1/deliveries: expected 200, got {status}: {page}")
        pages += 1
        expect(len(page["deliveries"]) <= PAGE, f"page {pages} has {len(page['deliveries'])} deliveries")
        listed.extend(page["deliveries"])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
        expect(pages < 1000, "the cursor never ends")

    ids = [d["id"] for d in listed]
    expect(len(set(ids)) == len(ids), f"a delivery listed twice: {ids}")
    expect(ids == sorted(ids), f"not oldest first: {ids}")
    seen = sorted((d["reference"], d["vendor"]) for d in listed)
    wanted = sorted((r, t) for r in references for t in targets)
    expect(seen == wanted, f"listed (reference, vendor) pairs {seen}, posted {wanted}")
    posted_ids = sorted(i for answer in posted.values() for i in delivery_ids(answer))
    expect(sorted(ids) == posted_ids, f"listed ids {sorted(ids)}, the posts answered {posted_ids}")

    return {
        "references": references,
        "targets": targets,
        "deliveries": len(listed),
        "pages": pages,
        "repeat": {"reference": repeat, "status": 200, "delivery_ids": again_ids},
        "refused": {"reference": "PY-BAD", "status": 422, "pointer": pointer},
    }


def main(argv):
    if len(argv) != 3:
        print("usage: client.py BASE_URL API_KEY", file=sys.stderr)
        return 2
    try:
        summary = run(argv[1], argv[2])
    except Mismatch as mismatch:
        print(f"mismatch: {mismatch}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, KeyError, TypeError) as error:
        print(f"failed: {error!r}", file=sys.stderr)
        return 1
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

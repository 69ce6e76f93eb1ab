"""Registries shaped like real ones, and requests against them, for the benchmark.

N authorisations, each with one discloser, one recipient out of N/5 organisations, 2-4
users, 18-22 of 60 categories, 1-3 of 8 purposes and a validity window of 30-730 days. Half of
the requests are allowed; each denial is a near miss (one field of an allowed request changed).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from authreg.domain.documents import Document

PARENTS = [f"cat-{i:02d}" for i in range(12)]
CATEGORIES = [*PARENTS, *(f"{parent}-{j}" for parent in PARENTS for j in range(4))]  # 60
PURPOSES = [f"purpose-{i}" for i in range(8)]
START = date(2020, 1, 1)


def taxonomy() -> Document:
    entries = [{"id": p, "label": p, "national_register_number": False, "sensitive": False} for p in PARENTS]
    entries += [
        {"id": f"{p}-{j}", "label": f"{p}-{j}", "parent": p, "national_register_number": j == 0, "sensitive": False}
        for p in PARENTS
        for j in range(4)
    ]
    return Document("taxonomy", "bench", {"taxonomy": entries, "data_subjects": []})


def authorisation(index: int, size: int, rng: random.Random) -> Document:
    recipients = max(2, size // 5)
    recipient = f"ORG-{rng.randrange(recipients)}"
    discloser = f"SRC-{rng.randrange(20)}"
    valid_from = START + timedelta(days=rng.randrange(365))
    valid_until = valid_from + timedelta(days=rng.randint(30, 730))
    purposes = rng.sample(PURPOSES, rng.randint(1, 3))
    body: dict[str, Any] = {
        "id": f"auth-{index:05d}",
        "reference": f"bench {index}",
        "title": f"bench authorisation {index}",
        "authority": "VTC",
        "decided_on": valid_from,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "status": "active",
        "replaces": [],
        "amendments": [],
        "legal_bases": [],
        "parties": [
            {"id": "VTC", "name": "VTC", "roles": ["authority"], "paragraphs": []},
            {"id": discloser, "name": discloser, "roles": ["discloser"], "paragraphs": []},
            {"id": recipient, "name": recipient, "roles": ["recipient"], "paragraphs": []},
        ],
        "purposes": [{"id": p, "description": p, "paragraphs": [1]} for p in purposes],
        "flows": [
            {
                "id": "flow",
                "from_": discloser,
                "to": recipient,
                "purposes": purposes,
                "data_subjects": [],
                "data_categories": sorted(rng.sample(CATEGORIES, rng.randint(18, 22))),
                "national_register_number": {"allowed": rng.random() < 0.5, "paragraphs": []},
                "paragraphs": [2],
            }
        ],
        "taxonomy": [],
        "sensitive": False,
        "authorised_users": [
            {
                "id": f"user-{index}-{u}",
                "name": "bench user",
                "organisation": recipient,
                "declaration_signed_on": valid_from,
            }
            for u in range(rng.randint(2, 4))
        ],
        "conditions": [],
        "related": [],
        "remarks": [],
        "paragraphs": {},
    }
    return Document("authorisation", "bench", body)


def documents(size: int, seed: int = 7) -> list[Document]:
    rng = random.Random(seed)
    return [taxonomy(), *(authorisation(i, size, rng) for i in range(size))]


def _covered(categories: list[str]) -> list[str]:
    """The granted categories and everything below them: what a request may name."""
    return sorted({c for c in CATEGORIES if c in categories or c.rsplit("-", 1)[0] in categories})


def requests(docs: list[Document], count: int = 2000, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    authorisations = [d.body for d in docs if d.kind == "authorisation"]
    made: list[dict[str, Any]] = []
    while len(made) < count:
        body = rng.choice(authorisations)
        flow = body["flows"][0]
        user = rng.choice(body["authorised_users"])
        days = (body["valid_until"] - body["valid_from"]).days
        # a parent holds its national-register-number child (-0), so it needs the number too
        allowed_categories = [
            c
            for c in _covered(flow["data_categories"])
            if flow["national_register_number"]["allowed"] or not (c.endswith("-0") or c in PARENTS)
        ]
        request = {
            "user": user["id"],
            "organisation": user["organisation"],
            "data_category": rng.choice(allowed_categories),
            "purpose": rng.choice(flow["purposes"]),
            "at": (body["valid_from"] + timedelta(days=rng.randrange(days + 1))).isoformat(),
        }
        if len(made) % 2:
            request = _near_miss(request, body, rng)
            request["expect"] = "deny"
        else:
            request["expect"] = "allow"
        made.append(request)
    return made


def _near_miss(request: dict[str, Any], body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One field changed so that the request is denied."""
    flow = body["flows"][0]
    field = rng.choice(["user", "data_category", "purpose", "at", "organisation"])
    changed = dict(request)
    if field == "user":
        changed["user"] = f"{request['user']}-x"
    elif field == "data_category":
        changed["data_category"] = rng.choice(
            [c for c in CATEGORIES if c not in _covered(flow["data_categories"])] or ["x"]
        )
    elif field == "purpose":
        changed["purpose"] = rng.choice([p for p in PURPOSES if p not in flow["purposes"]] or ["x"])
    elif field == "at":
        changed["at"] = (body["valid_until"] + timedelta(days=rng.randint(1, 30))).isoformat()
    else:
        changed["organisation"] = "ORG-NOWHERE"
    return changed

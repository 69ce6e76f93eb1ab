"""The benchmark builds its documents without parsing them (10,000 would take minutes): they
must be exactly what the schema loads, or ``make bench`` measures (or crashes on) a registry
that documents cannot make. A change of the format shows here, not in a failed benchmark."""

from __future__ import annotations

from authreg.domain.documents import canonical, parse
from bench.generate import documents


def test_the_benchmarks_documents_are_what_the_schema_loads() -> None:
    for document in documents(5):
        assert parse(canonical(document.kind, document.body), "bench").body == document.body, document.key

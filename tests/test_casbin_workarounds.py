"""What ``authreg.domain.policy_engine`` works around in pycasbin, each held by a test that fails once
upstream changes it, so a workaround is dropped when it is no longer needed and never silently
breaks. (The third, the model's matcher compiled once instead of per call, is held by
``test_decisions.py::test_the_fast_path_and_pycasbins_stock_enforce_agree_on_the_seed`` and the
property tests, which compare it with pycasbin's own ``enforce``.)"""

from __future__ import annotations

from typing import Any

import pytest
from casbin.model import FastModel, Model
from casbin.model.policy_fast import FastPolicy

from authreg.domain.policy_engine import DecisionEnforcer


def test_pycasbins_fast_model_still_drops_what_add_def_returns() -> None:
    """``FastModel.add_def`` returns None where ``Model.add_def`` returns whether it added, so
    loading a model stops after its first role definition (``g``; never ``g2``, ``g3``). When
    this fails, upstream is fixed: drop ``authreg.domain.policy_engine._FastModel``."""
    assert Model().add_def("r", "r", "sub, obj") is True
    assert FastModel([0, 1]).add_def("r", "r", "sub, obj") is None
    assert {"g", "g2", "g3"} <= set(DecisionEnforcer().model["g"])  # the workaround loads all three


def test_pycasbins_fast_policy_keeps_its_index_where_decide_reads_it() -> None:
    """``DecisionEnforcer.decide`` reads FastPolicy's sets of lines (its private index, user ->
    organisation -> lines) through ``by_pair``, which holds the very same sets, its public
    ``in_cache`` costing more than the rest of a decision. When this fails, the index moved or
    its sets are replaced: read them where they went, or through ``in_cache``."""
    policy = FastPolicy([0, 1])
    policy.append(["user", "ORG", "flow"])
    assert list(policy._cache["user"]["ORG"]) == [("user", "ORG", "flow")]
    counted = DecisionEnforcer().model["p"]["p"].policy
    for line in (["user", "ORG", "f1"], ["user", "ORG", "f2"], ["other", "ORG", "f1"]):
        counted.append(line)
    counted.remove(["user", "ORG", "f1"])
    counted.remove(["user", "ORG", "f2"])
    counted.append(["user", "ORG", "f3"])  # emptied, then used again: still the one set
    for (user, organisation), lines in counted.by_pair.items():
        assert lines is counted._cache[user][organisation]
    assert counted.by_pair["user", "ORG"] == {("user", "ORG", "f3")}


def test_pycasbins_fast_policy_still_counts_by_listing_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Model.add_policy`` asks ``len(policy)`` after every line; FastPolicy answers by listing
    every line, so loading n lines is O(n²). When the first half fails, upstream counts: drop
    ``authreg.domain.policy_engine._CountedPolicy``."""
    listed: list[int] = []
    lister = FastPolicy._FastPolicy__get_policy

    def counting(self: FastPolicy) -> Any:
        listed.append(1)
        return lister(self)

    monkeypatch.setattr(FastPolicy, "_FastPolicy__get_policy", counting)
    stock = FastPolicy([0, 1])
    stock.append(["user", "ORG", "flow"])
    assert len(stock) == 1 and listed == [1]

    listed.clear()
    ours = DecisionEnforcer()
    ours.add_policies([["u1", "ORG", "f1"], ["u2", "ORG", "f2"], ["u1", "ORG", "f3"]])
    ours.add_policies([["u1", "ORG", "f1"]])  # already there: counted once
    ours.remove_policies([["u2", "ORG", "f2"]])
    ours.remove_policy("u9", "ORG", "f9")  # not there: nothing to uncount
    policy = ours.model["p"]["p"].policy
    assert listed == []  # adding and removing never listed the lines
    assert len(policy) == 2 == len(list(lister(policy)))

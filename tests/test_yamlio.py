"""YAML for legal documents: dates stay text for the schema, codes like NO stay codes, and a
key given twice is an error."""

from __future__ import annotations

import pytest
import yaml

from authreg.domain import yaml_input


def test_dates_and_codes_stay_text_and_only_true_false_are_booleans() -> None:
    data = yaml_input.load("on: 2017-09-13\nparty: NO\nflag: yes\nreal: true\n")
    assert data == {"on": "2017-09-13", "party": "NO", "flag": "yes", "real": True}


def test_a_key_given_twice_is_an_error() -> None:
    with pytest.raises(yaml.YAMLError, match="key 'id' given twice"):
        yaml_input.load("id: a\nid: b\n")


def test_dump_prints_dates_plain_and_reads_back() -> None:
    data = {"due_on": "2017-11-30", "paragraphs": [96, 101], "ids": ["a", "b"], "nested": {"x": True}}
    text = yaml_input.dump(data)
    assert "due_on: 2017-11-30\n" in text
    assert "paragraphs: [96, 101]\n" in text
    assert "ids:\n  - a\n  - b\n" in text
    assert yaml_input.load(text) == data

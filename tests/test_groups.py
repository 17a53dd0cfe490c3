"""Groups: the data model field, derivation, the chain's group index, trainer helpers, merging logs."""

from __future__ import annotations

import json

import pytest
from shared_data import REC_LOGS

from groundscore import Chain, Sample
from groundscore.config import ChainConfig, ConfigError, load_config
from groundscore.groups import (
    assign_groups,
    derive_group,
    groups_from_consecutive,
    groups_from_ids,
    groups_from_prompts,
    members_of,
    merge_logs,
)


def box(b: tuple[int, int, int, int] | None, label: str = "dog") -> str:
    return "[]" if b is None else json.dumps([{"bbox_2d": list(b), "label": label}])


def sample(b: tuple[int, int, int, int] | None, group: str | None = "q", **kw: object) -> Sample:
    return Sample(query="dog", completion=box(b), coords="original", image_size=(200, 200), group=group, **kw)


def test_group_field_defaults_to_none_and_round_trips() -> None:
    assert Sample().group is None
    assert Sample.model_validate({"group": "g1"}).group == "g1"
    assert Sample.model_validate_json(Sample(group="g2").model_dump_json()).group == "g2"


def test_derive_groups_by_image_and_query() -> None:
    a = Sample(query="the dog", image="x.jpg")
    b = Sample(query="the dog", image="x.jpg")
    c = Sample(query="the cat", image="x.jpg")
    d = Sample(query="the dog", image=b"\x89PNG-bytes")
    e = Sample(query="the dog", image=b"\x89PNG-bytes")
    given = Sample(query="the dog", image="x.jpg", group="mine")
    keys = assign_groups([a, b, c, d, e, given], "derive")
    assert keys[0] == keys[1] != keys[2]
    assert keys[3] == keys[4] != keys[0]
    assert keys[5] == "mine"
    assert assign_groups([a, b, given], "given") == [None, None, "mine"]
    assert derive_group(a) == derive_group(b)
    with pytest.raises(ValueError, match="given"):
        assign_groups([a], "bogus")


def test_config_groups_option_is_validated() -> None:
    assert ChainConfig().groups == "given"
    assert load_config({"groups": "derive"}).groups == "derive"
    with pytest.raises(ConfigError, match="groups"):
        load_config({"groups": "sometimes"})


def test_chain_indexes_groups_once_per_batch() -> None:
    chain = Chain({"verifiers": ["schema", "agreement"]})
    batch = [sample((10, 10, 50, 50), "a"), sample((10, 10, 50, 50), "b"), sample((12, 10, 50, 50), "a"), sample(None, None)]
    contexts = chain.contexts(batch)
    assert [c.cache.get("group") for c in contexts[:3]] == ["a", "b", "a"]
    assert [m.index for m in members_of(contexts[0])] == [0, 2]
    assert members_of(contexts[3]) == [contexts[3]]
    assert contexts[3]._cache is None or "group" not in contexts[3]._cache  # ungrouped: nothing stored


def test_derive_mode_groups_a_batch_without_ids() -> None:
    chain = Chain({"verifiers": ["schema", "agreement"], "groups": "derive"})
    reports = chain.verify([sample((10, 10, 50, 50), None), sample((11, 10, 50, 50), None), sample((100, 100, 190, 190), None)])
    v = reports[0].verdict("agreement")
    assert v is not None and v.score is not None
    assert v.details["group_seen"] == 3
    assert Chain({"verifiers": ["schema", "agreement"]}).verify([sample((10, 10, 50, 50), None)] * 2)[0].verdict("agreement").score is None


def test_groups_from_trainers() -> None:
    assert groups_from_consecutive(5, 2) == ["g0", "g0", "g1", "g1", "g2"]
    with pytest.raises(ValueError):
        groups_from_consecutive(4, 0)
    assert groups_from_ids(["u1", "u1", None, 7]) == ["u1", "u1", None, "7"]
    ids = groups_from_prompts(["a", "a", "b"], ["x.jpg", "x.jpg", "x.jpg"])
    assert ids[0] == ids[1] != ids[2]
    assert groups_from_prompts(["a"], ["x.jpg"]) != groups_from_prompts(["a"], ["y.jpg"])


def test_merge_logs_matches_records_by_image_and_question(tmp_path) -> None:
    def log(name: str, records: list[dict]) -> str:
        path = tmp_path / name
        path.write_text(json.dumps({"accuracy": 0, "results": records}))
        return str(path)

    rec = lambda img, q, out: {"image": img, "question": q, "ground_truth": [0, 0, 10, 10], "model_output": out}  # noqa: E731
    a = log("a.json", [rec("1.jpg", "dog", "A1"), rec("2.jpg", "cat", "A2"), rec("1.jpg", "dog", "A3"), rec("3.jpg", "x", "A4")])
    b = log("b.json", [rec("2.jpg", "cat", "B2"), rec("1.jpg", "dog", "B1"), rec("1.jpg", "dog", "B3")])
    merged = merge_logs([a, b])
    assert [s.completion for s in merged] == ["A1", "B1", "A2", "B2", "A3", "B3"]  # 3.jpg is not in b: dropped
    assert merged[0].group == merged[1].group != merged[4].group  # the repeated question matched occurrence by occurrence
    assert {s.meta["group_size"] for s in merged} == {2}
    assert [s.meta["log"] for s in merged[:2]] == ["a.json", "b.json"]
    loose = merge_logs([a, b], require_all=False)
    assert [s.completion for s in loose][-1] == "A4" and loose[-1].meta["group_size"] == 1


@pytest.mark.skipif(not (REC_LOGS / "grpo-ckpt1000_refcoco_val.json").exists(), reason="shared REC logs not present")
def test_merge_real_logs_gives_one_member_per_model() -> None:
    paths = [REC_LOGS / f"{m}_refcocog_val.json" for m in ("grpo-ckpt1000", "instruct-baseline", "original-model")]
    merged = merge_logs(paths)
    assert len(merged) == 3 * 2000
    for k in range(0, 30, 3):
        trio = merged[k : k + 3]
        assert len({s.group for s in trio}) == 1
        assert len({s.meta["question"] for s in trio}) == 1
        assert trio[0].solution == trio[1].solution == trio[2].solution

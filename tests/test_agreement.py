"""The agreement verifier, ambiguity and abstention, and the consensus reward policy."""

from __future__ import annotations

import json

from groundscore import Chain, Sample
from groundscore.rewards import RewardConfig, Rewarder
from groundscore.rewards.consensus import consensus_policy
from groundscore.scoring.filtering import filter_reports
from groundscore.verifiers.agreement import AgreementOptions, matched_iou

A, A2, B = (10, 10, 50, 50), (11, 10, 50, 52), (120, 120, 190, 190)


def completion(*boxes: tuple[int, int, int, int], label: str = "dog") -> str:
    return json.dumps([{"bbox_2d": list(b), "label": label} for b in boxes])


def sample(text: str, group: str | None = "q", **meta: object) -> Sample:
    return Sample(query="dog", completion=text, coords="original", image_size=(200, 200), group=group, meta=dict(meta))


def chain() -> Chain:
    return Chain({"verifiers": ["schema", "agreement"]})


def agreement(report):
    return report.verdict("agreement")


def test_ungrouped_and_group_of_one_are_none_and_leave_confidence_unchanged() -> None:
    plain = Chain({"verifiers": ["schema"]}).verify([sample(completion(A), None)])[0]
    reports = chain().verify([sample(completion(A), None), sample(completion(A), "alone")])
    for r in reports:
        v = agreement(r)
        assert v.score is None and v.reason
        assert r.confidence == plain.confidence and r.decision == plain.decision
    assert agreement(reports[1]).code == "skipped.group_of_one"


FLOOR = AgreementOptions().floor


def test_support_clusters_and_consensus() -> None:
    reports = chain().verify([sample(completion(A)), sample(completion(A2)), sample(completion(A)), sample(completion(B))])
    v0, v3 = agreement(reports[0]), agreement(reports[3])
    assert v0.details["voters"] == 4 and v0.details["agreeing"] == 2
    assert abs(v0.details["support"] - 2 / 3) < 1e-3
    assert v0.details["in_consensus"] and not v3.details["in_consensus"]
    assert v3.score == FLOOR and v3.details["mean_iou"] == 0.0 and v3.code == "disagreement"
    assert v0.details["consensus"]["size"] == 3 and v0.details["consensus"]["boxes"] == [[10.0, 10.0, 50.0, 50.0]]
    assert [c["size"] for c in v0.details["clusters"]] == [3, 1]
    assert not v0.details["ambiguous"]
    assert reports[3].confidence < reports[0].confidence


def test_not_found_votes_for_absence() -> None:
    reports = chain().verify([sample("[]"), sample("[]"), sample(completion(A))])
    assert agreement(reports[0]).score == FLOOR + (1 - FLOOR) * 0.5  # one of the two others also says "not found"
    assert agreement(reports[2]).score == FLOOR  # lowered, never zeroed
    assert reports[2].confidence > 0.0
    assert agreement(reports[0]).details["consensus"]["absent"] is True


def test_failed_gate_and_malformed_members_do_not_vote() -> None:
    broken = sample('[{"bbox_2d": [50, 50, 10, nan], "label": "dog"}]')  # fails the schema gate
    reports = chain().verify([sample(completion(A)), sample(completion(B)), sample("garbage"), broken])
    v = agreement(reports[0])
    assert v.details["voters"] == 2
    assert agreement(reports[2]).score is None  # nothing to compare
    assert reports[3].failed_gates == ["schema"]


def test_all_members_malformed() -> None:
    reports = chain().verify([sample("garbage"), sample("{{{"), sample('{"bbox_2d": [1, 2')])
    for r in reports:
        v = agreement(r)
        assert v.score is None and v.reason
    rewards = [r.reward for r in Rewarder({"policy": "consensus"}, chain=chain()).score(
        [sample("garbage"), sample("{{{"), sample('{"bbox_2d": [1, 2')])]
    assert all(r is not None and r <= RewardConfig().abstain for r in rewards)  # nothing vouches: never paid as right


def test_group_split_across_batches_reports_what_it_saw() -> None:
    full = [sample(completion(b), "g", group_size=4) for b in (A, A2, A, B)]
    first, second = chain().verify(full[:2]), chain().verify(full[2:])
    v = agreement(first[0])
    assert v.details["group_seen"] == 2 and v.details["group_size"] == 4 and v.details["group_split"] is True
    assert "2 of 4" in v.reason
    assert agreement(second[1]).details["group_seen"] == 2
    lone = chain().verify([full[0]])[0]
    assert agreement(lone).score is None and "1 of the group's 4" in agreement(lone).reason
    whole = chain().verify(full)
    assert "group_split" not in agreement(whole[0]).details
    # verdicts of a batch do not depend on another group in it
    mixed = chain().verify([*full, sample(completion(B), "other"), sample(completion(B), "other")])
    assert [agreement(r).score for r in mixed[:4]] == [agreement(r).score for r in whole]


def test_multi_box_answers_match_one_to_one() -> None:
    assert matched_iou([A, B], [B, A]) == 1.0
    assert abs(matched_iou([A, B], [A]) - 0.5) < 1e-9  # a missing box costs
    assert matched_iou([A], [(float("nan"), 0, 1, 1)]) == 0.0
    reports = chain().verify([sample(completion(A, B)), sample(completion(B, A)), sample(completion(A))])
    assert agreement(reports[0]).details["agreeing"] == 2  # 1.0 with the swapped pair, 0.5 with the single box


def test_two_supported_clusters_are_ambiguous_and_the_filter_abstains() -> None:
    batch = [sample(completion(b)) for b in (A, A2, A, B, B, (121, 120, 190, 190))]
    reports = chain().verify(batch)
    v = agreement(reports[0])
    assert v.details["ambiguous"] is True and v.code == "ambiguous"
    assert len(v.details["candidates"]) == 2
    results = filter_reports(reports, batch)
    assert all(r.action == "abstain" for r in results)
    assert results[0].reason.startswith("the answers disagree: 2 well-supported candidate objects")
    clear = chain().verify([sample(completion(b)) for b in (A, A2, A, A, B)])
    assert not agreement(clear[0]).details["ambiguous"]
    assert filter_reports(clear)[0].action == "keep"


def test_consensus_reward_keeps_the_honesty_order() -> None:
    batch = [sample(completion(A)), sample(completion(A2)), sample(completion(A)), sample(completion(B)), sample("[]")]
    results = Rewarder({"policy": "consensus"}, chain=chain()).score(batch)
    agreeing, against, not_found = results[0].reward, results[3].reward, results[4].reward
    assert against < not_found < agreeing
    assert results[3].outcome == "wrong" and results[4].outcome == "abstain" and results[0].outcome == "correct"


def test_consensus_reward_pays_nobody_above_abstain_without_support() -> None:
    config = RewardConfig()
    batch = [sample(completion(b)) for b in (A, B, (60, 60, 100, 100), (150, 10, 190, 40))]
    results = Rewarder({"policy": "consensus"}, chain=chain()).score(batch)
    assert all(r.reward is not None and r.reward < config.abstain for r in results)


def test_wrong_majority_is_paid_and_the_right_minority_is_not() -> None:
    """The documented failure mode: the consensus is only as right as the majority."""
    truth = B
    batch = [sample(completion(b)) for b in (A, A2, A, truth)]
    reports = chain().verify(batch)
    config = RewardConfig()
    rewards = [consensus_policy(r, None, config).reward for r in reports]  # no labels: the majority decides
    assert rewards[3] < config.abstain < rewards[0]


def test_ground_truth_outranks_the_majority() -> None:
    """With ground truth on the samples the consensus policy pays by it: the wrong majority below abstain, the
    right minority above correct_floor, as ``grounded`` pays them."""
    truth = B
    batch = [sample(completion(b)) for b in (A, A2, A, truth)]
    reports = chain().verify(batch)
    config = RewardConfig()
    results = [consensus_policy(r, [list(truth)], config) for r in reports]
    assert [r.outcome for r in results] == ["wrong", "wrong", "wrong", "correct"]
    assert max(r.reward for r in results[:3]) < config.abstain < config.correct_floor <= results[3].reward


def test_ungrouped_consensus_falls_back_to_confidence() -> None:
    result = Rewarder({"policy": "consensus"}, chain=chain()).score([sample(completion(A), None)])[0]
    assert result.policy == "confidence" and result.reward is not None


def test_agreement_is_in_the_default_chain() -> None:
    assert "agreement" in Chain().names


def test_copies_are_one_distinct_answer() -> None:
    reports = chain().verify([sample(completion(A)), sample(completion(A)), sample(completion(A)), sample(completion(A2)),
                              sample(completion(B))])
    details = agreement(reports[0]).details
    assert details["consensus"]["size"] == 4 and details["consensus"]["distinct"] == 2
    assert details["distinct_voters"] == 3 and details["consensus"]["distinct_share"] == round(2 / 3, 4)
    reworded = chain().verify([sample(f"<think>take {k}</think><answer>{completion(A)}</answer>") for k in range(3)])
    assert agreement(reworded[0]).details["consensus"]["distinct"] == 1  # the same box under other words: one vote


def test_copies_are_votes_alike_exact_or_a_few_pixels_apart() -> None:
    """One rule for copies: the members of a group are independent samples, so an exact copy and a copy a few
    pixels apart are the same vote (else jittering coordinates would buy votes that exact copies do not get)."""
    config = RewardConfig()
    rewarder = Rewarder({"policy": "consensus"}, chain=chain())
    copied = rewarder.score([sample(completion(A)) for _ in range(6)])
    jittered = rewarder.score([sample(completion((A[0] + k, A[1], A[2] + k, A[3]))) for k in range(6)])
    assert all(r.reward is not None and r.reward > config.correct_floor for r in copied + jittered)
    # the same votes: the consensus holds every member either way (the pay then follows each box's IoU with it)
    assert [r.details["consensus_share"] for r in copied] == [r.details["consensus_share"] for r in jittered] == [1.0] * 6
    assert all(r.outcome == "correct" for r in copied + jittered)
    outvoted = rewarder.score([sample(completion(A)) for _ in range(5)] + [sample(completion(B)), sample(completion(B))])
    assert all(r.reward > config.abstain for r in outvoted[:5]) and all(r.reward < config.abstain for r in outvoted[5:])
    varied = rewarder.score([sample(completion(b)) for b in (A, A2, (10, 11, 50, 50), B)])
    assert varied[0].reward > config.correct_floor  # distinct answers that agree make a consensus too


def test_not_found_consensus_pays_exactly_abstain() -> None:
    config = RewardConfig()
    batch = [sample(f"<think>I search the image ({k}) and see no dog.</think><answer>[]</answer>") for k in range(4)]
    results = Rewarder({"policy": "consensus"}, chain=chain()).score([*batch, sample(completion(A))])
    assert all(r.reward == config.abstain and r.outcome == "abstain" for r in results[:4])
    assert results[4].reward < config.abstain  # a box against a "not found" consensus


def test_consensus_applies_the_guards_to_a_real_consensus() -> None:
    config = RewardConfig()
    whole = [sample(completion((0, k, 200 - k, 200))) for k in range(1, 5)]  # distinct boxes over the whole image
    results = Rewarder({"policy": "consensus"}, chain=chain()).score(whole)
    assert all(r.reward == config.wrong and r.details.get("hack") == "hack.coverage" for r in results)
    relaxed = Rewarder({"policy": "consensus", "options": {"max_coverage": 1.0}}, chain=chain()).score(whole)
    assert all(r.reward > config.abstain for r in relaxed)


LOOKALIKE_DOG = "d\u043eg"  # a Cyrillic o


def test_members_the_guards_reject_do_not_vote_or_move_their_neighbours() -> None:
    """An answer the reward's guards reject (many boxes, one object boxed twice, an obfuscated label, a
    thinking that says the target is absent) weighs nothing: the others' scores are what they are without it."""
    full = Chain({"verifiers": ["schema", "label_match", "consistency", "agreement"]})
    honest = [sample(f"<think>The dog is on the left.</think><answer>{completion(b)}</answer>") for b in (A, B, A)]
    rejected = [
        sample(f"<think>The dog is on the left.</think><answer>{completion(*[(10 + k, 10, 60 + k, 60) for k in range(120)])}</answer>"),
        sample(f"<think>The dog is on the left.</think><answer>{completion(B, B)}</answer>"),
        sample(f"<think>The dog is on the left.</think><answer>{completion(B, label=LOOKALIKE_DOG)}</answer>"),
        sample(f"<think>I cannot find the dog anywhere.</think><answer>{completion(B)}</answer>"),
    ]
    alone = full.verify(honest)
    together = full.verify(honest + rejected)
    for k in range(len(honest)):
        assert agreement(together[k]).score == agreement(alone[k]).score
        assert agreement(together[k]).details["voters"] == len(honest)
    too_many = agreement(together[len(honest)])
    assert too_many.score is None and "too many" in too_many.reason  # not even compared: its cost is bounded
    for report in together[len(honest) + 1:]:
        v = agreement(report)
        assert v.details.get("voting") is False and v.details.get("not_voting"), v.details


# -- ambiguity in groups of 8 (a GRPO group) ------------------------------------------------------
MAN_L, MAN_R = (214, 89, 503, 467), (530, 91, 640, 420)  # two people of a real RefCOCO image (refcoco:28)
ASK = "<think>Two people could be meant.</think><answer>Do you mean the kid on the left or the one on the right?</answer>"
NOT_FOUND = "<think>I cannot find it.</think><answer>[]</answer>"
REJECTED = completion((214, 89, 503, 467), (215, 90, 503, 468))  # one object boxed twice: the guards reject it


def jittered(b: tuple[int, int, int, int], k: int) -> tuple[int, int, int, int]:
    return (b[0] + k, b[1] - k, b[2] + 2 * k, b[3] - k)


def verdict_of(texts: list[str]):
    reports = chain().verify([Sample(query="kid", completion=t, coords="original", image_size=(640, 480), group="g8",
                                     meta={"group_size": len(texts)}) for t in texts])
    for r in reports:
        v = agreement(r)
        if v is not None and "ambiguous" in v.details:
            return v
    raise AssertionError("no member carries the group's verdict")


def test_a_group_of_8_split_between_two_objects_is_ambiguous() -> None:
    texts = [completion(jittered(MAN_L, k)) for k in range(4)] + [completion(jittered(MAN_R, k)) for k in range(3)]
    texts.append(completion((20, 300, 90, 400)))  # one stray answer
    v = verdict_of(texts)
    assert v.details["ambiguous"] is True and len(v.details["candidates"]) == 2
    two_each = [completion(MAN_L), completion(jittered(MAN_L, 1)), completion(MAN_R), completion(jittered(MAN_R, 2)),
                completion((20, 300, 90, 400)), completion((300, 10, 350, 60)), NOT_FOUND, ASK]
    assert verdict_of(two_each).details["ambiguous"] is True  # 2 and 2 of 8: each a quarter of the group


def test_one_cluster_with_scattered_misses_or_a_few_confused_answers_is_not_ambiguous() -> None:
    scattered = [completion(jittered(MAN_L, k)) for k in range(5)]
    scattered += [completion(b) for b in ((20, 300, 90, 400), (300, 10, 350, 60), MAN_R)]
    assert verdict_of(scattered).details["ambiguous"] is False
    confused = [completion(jittered(MAN_L, k)) for k in range(6)] + [completion(MAN_R), completion(jittered(MAN_R, 1))]
    v = verdict_of(confused)  # 6 and 2: one object, two answers on a distractor (the REC logs' usual confusion)
    assert v.details["ambiguous"] is False and [c["size"] for c in v.details["clusters"]] == [6, 2]
    loose = AgreementOptions(ambiguity_balance=0.0)
    texts = [Sample(query="kid", completion=t, coords="original", image_size=(640, 480), group="g8") for t in confused]
    reports = Chain({"verifiers": ["schema", "agreement"], "options": {"agreement": loose.model_dump()}}).verify(texts)
    assert agreement(reports[0]).details["ambiguous"] is True  # the balance is what keeps it out


def test_asking_abstaining_or_rejected_answers_never_make_a_group_ambiguous() -> None:
    """Replacing members by answers that do not vote for a box can only keep a group unambiguous."""
    import itertools

    base = [completion(jittered(MAN_L, k)) for k in range(3)] + [completion(MAN_R)]
    base += [completion(b) for b in ((20, 300, 90, 400), (300, 10, 350, 60), (400, 300, 470, 380), (0, 0, 60, 60))]
    assert verdict_of(base).details["ambiguous"] is False
    fillers = (ASK, NOT_FOUND, REJECTED, "garbage")
    for n in (1, 2, 3, 4):
        for k, where in enumerate(itertools.combinations(range(8), n)):
            texts = [fillers[(k + j) % len(fillers)] if j in where else t for j, t in enumerate(base)]
            assert verdict_of(texts).details["ambiguous"] is False, texts
    # two pairs in a group of 16 whose other members all ask (or say "not found"): a pair is not a quarter of it
    pairs = [completion(MAN_L), completion(jittered(MAN_L, 1)), completion(MAN_R), completion(jittered(MAN_R, 1))]
    for filler in (ASK, NOT_FOUND, REJECTED):
        assert verdict_of(pairs + [filler] * 12).details["ambiguous"] is False
    assert verdict_of(pairs + [ASK] * 4).details["ambiguous"] is True  # with 8 members, each pair is a quarter


def test_the_consensus_policys_own_guard_options_decide_who_votes() -> None:
    """A member that only the policy's custom guards reject (here a sliver under a custom ``min_side``) carries no
    weight: the others' agreement and rewards are what they are without it, and it is told why it did not vote."""
    config = RewardConfig()
    sliver = (120, 120, 135, 190)  # 15 px wide: a box under the default min_side (1%), a sliver under 10%
    honest = [sample(completion(A)), sample(completion(A2))]
    slivers = [sample(completion((sliver[0] + k, 120, sliver[2] + k, 190))) for k in range(3)]
    strict = {"policy": "consensus", "options": {"min_side": 0.1}}

    default = Rewarder({"policy": "consensus"}, chain=chain()).score(honest + slivers)
    assert [r.details["voters"] for r in default] == [5] * 5  # the slivers vote and make the consensus
    assert all(r.reward < config.abstain for r in default[:2])

    custom = Rewarder(strict, chain=chain())
    together = custom.score(honest + slivers)
    alone = Rewarder(strict, chain=chain()).score(honest)
    for k in range(len(honest)):
        assert together[k].details["voters"] == 2 and together[k].details["consensus_share"] == 1.0
        assert together[k].reward == alone[k].reward > config.abstain
    for r in together[len(honest):]:
        assert r.reward == config.wrong and r.details.get("hack") == "hack.degenerate"
    reports = custom.chain.verify(honest + slivers)
    for report in reports[len(honest):]:
        v = agreement(report)
        assert v.details.get("voting") is False and "hack.degenerate" in str(v.details.get("not_voting")), v.details
    for report in reports[:len(honest)]:
        assert agreement(report).score == agreement(Rewarder(strict, chain=chain()).chain.verify(honest)[0]).score

"""Tables, plots and the docs blocks of the GRPO simulation (``benchmarks/grpo_sim.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "what-optimising-does.md"
IMAGES = ROOT / "docs" / "images"
MARKERS = {False: ("<!-- grpo-sim:start -->", "<!-- grpo-sim:end -->"),
           True: ("<!-- grpo-sim-heldout:start -->", "<!-- grpo-sim-heldout:end -->")}
VARIANT_NAMES = {"real": "real pools", "no_correct": "pools with no correct answer", "jittered": "real pools, copies jittered"}


def table(result: dict[str, Any]) -> str:
    """One row per run and pool variant: mass start -> end of each category, exploit rise, recovery of the GT gain."""
    from grpo_sim import recovery

    summaries = result["summaries"]
    rec = {v: recovery(summaries, v) for v in VARIANT_NAMES}
    lines = ["| reward | pools | correct | wrong | abstain | exploits | exploit rise | questions held | share of GT gain | worst family (rise) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in summaries:
        def arrow(c: str, s: dict[str, Any] = s) -> str:
            return f"{s['start'].get(c, 0):.2f} → {s['end'].get(c, 0):.2f}"

        share = rec.get(s["variant"], {}).get(s["run"])
        share_txt = "—" if share is None or s["variant"] == "no_correct" else f"{share:.0%}"
        worst = s.get("worst_family")
        worst_txt = f"{worst.removeprefix('exploit:')} ({s['family_rise'][worst]:+.3f})" if worst else "—"
        lines.append(f"| {s['run']} | {s['variant']} | {arrow('correct')} | {arrow('wrong')} | {arrow('abstain')} | "
                     f"{s['exploit_start']:.3f} → {s['exploit_end']:.3f} | {s['exploit_rise']:+.3f} | "
                     f"{s['questions_exploit_held']:.0%} | {share_txt} | {worst_txt} |")
    return "\n".join(lines)


def plot(result: dict[str, Any], heldout: bool = False) -> list[Path]:
    """One PNG per pool variant: a panel per run, the mean mass of correct, wrong, abstain and exploits per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    IMAGES.mkdir(parents=True, exist_ok=True)
    variants = sorted({s["variant"] for s in result["summaries"]}, key=list(VARIANT_NAMES).index)
    runs = list(dict.fromkeys(s["run"] for s in result["summaries"]))
    for variant in variants:
        cols = 4
        rows = (len(runs) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows), sharex=True, sharey=True, squeeze=False)
        for ax, run in zip(axes.flat, runs, strict=False):
            curve = result["curves"].get(f"{run}|{variant}")
            if curve is None:
                ax.set_visible(False)
                continue
            cats, mean = curve["categories"], curve["mean"]
            steps = range(len(mean))
            for cat, colour in (("correct", "tab:green"), ("wrong", "tab:red"), ("abstain", "tab:blue")):
                if cat in cats:
                    k = cats.index(cat)
                    ax.plot(steps, [m[k] for m in mean], color=colour, label=cat)
            exp = [k for k, c in enumerate(cats) if c.startswith("exploit:")]
            ax.plot(steps, [sum(m[k] for k in exp) for m in mean], color="black", linestyle="--", label="exploits")
            for k, c in enumerate(cats):
                if c not in ("correct", "wrong", "abstain") and not c.startswith("exploit:"):
                    ax.plot(steps, [m[k] for m in mean], linestyle=":", label=c)
            ax.set_title(run, fontsize=9)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(runs):]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=7, loc="upper left")
        fig.suptitle(f"{'held-out simulation, ' if heldout else ''}{VARIANT_NAMES[variant]}: mean mass per step", fontsize=10)
        fig.tight_layout()
        path = IMAGES / f"grpo_sim{'_heldout' if heldout else ''}_{variant}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written


def probe_table(result: dict[str, Any]) -> str:
    """What each reward pays the two sides of fixed groups (the minority probe)."""
    from grpo_probes import PROBES

    lines = ["| reward | group | minority: reward (advantage) | majority: reward (advantage) | questions |", "|---|---|---:|---:|---:|"]
    for run, probes in result.get("probes", {}).items():
        for name, sides in PROBES.items():
            got = probes.get(name)
            if not got:
                continue
            (a, _), (b, _) = sides
            minority, majority = (a, b) if sides[0][1] < sides[1][1] else (b, a)
            lines.append(f"| {run} | {name} | {got[f'{minority} reward']:.2f} ({got[f'{minority} advantage']:+.2f}) | "
                         f"{got[f'{majority} reward']:.2f} ({got[f'{majority} advantage']:+.2f}) | {got['groups']} |")
    return "\n".join(lines)


def body(result: dict[str, Any], heldout: bool) -> str:
    from grpo_sim import acceptance

    st = result["settings"]
    lines = [f"Settings: {st['questions']} questions (seed {st['seed']}), {st['steps']} steps, groups of {st['group']}, "
             f"learning rate {st['lr']}" + (f", shared style logits (lr {st['shared_lr']})" if st.get("shared_lr") else "")
             + f"; {'held-out exploits' if st['heldout'] else 'catalogue exploits'}, {st['exploits_per_family']} per family "
             f"per question; {result['elapsed_s']} s in all. Baseline, a plain majority vote: the real answer with the most "
             f"agreeing initial mass (IoU >= 0.5, no verifier) is correct on {result.get('plurality_ceiling', float('nan')):.2f} "
             "of the real pools.", "", table(result), "",
             "What each reward pays the minority of a fixed group (mean reward, and mean GRPO advantage, over the questions):",
             "", probe_table(result), "", "Targets:", ""]
    lines += [f"- {line}" for line in acceptance(result["summaries"])]
    lines += ["", "Reward calls (completions sent to the `Rewarder`, after the cache) and their time:", "",
              "| reward | completions scored | seconds |", "|---|---:|---:|"]
    lines += [f"| {k} | {v['reward_calls']} | {v['reward_seconds']} |" for k, v in result["timing"].items()]
    if result.get("cache_checks"):
        lines += ["", "Cache check (cached entries rescored fresh, in another group for per-completion rewards): "
                  + "; ".join(f"{k}: {b} of {n} differ" for k, (n, b) in result["cache_checks"].items())]
    return "\n".join(lines)


def report(result: dict[str, Any], write_docs: bool = False, heldout: bool = False) -> str:
    """The text printed by the benchmark; with ``write_docs`` the plots and the page's block too."""
    text = body(result, heldout)
    if write_docs:
        plot(result, heldout)
        start, end = MARKERS[heldout]
        doc = DOC.read_text(encoding="utf-8")
        a, b = doc.index(start) + len(start), doc.index(end)
        DOC.write_text(doc[:a] + "\n" + text + "\n" + doc[b:], encoding="utf-8")
    return text


CLARIFY_MARKERS = ("<!-- grpo-clarify:start -->", "<!-- grpo-clarify:end -->")


def clarify_report(result: dict[str, Any], write_docs: bool = False) -> str:
    """The clarification pools' table and targets (``benchmarks/grpo_clarify.py``); with ``write_docs`` the page's block too."""
    from grpo_clarify import acceptance

    st = result["settings"]
    lines = [f"Settings: {result['questions']} questions (seed {st['seed']}) whose image holds another object's expression, "
             f"{st['steps']} steps, groups of {st['group']}, learning rate {st['lr']}; {result['elapsed_s']} s in all.", "",
             "| reward | pools | clarify | correct | abstain | exploits | clarify paid | correct paid | groups called ambiguous |",
             "|---|---|---|---|---|---|---:|---:|---|"]
    for s in result["summaries"]:
        def arrow(c: str, s: dict[str, Any] = s) -> str:
            return f"{s['start'].get(c, 0.0):.3f} → {s['end'].get(c, 0.0):.3f}"

        paid = s.get("paid", {})
        split = s.get("ambiguous_groups")
        split_txt = f"{split['first']:.0%} → {split['last']:.0%}" if split else "— (ground truth decides)"
        lines.append(f"| {s['run']} | {s['variant']} | {arrow('clarify')} | {arrow('correct')} | {arrow('abstain')} | "
                     f"{s['exploit_start']:.3f} → {s['exploit_end']:.3f} | {paid.get('clarify', float('nan')):.2f} | "
                     f"{paid.get('correct', float('nan')):.2f} | {split_txt} |")
    lines += ["", "Targets:", ""] + [f"- {line}" for line in acceptance(result["summaries"])]
    text = "\n".join(lines)
    if write_docs:
        doc = DOC.read_text(encoding="utf-8")
        start, end = CLARIFY_MARKERS
        a, b = doc.index(start) + len(start), doc.index(end)
        DOC.write_text(doc[:a] + "\n" + text + "\n" + doc[b:], encoding="utf-8")
    return text

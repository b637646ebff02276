# The PNG chart of a benchmark run: grouped bars (one group per model and workload, one bar per system) for
# prompt tok/s, generation tok/s and TTFT, with min–max whiskers; and aggregate tok/s against concurrent clients.
#   python3 chart.py RESULTS_JSON OUT_PNG      (matplotlib from .deps/plot-*, installed by setup.sh --oracle)
import json, math, sys
import matplotlib

matplotlib.use("Agg")  # no display: render straight to a file
import matplotlib.pyplot as plt
import matplotlib.ticker

results = json.load(open(sys.argv[1]))
labels = results.get("systemLabels", {})
single, conc = results["single"], results["concurrency"]
systems = list(dict.fromkeys(r["system"] for r in single))
groups = list(dict.fromkeys((r["model"], r["workload"]) for r in single))
colors = dict(zip(["ollmlx-engine", "ollmlx-engine-gguf", "ollmlx-http", "mlx-lm", "llama.cpp", "mlx_lm.server"],
                  ["#1f77b4", "#6baed6", "#08306b", "#ff7f0e", "#2ca02c", "#d62728"]))


def ok(x):
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def bars(ax, metric, title, ylabel):
    width = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        xs, ys, lo, hi = [], [], [], []
        for g, (model, workload) in enumerate(groups):
            row = next((r for r in single if r["system"] == system and r["model"] == model and r["workload"] == workload), None)
            s = row and row[metric]
            if not s or not ok(s["median"]):
                continue
            xs.append(g + (i - (len(systems) - 1) / 2) * width)
            ys.append(s["median"])
            lo.append(s["median"] - s["min"] if ok(s["min"]) else 0)
            hi.append(s["max"] - s["median"] if ok(s["max"]) else 0)
        if xs:
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=labels.get(system, system), color=colors.get(system))
            for x, y, top in zip(xs, ys, hi):
                ax.annotate(f"{y:.0f}" if y >= 10 else f"{y:.1f}", (x, y + top), ha="center", va="bottom", fontsize=7,
                            rotation=90, xytext=(0, 3), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{m}\n{w}" for m, w in groups], fontsize=9)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")  # peers differ by orders of magnitude on a CPU
    lo_, hi_ = ax.get_ylim()
    ax.set_ylim(lo_, hi_ * 3)  # room for the value labels above the tallest whisker
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(axis="y", which="both", alpha=0.3)


panels = 4 if conc else 3
fig, axes = plt.subplots(panels, 1, figsize=(max(9, 2.6 * len(groups) + 4), 4.2 * panels))
bars(axes[0], "promptTps", "Prompt processing (higher is better)", "tokens/s (log)")
bars(axes[1], "genTps", "Generation (higher is better)", "tokens/s (log)")
bars(axes[2], "ttftMs", "Time to first token (lower is better)", "ms (log)")
if conc:
    ax = axes[3]
    for (system, model) in dict.fromkeys((r["system"], r["model"]) for r in conc):
        pts = [(r["clients"], r["aggregateGenTps"]) for r in conc if r["system"] == system and r["model"] == model and ok(r["aggregateGenTps"])]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=f"{labels.get(system, system)} ({model})", color=colors.get(system))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({r["clients"] for r in conc}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_title("Concurrent clients: aggregate generation (higher is better)")
    ax.set_xlabel("simultaneous clients")
    ax.set_ylabel("tokens/s")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.suptitle(f"ollmlx vs peers: {results['date']}, {results['device']} ({results['machine']})", fontsize=11, y=0.995)
handles, names = axes[0].get_legend_handles_labels()
fig.legend(handles, names, loc="upper center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, 0.975))
fig.tight_layout(rect=(0, 0, 1, 0.94))
fig.savefig(sys.argv[2], dpi=110)

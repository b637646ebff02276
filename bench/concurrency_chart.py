# The chart of bench/concurrency.ts: aggregate generated tok/s against concurrent clients, one line per server.
#   python3 concurrency_chart.py RESULTS_JSON OUT_PNG      (matplotlib from .deps/plot-*, installed by setup.sh --oracle)
import json, statistics, sys
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

results = json.load(open(sys.argv[1]))
rows = results["rows"]
fig, ax = plt.subplots(figsize=(6, 4))
for system in dict.fromkeys(r["system"] for r in rows):
    levels = sorted({r["clients"] for r in rows if r["system"] == system})
    tps = [statistics.median(r["aggregateTps"] for r in rows if r["system"] == system and r["clients"] == c) for c in levels]
    ax.plot(levels, tps, marker="o", label=system)
ax.set_xlabel("concurrent clients")
ax.set_ylabel("aggregate generated tok/s")
ax.set_title(f"Continuous batching, {results['model']}, {results['gen']} tokens a client")
ax.set_xticks(sorted({r["clients"] for r in rows}))
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)

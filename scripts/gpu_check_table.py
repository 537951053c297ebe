#!/usr/bin/env python
"""The end of ``scripts/gpu_check.sh``: checks that the 1-worker and N-worker results files hold bit-equal
scores, prints the per-proxy seconds, and writes ``<out>/gpu_check.md`` (one Markdown table for the README).
Exit status 1 when the scores differ. Usage: ``python scripts/gpu_check_table.py OUT_DIR WORKERS``."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from zcbench.store import iter_runs


def scores(path: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """{run path: {arch: (score as hex, error)}}: what must be bit-equal between the two runs."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for attrs, cols in iter_runs(path):
        key = f"{attrs['proxy']}:{attrs.get('options', '')}"
        out[key] = {a: (float(s).hex(), str(e)) for a, s, e in zip(cols["arch"], cols["score"], cols["error"])}
    return out


def differences(a: dict, b: dict) -> list[str]:
    diffs = [f"run {k} only in one file" for k in sorted(set(a) ^ set(b))]
    for k in sorted(set(a) & set(b)):
        for arch in sorted(set(a[k]) | set(b[k])):
            if a[k].get(arch) != b[k].get(arch):
                diffs.append(f"{k} {arch}: {a[k].get(arch)} vs {b[k].get(arch)}")
    return diffs


def proxy_seconds(path: Path) -> dict[str, float]:
    """Mean seconds per architecture of each proxy (as the run recorded them), slowest first."""
    out = {}
    for attrs, cols in iter_runs(path):
        secs = [float(s) for s in cols["seconds"] if not math.isnan(float(s))]
        out[attrs["proxy"]] = sum(secs) / max(1, len(secs))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of a text table as zcbench prints them (a caption, a header, a rule of dashes, rows; a
    verdict line after them reads as one more row)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    rule = next((i for i, ln in enumerate(lines) if set(ln.replace(" ", "")) == {"-"}), None)
    if rule is None or rule == 0:
        return []
    header = [h.strip() for h in lines[rule - 1].split("  ") if h.strip()]
    return [dict(zip(header, ln.split())) for ln in lines[rule + 1 :]]


def bench_total(text: str) -> str:
    """The ALL row of ``zcbench bench``, as 'column value' pairs (whatever columns bench prints)."""
    for row in table_rows(text):
        if row.get("proxy") == "ALL":
            return ", ".join(f"{k} {v}" for k, v in row.items() if k != "proxy")
    return "(no ALL row)"


def main() -> int:
    out, workers = Path(sys.argv[1]), sys.argv[2]
    w1, wn = scores(out / "w1.h5"), scores(out / "wN.h5")
    diffs = differences(w1, wn)
    n_archs = len(next(iter(w1.values()), {}))
    n_failed = sum(1 for run in w1.values() for _, err in run.values() if err)
    secs = proxy_seconds(out / "w1.h5")
    print("per-proxy seconds per architecture (1 worker): " + ", ".join(f"{p} {s:.3f}" for p, s in secs.items()))
    t1 = float((out / "w1.seconds").read_text())
    tn = float((out / "wN.seconds").read_text())
    engine = table_rows((out / "bench-engine.txt").read_text())
    eng = "; ".join(
        f"{r.get('workers')} workers: {r.get('arch/s')} arch/s"
        + (f", peak {r['peak MiB/worker']} MiB/worker" if "peak MiB/worker" in r else "")
        for r in engine
    )
    same = "yes" if not diffs else f"NO: {len(diffs)} differences (first: {diffs[0]})"
    rows = [
        ("machine", (out / "environment.txt").read_text().strip()),
        (f"`score` {n_archs} NB201 archs, 1 worker", f"{t1:.1f} s end to end ({n_archs / t1:.2f} arch/s)"),
        (f"`score` the same, {workers} workers", f"{tn:.1f} s end to end ({n_archs / tn:.2f} arch/s)"),
        (f"scores with 1 and {workers} workers bit-equal", f"{same} ({len(w1)} runs, {n_failed} failed rows)"),
        ("proxy seconds per arch (1 worker)", ", ".join(f"{p} {s:.3f}" for p, s in secs.items())),
        ("`bench-engine`", eng or "(no rows)"),
        ("`bench`, all proxies per arch", bench_total((out / "bench.txt").read_text()) + " (bench.txt: per proxy)"),
    ]
    table = "| check | result |\n|---|---|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)
    (out / "gpu_check.md").write_text(table)
    print(table, end="")
    if diffs:
        print(f"gpu_check: scores differ between 1 and {workers} workers:", *diffs[:10], sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

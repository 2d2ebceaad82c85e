#!/usr/bin/env python3
"""Turns JMH JSON results (-rf json) of BroadcastBenchmark / ThrottleBenchmark into the Markdown
tables of benchmarks/README.md.

    python3 benchmarks/src/scripts/summarize.py benchmarks/results/broadcast-jdk17.json ...

Wall time is JMH's score (mean, +- the 99.9% confidence half-width JMH prints). "CPU" is perf's
task-clock per operation (-prof perfnorm:events=task-clock): CPU time of the whole benchmark JVM
(all threads, GC included) divided by the operations, which a descheduled thread does not inflate.
"""
import json
import sys


def fmt(x):
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def metric(b, name):
    m = b["secondaryMetrics"].get(name)
    return (m["score"], m.get("scoreError")) if m else (None, None)


def cpu_ns(b):
    v, _ = metric(b, "task-clock")  # milliseconds per operation
    return None if v is None else v * 1e6


def broadcast(results):
    rows = {}
    for b in results:
        p = b["params"]
        rows[(p["impl"], int(p["subscribers"]))] = b
    order = ["hub", "hubInlineDrain", "naive", "naiveShared"]
    impls = [i for i in order if any(k[0] == i for k in rows)]
    impls += sorted({k[0] for k in rows} - set(order))
    counts = sorted({k[1] for k in rows})
    print("| impl | subscribers | ns/publish (wall) | ns/delivery (wall) | CPU ns/publish | CPU ns/delivery | B/publish (gc.alloc.rate.norm) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for i in impls:
        for n in counts:
            b = rows.get((i, n))
            if not b:
                continue
            pm = b["primaryMetric"]
            alloc, alloc_err = metric(b, "gc.alloc.rate.norm")
            c = cpu_ns(b)
            print(
                f"| {i} | {n:,} | {fmt(pm['score'])} ± {fmt(pm['scoreError'])} | {fmt(pm['score'] / n)} "
                f"| {fmt(c)} | {fmt(c / n if c else None)} | {fmt(alloc)} ± {fmt(alloc_err)} |"
            )
    print()
    print("| subscribers | naive / hub (wall) | naive / hub (CPU) | naiveShared / hub (wall) | naiveShared / hub (CPU) |")
    print("|---:|---:|---:|---:|---:|")
    for n in counts:
        h = rows.get(("hub", n))
        if not h:
            continue
        cells = []
        for other in ("naive", "naiveShared"):
            o = rows.get((other, n))
            if not o:
                cells += ["n/a", "n/a"]
                continue
            cells.append(f"{o['primaryMetric']['score'] / h['primaryMetric']['score']:.1f}x")
            ch, co = cpu_ns(h), cpu_ns(o)
            cells.append(f"{co / ch:.1f}x" if ch and co else "n/a")
        print(f"| {n:,} | " + " | ".join(cells) + " |")
    print()


def throttle(results):
    print("| throttle | data | threads | ns/publish per thread (wall) | CPU ns/publish | B/publish |")
    print("|---|---|---:|---:|---:|---:|")
    for b in results:
        p = b["params"]
        pm = b["primaryMetric"]
        alloc, alloc_err = metric(b, "gc.alloc.rate.norm")
        print(
            f"| {p['throttle']} | {p['data']} | {b['threads']} | {fmt(pm['score'])} ± {fmt(pm['scoreError'])} "
            f"| {fmt(cpu_ns(b))} | {fmt(alloc)} ± {fmt(alloc_err)} |"
        )
    print()


for path in sys.argv[1:]:
    with open(path) as f:
        results = json.load(f)
    if not results:
        continue
    first = results[0]
    print(f"<!-- {path}: {first['jvm']} {first['vmVersion']}, forks {first['forks']}, "
          f"warmup {first['warmupIterations']} x {first['warmupTime']}, "
          f"measurement {first['measurementIterations']} x {first['measurementTime']} -->")
    print()
    if "BroadcastBenchmark" in first["benchmark"]:
        broadcast(results)
    else:
        throttle(results)

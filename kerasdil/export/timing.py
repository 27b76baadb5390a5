"""Latency and throughput: median of repeated timings after warm-up."""

import statistics
import time


def median_seconds(fn, *, repeats=30, warmup=3, max_seconds=3.0):
    """Median wall time of ``fn()`` over up to ``repeats`` calls after ``warmup`` calls.

    Stops early once ``max_seconds`` have been spent (keeping at least 3 timings),
    so a slow runtime does not stall a report.

    Returns:
        ``(median seconds, number of timed calls)``.
    """
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max(repeats, 1):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 3 and time.perf_counter() - start > max_seconds:
            break
    return statistics.median(times), len(times)


def measure(batch_fn, x1, xb, *, repeats=30, warmup=3, max_seconds=3.0):
    """Batch-1 latency and larger-batch throughput of one runtime.

    Args:
        batch_fn: ``batch_fn(x) -> (callable running x once, note or None)``.
        x1: one input, shape ``(1, ...)``.
        xb: a larger batch.

    Returns:
        dict: ``batch1_ms`` (median), ``batch`` (size of ``xb``), ``batch_ms``
        (median), ``throughput_ips`` (images per second at that batch),
        ``repeats`` and ``note``.
    """
    fn1, note1 = batch_fn(x1)
    latency, n1 = median_seconds(fn1, repeats=repeats, warmup=warmup, max_seconds=max_seconds)
    fnb, noteb = batch_fn(xb)
    batch_time, nb = median_seconds(fnb, repeats=max(3, repeats // 3), warmup=min(warmup, 2), max_seconds=max_seconds)
    return {
        "batch1_ms": latency * 1e3,
        "batch": int(len(xb)),
        "batch_ms": batch_time * 1e3,
        "throughput_ips": len(xb) / batch_time,
        "repeats": [n1, nb],
        "note": "; ".join(n for n in (note1, noteb) if n) or None,
    }


def round_robin_latency(paths, image, *, threads=1, rounds=5, calls=50):
    """Best-of-``rounds`` median batch-1 latency (ms) of each .tflite file, timed in turn.

    Each round times every file once (the median of ``calls`` invocations on
    ``image``), so load on a shared machine hits every file alike; the best round
    counts. The files run in the LiteRT interpreter with ``threads`` threads.

    Args:
        paths: ``{name: .tflite path}`` (static batch 1).
        image: one input, without the batch axis.

    Returns:
        ``{name: milliseconds}`` (rounded to the microsecond).
    """
    from kerasdil.export.tflite import LiteRTRunner

    runners = {name: LiteRTRunner(path, num_threads=threads) for name, path in paths.items()}
    fns = {name: runner.batch_fn(image[None])[0] for name, runner in runners.items()}
    best = {name: float("inf") for name in paths}
    for _ in range(rounds):
        for name, fn in fns.items():
            seconds, _ = median_seconds(fn, repeats=calls, warmup=3, max_seconds=10.0)
            best[name] = min(best[name], 1000 * seconds)
    return {name: round(ms, 3) for name, ms in best.items()}

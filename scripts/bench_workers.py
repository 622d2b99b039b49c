"""1 vs 2 workers on the local Spark standalone cluster (issue 9, docs/scaling.md): the same cross-match
job on the same data, the same output (pair count and the identical pair set), the times.

Steps: reuse (or generate) ``bench/o<N>_r<R>_s<seed>/`` (``bench_crossmatch.ensure_data``); set the
cluster to 1 worker with ``radiostars stack workers 1`` and run ``run_crossmatch`` against
spark://SPARK_MASTER_HOST:SPARK_MASTER_PORT (run id ``workers1``); ``radiostars stack workers 2``
and run again (``workers2``); optionally (``--with-local``) the same job on ``local[2]`` (``local2``);
then put the cluster back to the worker count it had. Each run is its own child process
(``bench_crossmatch``'s radiostars child with another master / run id, the parameters of ``make bench``,
Gaia only). Recorded per run: wall, Spark session start, the scan+explode and match stages
(``bench_scale.pipeline_stages``: task time, optical rows per core-second), shuffle, partition sizes,
peak RSS of the driver's process tree and of the executors (the workers' process trees minus their
idle RSS). The pair sets are read back from the lake and compared; the outputs are removed afterwards
(``--keep-outputs`` keeps them).

Each local worker offers SPARK_WORKER_CORES (1 in .env) cores and SPARK_WORKER_MEMORY: 1 worker = 1
executor core, 2 workers = 2 executor cores, on a 2-core machine that also runs the driver and the
services.

Usage: .venv/bin/python scripts/bench_workers.py [--optical-rows 1e6] [--radio-rows 1e5] [--with-local]
Results: .local/bench/workers-<date>.json and the measured block of docs/scaling.md.

Stopping it (Ctrl-C, SIGTERM, SIGHUP) stops the run's child and its Spark driver JVM too and still puts
the cluster back to its worker count; the child also dies if this process is killed outright (SIGKILL).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_crossmatch as bx  # noqa: E402
import bench_scale as bs  # noqa: E402

DOC = ROOT / "docs" / "scaling.md"
BEGIN, END = "<!-- bench_workers:begin -->", "<!-- bench_workers:end -->"
RS = ROOT / ".venv" / "bin" / "radiostars"


def kill_children() -> list[int]:
    """Stop every process this one started (the measured child, its driver JVM, its Python workers)."""
    from radiostars.benchmark import kill_process_tree

    return kill_process_tree(os.getpid(), include_root=False)


_STOPPING: list[int] = []  # the stop signal received, once


def _stop_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else SystemExit(128 + signum)


def exit_on_termination() -> None:
    """SIGTERM / SIGHUP raise SystemExit(128 + signal), Ctrl-C (SIGINT) KeyboardInterrupt, so every ``finally``
    runs (child tree killed, workers restored) instead of the default instant death. A second signal during
    that cleanup is ignored, so the cleanup completes.

    The handler also stops the child processes itself: Python runs a handler between any two bytecodes, and one
    that lands inside a finaliser (``__del__``, a GC callback) has its exception swallowed ("Exception ignored
    in …") — seen once in ~30 stops, the benchmark then waited for its child's 300 s. With the children gone
    the wait returns, and :func:`raise_if_stopping` raises the stop again at the next check point."""

    def handler(signum, frame):
        if _STOPPING:
            return
        _STOPPING.append(signum)
        print(f"{signal.Signals(signum).name}: stopping the run and its child processes", file=sys.stderr, flush=True)
        try:
            kill_children()
        except Exception as exc:  # best effort here: the cleanup in the `finally`s and main's backstop follow
            print(f"stopping the child processes: {exc}", file=sys.stderr, flush=True)
        raise _stop_exception(signum)

    # SIGINT too: started in the background of a non-interactive shell, Python inherits it ignored and Ctrl-C
    # (or `kill -INT`) would do nothing
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, handler)
    # a launcher may also leave them *blocked* in the inherited signal mask (exec keeps it; a CI runner did):
    # a handler alone would then never run, and the signal would wait for the measured child to end
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def raise_if_stopping() -> None:
    """Raise the stop a swallowed handler exception could not (see :func:`exit_on_termination`)."""
    if _STOPPING:
        raise _stop_exception(_STOPPING[0])


def die_with_parent(parent_pid: int | None, sig: int = signal.SIGTERM) -> bool:
    """Linux: have the kernel send ``sig`` to this process when its parent dies, even by SIGKILL
    (prctl PR_SET_PDEATHSIG); the Spark driver JVM then exits as its stdin pipe from this process
    closes. ``parent_pid``: the parent that started us; if it is already gone (died before the prctl),
    the signal is sent now. Returns whether it is armed (False elsewhere: the parent's cleanup still
    applies)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(sig), 0, 0, 0) != 0:  # PR_SET_PDEATHSIG = 1
            return False
    except (OSError, AttributeError):
        return False
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})  # an inherited mask must not hold the death signal back
    if parent_pid is not None and os.getppid() != parent_pid:  # re-parented: the parent is already gone
        os.kill(os.getpid(), sig)
    return True


def master_state(settings) -> dict:
    import urllib.request

    url = f"http://{settings['SPARK_MASTER_HOST']}:{settings.port('SPARK_MASTER_WEBUI_PORT')}/json/"
    with urllib.request.urlopen(url, timeout=10) as resp:
        state = json.load(resp)
    return {
        "alive_workers": [
            {"id": w["id"], "cores": w["cores"], "memory_mb": w["memory"]}
            for w in state.get("workers", [])
            if w.get("state") == "ALIVE"
        ],
        "active_apps": [a.get("name") for a in state.get("activeapps", [])],
    }


def set_workers(count: int) -> None:
    subprocess.run([str(RS), "stack", "workers", str(count)], check=True, cwd=ROOT)


def worker_pids(settings) -> list[int]:
    """The local standalone Worker JVMs of this stack's master (read-only: their memory is sampled)."""
    import psutil

    url = settings.spark_standalone_url
    pids = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info.get("cmdline") or []
        if "org.apache.spark.deploy.worker.Worker" in cmd and url in cmd:
            pids.append(p.info["pid"])
    return pids


def measured_run(settings, prefix: str, master: str, run_id: str) -> dict:
    """One child process; driver tree sampled by run_measured, executors via the Worker process trees.
    CPU seconds (radiostars.benchmark.TreeRssSampler): the driver child's tree, and what the Worker
    trees (the executor JVM and its Python workers) used during the run."""
    from radiostars.benchmark import TreeRssSampler, run_measured, tree_rss_bytes

    samplers = []
    for pid in worker_pids(settings) if master.startswith("spark://") else []:
        s = TreeRssSampler(pid, 0.2)
        samplers.append((s, tree_rss_bytes(s.proc)))
        s.start()
    try:  # Ctrl-C / SIGTERM: run_measured stops the child's tree before re-raising
        m = run_measured(
            [
                sys.executable,
                __file__,
                "--child",
                "--prefix",
                prefix,
                "--master",
                master,
                "--run-id",
                run_id,
                "--parent-pid",
                str(os.getpid()),
            ]
        )
    finally:
        for s, _ in samplers:
            s.stop()
    raise_if_stopping()
    driver_cpu = m.cpu_s
    executors_cpu = sum(s.cpu_seconds for s, _ in samplers) if samplers else None
    executors_gb = sum(max(0, s.peak_bytes - idle) for s, idle in samplers) / 1e9
    if m.returncode != 0:
        return {"error": f"exit {m.returncode}: {m.stderr.strip()[-2000:]}", "process_wall_s": m.wall_s}
    out = json.loads(m.stdout.strip().splitlines()[-1])
    out.update(
        {
            "process_wall_s": m.wall_s,
            "driver_peak_rss_gb": m.peak_rss_gb,
            "executors_peak_rss_gb": executors_gb if samplers else None,
            "run_id": run_id,
            "driver_cpu_s": driver_cpu,
            "executors_cpu_s": executors_cpu,
            "cpu_s": driver_cpu + (executors_cpu or 0.0),
        }
    )
    out["optical_rows_per_cpu_s"] = out["optical_rows_read"] / out["cpu_s"] if out["cpu_s"] else None
    if "stages" in out:
        out["stage_totals"] = bs.stage_totals(out["stages"])
        out["pipeline"] = bs.pipeline_stages(out["stages"], out["optical_rows_read"])
    return out


def read_pairs(settings, prefix: str, run_id: str):
    """The committed pairs of a run (exactly the files its marker lists)."""
    from radiostars.lake.runs import read_committed_run, read_part
    from radiostars.lake.store import Lake

    lake = Lake(settings)
    table = read_part(lake, read_committed_run(lake, run_id, prefix), "pairs").select(
        ["radio_source_name", "optical_id", "sep_arcsec", "rank", "p_chance", "p_any"]
    )
    return table.to_pandas().sort_values(["radio_source_name", "optical_id"]).reset_index(drop=True)


def compare(settings, prefix: str, run_ids: list[str]) -> dict:
    key = ["radio_source_name", "optical_id"]
    ref_id, ref = run_ids[0], read_pairs(settings, prefix, run_ids[0])
    out = {"reference": ref_id, "pairs": {ref_id: len(ref)}, "identical_pair_set": {}, "max_abs_diff": {}}
    for run_id in run_ids[1:]:
        other = read_pairs(settings, prefix, run_id)
        out["pairs"][run_id] = len(other)
        same = len(ref) == len(other) and (ref[key].to_numpy() == other[key].to_numpy()).all()
        out["identical_pair_set"][run_id] = bool(same)
        if same:
            out["max_abs_diff"][run_id] = {
                c: float((ref[c] - other[c]).abs().max()) if len(ref) else 0.0
                for c in ("sep_arcsec", "rank", "p_chance", "p_any")
            }
    return out


def _f(x, nd=1):
    return "—" if x is None else f"{x:,.{nd}f}"


def doc_block(report: dict) -> str:
    m = report["machine"]
    lines = [
        BEGIN,
        f"Measured {report['date']} by `make bench-workers` (`scripts/bench_workers.py`) on `{m['host']}`: "
        f"{m['nproc']} cores, {m['ram_gb']} GB RAM, load average at start {m['loadavg']} (shared machine). "
        f"Data: `{report['prefix']}` ({report['optical_rows']:,} Gaia-like × {report['radio_rows']:,} radio rows, "
        f"100 deg²), parameters of `make bench` (r = 5″, one control offset), Gaia only. Driver in the "
        f"benchmark's child process; each worker offers {report['worker_cores']} core(s) and "
        f"{report['worker_memory']} (executor memory {report['executor_memory']}).",
        "",
        "| run | executor cores | wall s (run) | session start s | scan+explode stage s | match stage s "
        "| Σ task time scan+match s | rows / task-s | CPU s driver + executors | rows / CPU-s | "
        "driver / executors peak RSS GB | pairs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["runs"]:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error'][:200]} ||||||||||")
            continue
        p = r.get("pipeline") or {}
        sc, mt = p.get("scan", {}), p.get("match", {})
        lines.append(
            f"| {r['label']} | {r['executor_cores']} | {_f(r['wall_s'])} | {_f(r['session_start_s'])} "
            f"| {_f(sc.get('duration_s'))} | {_f(mt.get('duration_s'))} | {_f(p.get('executor_run_s'))} "
            f"| {_f(p.get('rows_per_core_s'), 0)} | {_f(r.get('driver_cpu_s'), 0)} + {_f(r.get('executors_cpu_s'), 0)} "
            f"| {_f(r.get('optical_rows_per_cpu_s'), 0)} "
            f"| {_f(r['driver_peak_rss_gb'], 2)} / {_f(r.get('executors_peak_rss_gb'), 2)} | {r['pairs']:,} |"
        )
    c = report.get("comparison", {})
    if c:
        same = ", ".join(f"{k}: {'identical' if v else '**different**'}" for k, v in c["identical_pair_set"].items())
        diffs = "; ".join(
            f"{k}: " + ", ".join(f"{col} {v:.1e}" for col, v in d.items()) for k, d in c["max_abs_diff"].items()
        )
        lines += [
            "",
            f"Pair sets vs `{c['reference']}` ({c['pairs'][c['reference']]:,} pairs): {same}. "
            f"Largest differences on the same pairs: {diffs or '—'}.",
        ]
    sp = report.get("speedup")
    if sp:
        lines += [
            "",
            f"2 workers vs 1 (medians over {sp['repeats']} run(s) each): run wall × {sp['run']:.2f}, scan+explode "
            f"stage × {_f(sp.get('scan'), 2)}, match stage × {_f(sp.get('match'), 2)} (1-worker time / 2-worker "
            f"time; 2.0 = perfect); CPU seconds per run × {_f(sp.get('cpu'), 2)} (2-worker / 1-worker; "
            "1.0 = no extra work). Load average at the start of each run: "
            + ", ".join(f"{r['label']} {r['load_at_start']}" for r in report["runs"])
            + ".",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_doc(report: dict) -> None:
    block = doc_block(report)
    text = (
        DOC.read_text()
        if DOC.exists()
        else "# Scaling\n\n## Measured: 1 vs 2 local workers\n\n" + BEGIN + "\n" + END + "\n"
    )
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--optical-rows", type=float, default=1e6)
    ap.add_argument("--radio-rows", type=float, default=1e5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--with-local", action="store_true", help="also run local[2] on the driver for reference")
    ap.add_argument("--repeat", type=int, default=1, help="1-worker / 2-worker runs, interleaved (default 1)")
    ap.add_argument("--keep-outputs", action="store_true", help="keep crossmatch/workers*/ in the lake")
    ap.add_argument("--no-doc", action="store_true", help="do not write the measured block of docs/scaling.md")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    ap.add_argument("--master", help=argparse.SUPPRESS)
    ap.add_argument("--run-id", help=argparse.SUPPRESS)
    ap.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    from radiostars.config import get_settings

    settings = get_settings()
    if args.child:
        die_with_parent(args.parent_pid)
        print(
            json.dumps(
                bx.child_radiostars(
                    settings,
                    args.prefix,
                    master=args.master,
                    run_id=args.run_id,
                    app_name=f"bench-workers-{args.run_id}",
                ),
                default=str,
            )
        )
        return 0
    exit_on_termination()
    try:
        return benchmark(args, settings)
    finally:
        kill_children()  # backstop: no child (nor its JVM) outlives this process


def benchmark(args, settings) -> int:
    """The parent: data, the interleaved runs, the comparison, the record."""
    from radiostars.benchmark import machine_info
    from radiostars.lake.keys import crossmatch_run_prefix
    from radiostars.lake.store import Lake

    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    n_opt, n_radio = int(args.optical_rows), int(args.radio_rows)
    prefix, gen = bx.ensure_data(settings, n_opt, n_radio, args.seed)
    before = master_state(settings)
    initial = max(1, min(2, len(before["alive_workers"])))
    if before["active_apps"]:
        print(f"warning: other applications are running on the cluster: {before['active_apps']}", flush=True)
    report = {
        "date": date,
        "machine": machine_info(),
        "prefix": prefix,
        "data": gen,
        "optical_rows": n_opt,
        "radio_rows": n_radio,
        "master": settings.spark_standalone_url,
        "worker_cores": settings["SPARK_WORKER_CORES"],
        "worker_memory": settings["SPARK_WORKER_MEMORY"],
        "executor_memory": settings["SPARK_EXECUTOR_MEMORY"],
        "cluster_before": before,
        "params": bx.bench_params().to_dict(),
        "runs": [],
    }
    plan = []
    for i in range(args.repeat):  # interleaved, so a change of machine load hits both settings
        tag = "" if args.repeat == 1 else f"-{chr(ord('a') + i)}"
        plan += [
            (f"1 worker{tag.replace('-', ' #')}", 1, settings.spark_standalone_url, f"workers1{tag}"),
            (f"2 workers{tag.replace('-', ' #')}", 2, settings.spark_standalone_url, f"workers2{tag}"),
        ]
    if args.with_local:
        plan.append(("local[2] (reference)", None, "local[2]", "local2"))
    out_json = ROOT / ".local" / "bench" / f"workers-{date}.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    try:
        for label, count, master, run_id in plan:
            if count is not None:
                set_workers(count)
                time.sleep(2)
            state = master_state(settings)
            cores = sum(w["cores"] for w in state["alive_workers"]) if count is not None else 2
            load = machine_info()["loadavg"]
            print(
                f"{label}: {master}, {cores} executor core(s), other apps {state['active_apps']}, load {load} …",
                flush=True,
            )
            res = measured_run(settings, prefix, master, run_id)
            res.update(
                {"label": label, "workers": count, "executor_cores": cores, "cluster": state, "load_at_start": load}
            )
            report["runs"].append(res)
            if "error" in res:
                print(f"  FAILED: {res['error'][-800:]}", flush=True)
            else:
                p = res.get("pipeline") or {}
                print(
                    f"  {res['pairs']:,} pairs, run {res['wall_s']:.1f} s (+ {res['session_start_s']:.1f} s session), "
                    f"scan {p.get('scan', {}).get('duration_s')} s, match {p.get('match', {}).get('duration_s')} s, "
                    f"{_f(p.get('rows_per_core_s'), 0)} rows/task-s, CPU {res['cpu_s']:.0f} s",
                    flush=True,
                )
            out_json.write_text(json.dumps(report, indent=2, default=str))
    finally:
        set_workers(initial)
        report["cluster_after"] = master_state(settings)
        print(f"cluster restored to {initial} worker(s)", flush=True)
    ok = [r for r in report["runs"] if "error" not in r]
    if len(ok) >= 2:
        report["comparison"] = compare(settings, prefix, [r["run_id"] for r in ok])
    one = [r for r in ok if r["workers"] == 1]
    two = [r for r in ok if r["workers"] == 2]
    if one and two:
        from statistics import median

        def med(runs, key):
            values = [((r.get("pipeline") or {}).get(key) or {}).get("duration_s") for r in runs]
            values = [v for v in values if v]
            return median(values) if values else None

        def ratio(a, b):
            return a / b if a and b else None

        report["speedup"] = {
            "repeats": min(len(one), len(two)),
            "run": ratio(median(r["wall_s"] for r in one), median(r["wall_s"] for r in two)),
            "scan": ratio(med(one, "scan"), med(two, "scan")),
            "match": ratio(med(one, "match"), med(two, "match")),
            "cpu": ratio(median(r["cpu_s"] for r in two), median(r["cpu_s"] for r in one)),
        }
    if not args.keep_outputs:
        for r in report["runs"]:
            Lake(settings).remove_prefix(crossmatch_run_prefix(r["run_id"], prefix))
    out_json.write_text(json.dumps(report, indent=2, default=str))
    print(doc_block(report))
    if not args.no_doc:
        write_doc(report)
    print(f"wrote {out_json.relative_to(ROOT)}" + ("" if args.no_doc else " and docs/scaling.md"))
    same = report.get("comparison", {}).get("identical_pair_set", {})
    return 0 if ok and all(same.values()) and len(ok) == len(plan) else 1


if __name__ == "__main__":
    sys.exit(main())

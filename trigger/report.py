"""Reports: data distributions, and the summary a physicist reads after `make firmware`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trigger import versions
from trigger.config import Config
from trigger.model.families import DESCRIPTION
from trigger.io_utils import atomic_write_text, write_json


def _ns(v) -> str:
    """A latency in ns as the summary prints it (one decimal), or 'not measured'."""
    return "not measured" if v is None else f"{v:.1f} ns"


def _read(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def data_report(cfg: Config, build: Path, root: Path | None = None) -> dict:
    """Per process: events, filter, seed and the words that saturate (one streamed pass); plots of the first 50,000."""
    from trigger.data.dataset import process_file
    from trigger.data.stream import file_info, iter_chunks
    from trigger.data.units import SaturationCount, to_words
    from trigger.physics.plots import data_plots
    from trigger.progress import bar

    info, samples, weights = {}, {}, {}
    for name in cfg.data.processes():
        path = process_file(cfg.data, name, root)
        fi = file_info(path)
        sat = SaturationCount()
        head, head_w = [], []
        with bar(f"checking {name}", fi.events) as advance:
            for lo, p, w in iter_chunks(path):
                to_words(p, cfg.units, sat)
                if lo < 50000:
                    head.append(p[: 50000 - lo].astype(np.float32))
                    head_w.append(w[: 50000 - lo])
                advance(len(p))
        info[name] = {
            "events": fi.events,
            "lepton_filter": fi.attrs.get("lepton_filter"),
            "filter_efficiency": fi.attrs.get("filter_efficiency"),
            "seed": fi.attrs.get("seed"),
            "word_saturation": sat.counts,
            "kind": "background" if name in cfg.data.background else "signal",
        }
        samples[name], weights[name] = np.concatenate(head), np.concatenate(head_w)
    data_plots(build / "reports" / "plots", samples, weights)
    write_json(build / "reports" / "data.json", info)
    return info


def _depth_line(est: dict | None) -> str:
    if not est or not est.get("deepest_stage"):
        return "- Timing estimate: no current report (run `trigger firmware --resources`)"
    d = est["deepest_stage"]
    verdict = "fits the clock by the estimate" if est["fits_estimate"] else "**TOO DEEP for the clock by the estimate**"
    return (f"- **Timing ESTIMATE** (logic depth, not a timing analysis): deepest stage {d['stage']}, {d['lut_levels']} LUT "
            f"levels + {d['carry_cells']} carry cells, about {d['estimate_ns']:.2f} ns against {est['clock_period_ns']:.3f} ns: "
            f"{verdict}; Vivado's number: `rtl/timing_ooc.tcl`")


# long: gathers every report into the summary dict, one key per source file, in the summary's order
def write_summary(cfg: Config, build: str | Path) -> dict:
    build = Path(build)
    rep = build / "reports"
    phys = _read(rep / "physics.json") or {}
    bits = _read(rep / "bit_accuracy.json") or {}
    fw = _read(rep / "firmware.json") or {}
    res = _read(rep / "resources.json") or {}
    sim = _read(rep / "sim.json")
    # a report is shown only when it checked the current build: the design and RTL hashes must match
    current = current_hashes(build)
    stale = {}
    # report, where it records the hashes of what it checked, and which of them must match the build
    for name, rpt, record, keys in (("bit_accuracy.json", bits, bits, ("design_sha256", "rtl_sha256")),
                                    ("resources.json", res, res, ("rtl_sha256",)), ("sim.json", sim, sim, ("rtl_sha256",)),
                                    ("firmware.json", fw, fw.get("hashes") or {}, ("rtl_sha256",))):
        if not rpt:
            stale[name] = "missing"
        elif any(record.get(k) != current.get(k) for k in keys):
            stale[name] = "made from another design or RTL than the current build"
    bits = {} if "bit_accuracy.json" in stale else bits
    res = {} if "resources.json" in stale else res
    sim = None if "sim.json" in stale else sim
    fw = {} if "firmware.json" in stale else fw
    data = _read(rep / "data.json") or {}
    timing = _read(rep / "timing.json") or {}
    rates = [f"{r:g}" for r in cfg.firmware.rates_khz]

    primary = phys.get("primary", "encoder_mu2")  # the trigger's score key (model family)
    physics = {
        sig: {
            "lepton_filter": e.get("lepton_filter"),
            "auc": e["scores"][primary]["auc"],
            "efficiency": e["scores"][primary]["efficiency"],
            "best_score": e["best_score"],
            "baselines": {k: {"auc": v["auc"], "efficiency": v["efficiency"]} for k, v in e["scores"].items() if k != primary},
        }
        for sig, e in phys.get("signals", {}).items()
    }
    hist = _read(build / "model" / "history.json") or {}
    summary = {
        "events": {  # what each number rests on
            "training": hist.get("events"),
            "training_sampled_from": hist.get("sampled_from"),
            "background_test": phys.get("background_test_events"),
            "background_effective": phys.get("background_effective_events"),
            "background_val": phys.get("background_val_events"),
            "signal_test": {k: v.get("events") for k, v in phys.get("signals", {}).items()},
            "bit_accuracy": bits.get("events"),
            "bit_accuracy_sample": bits.get("sample_note"),
            "simulation": (sim or {}).get("events_simulated"),
        },
        "model_family": cfg.model.family,
        "score_description": DESCRIPTION[cfg.model.family],
        "stream": phys.get("stream"),
        "stream_rate_note": phys.get("stream_rate_note"),
        "physics": physics,
        "thresholds": phys.get("thresholds"),
        "families": phys.get("families"),
        "or_parts": phys.get("or_parts"),
        "stream_rate_khz": phys.get("stream_rate_khz"),
        "bit_accuracy": {
            "events": bits.get("events"),
            "all_exact": bits.get("all_exact"),
            "pairs": [
                {"pair": p["pair"], "events": p["events"], "exact_fraction": p["exact_fraction_all"]}
                for p in bits.get("pairs", []) + ([bits["emulator_vs_verilog_large"]] if bits.get("emulator_vs_verilog_large") else [])
            ],
        },
        "firmware": {
            "clock_mhz": fw.get("clock_mhz"),
            "latency_cycles": fw.get("latency_cycles"),
            "latency_ns": fw.get("latency_ns"),
            "latency_budget_ns": cfg.firmware.latency_budget_ns,
            "ii": fw.get("ii"),
            "luts": res.get("luts"),
            "ffs": res.get("ffs"),
            "dsps": res.get("dsps"),
            "carry": res.get("carry"),
            "timing_estimate": res.get("timing_estimate"),
            "da4ml_cost": fw.get("da4ml_cost"),
            "hashes": fw.get("hashes"),
        },
        "simulation": sim,
        "current_hashes": current,
        "reports_not_shown": stale,
        "data": data,
        "timing": timing,
        "memory": _read(rep / "memory.json"),
        "versions": versions.collect(),
    }
    write_json(rep / "summary.json", summary)
    atomic_write_text(rep / "summary.md", render_summary(summary, rates))
    return summary


def current_hashes(build: Path) -> dict:
    from trigger.design import DesignError, load_design
    from trigger.firmware.verilator import rtl_sha256

    out = {}
    try:
        out["design_sha256"] = load_design(build / "design.yaml").sha256()
    except DesignError:
        pass
    if (build / "rtl" / "ports.json").exists():
        out["rtl_sha256"] = rtl_sha256(build / "rtl")
    return out


def _pct(e):
    return f"{100 * e['efficiency']:.2f} ± {100 * e['uncertainty']:.2f} %"


def _sim_lines(sim: dict) -> list[str]:
    """sim.json as sentences: what ran, what it measured, what it found."""
    ok = "passed" if sim.get("passed") else f"FAILED: {sim.get('failed_tests')}"
    lines = [f"- {len(sim.get('tests_reporting') or [])} testbenches ({', '.join(sim.get('tests_reporting') or [])}): {ok}",
             f"- {sim.get('events_simulated')} events compared with the emulator: {sim.get('mismatches')} mismatches",
             f"- latency {sim.get('latency_cycles')} clocks = {_ns(sim.get('latency_ns'))} at {sim.get('clock_mhz')} MHz "
             f"(budget {sim.get('latency_budget_ns')} ns), initiation interval {sim.get('initiation_interval')}, "
             f"bunch crossings every {sim.get('bx_spacing_cycles')} clocks",
             f"- Verilator build {sim.get('verilator_build_seconds', 0):.1f} s, tests {sim.get('test_seconds', 0):.1f} s"
             + (f", {sim['sim_events_per_second']:,.0f} events/s" if sim.get("sim_events_per_second") else "")]
    if sim.get("input"):
        lines.append(f"- events from {sim['input']}")
    return lines


def _or_lines(o: dict | None) -> list[str]:
    """The or family: what each part fires at the trigger's own thresholds."""
    if not o:
        return []
    a, b = o["parts"]
    L = ["", f"## The OR's parts at the trigger's thresholds ({o['unit']})", "",
         f"| sample | rate [kHz] | {a} fires | {b} fires | both |", "|---|---|---|---|---|"]
    for name, per in o["fired"].items():
        for r, f in per.items():
            L.append(f"| {name} | {r} | {f[a]:.3g} | {f[b]:.3g} | {f['both']:.3g} |")
    return L


def _families_lines(fam: dict | None, rate: str) -> list[str]:
    """physics.json's `families` section as a table: min-max over each scan point's seeds."""
    if not fam:
        return []
    L = ["", "## Model families side by side", ""]
    if not fam.get("included"):
        return L + [f"Not shown: {fam.get('reason')}."]
    pts = fam["points"]
    sigs = list(next(iter(pts.values()))["auc"])
    span = lambda v, k=1, d=2: f"{k * v[0]:.{d}f}-{k * v[1]:.{d}f}"  # noqa: E731
    L += [f"From `{fam['source']}`, {fam['note']}; this build: `{fam['this_build_family']}`. Min-max over seeds.", "",
          "| point | family | seeds | " + " | ".join(f"{s} AUC / eff @ {rate} kHz %" for s in sigs)
          + f" | rate @ {rate} kHz, independent split | da4ml LUT estimate (squares from adders, no DSP) | training [s] |",
          "|---|---|---|" + "---|" * (len(sigs) + 3)]
    for name, p in pts.items():
        ind, cost = p.get("independent_rate_khz", {}).get(rate), p.get("da4ml_lut_estimate")
        L.append(f"| {name} | {p['family']} | {len(p['seeds'])} | "
                 + " | ".join(f"{span(p['auc'][s])} / {span(p['efficiency'][rate][s], 100, 1)}" for s in sigs)
                 + f" | {span(ind) if ind else 'not measured'} | {span(cost, 1, 0) if cost else 'not measured'} | "
                 f"{span(p['training_seconds'], 1, 0)} |")
    return L


# long: the summary page top to bottom, one block per section
def render_summary(s: dict, rates: list[str]) -> str:
    f = s["firmware"]
    L = ["# Anomaly trigger: summary", ""]
    sim = s["simulation"]
    if sim and sim.get("latency_cycles") is not None:  # measured on this very RTL
        lat, src = sim, f"measured by cocotb + Verilator on this RTL ({sim.get('events_simulated')} events, {'passed' if sim.get('passed') else 'FAILED'})"
        ii = sim.get("initiation_interval")
    else:
        lat, src, ii = f, "da4ml's pipeline registers; not simulated (run `trigger sim`)", f.get("ii")
    ok_lat = lat.get("latency_ns") is not None and lat["latency_ns"] <= f["latency_budget_ns"]
    L += [
        f"- **Latency**: {lat['latency_cycles']} clocks = {lat['latency_ns']:.1f} ns at {f['clock_mhz']:g} MHz "
        f"(budget {f['latency_budget_ns']:g} ns: {'met' if ok_lat else 'NOT met'}), II = {ii}; {src}. A cycle count, "
        "not timing closure: no timing was measured"
        if lat.get("latency_ns") is not None else "- Latency: not built yet",
        f"- **Bit accuracy**: {s['bit_accuracy']['events']} events, all implementations exact: **{s['bit_accuracy']['all_exact']}**"
        if s["bit_accuracy"]["events"] else "- Bit accuracy: no current report (run `trigger compare`)",
        f"- **Resources** (yosys synth_xilinx): LUT {f['luts']}, FF {f['ffs']}, CARRY {f['carry']}, DSP {f['dsps']} "
        f"(da4ml estimate {f['da4ml_cost']})" if f["luts"] is not None else "- Resources: no current report (run `trigger firmware --resources`)",
        _depth_line(f.get("timing_estimate")),
        f"- **Stream rate** the background stands for: {s['stream_rate_khz']:.6g} kHz ({s.get('stream_rate_note')})"
        if s.get("stream_rate_khz") else "- Stream rate: no physics evaluation in this build (an imported design)",
        f"- **Current build**: design sha256 {str(s['current_hashes'].get('design_sha256'))[:16]}, RTL sha256 "
        f"{str(s['current_hashes'].get('rtl_sha256'))[:16]}; every number below comes from a report of this design and RTL",
    ]
    L += [f"- **Not shown**: `{k}`: {v}" for k, v in s["reports_not_shown"].items()]
    ev = s.get("events") or {}
    if ev.get("background_test"):
        tr = ev.get("training") or {}
        src = ev.get("training_sampled_from") or {}
        L += ["", "## Events behind the numbers", "",
              f"- Training: {tr.get('train')} background events"
              + (f" (a uniform sample within every process of {src.get('train')})" if src.get("train") and src.get("train") != tr.get("train") else "")
              + f", validation {tr.get('val')}",
              f"- Thresholds and rates: {ev['background_test']} background test events (effective {ev['background_effective']:.0f} "
              f"with the weights); checked on {ev.get('background_val')} independent validation events",
              "- Efficiencies: " + ", ".join(f"{k} {v}" for k, v in ev["signal_test"].items()) + " signal test events"]
    if ev.get("bit_accuracy"):
        L.append(f"- Bit accuracy: {ev['bit_accuracy']} events; the slow legs: {ev.get('bit_accuracy_sample') or 'every event'}")
    if ev.get("simulation"):
        L.append(f"- Latency and handshake: cocotb on {ev['simulation']} events")
    L += [
        "",
        f"## Signal efficiency at fixed trigger rate ({s.get('score_description', 'encoder-only score sum(mu^2)')})",
        "",
        "| signal | lepton filter | AUC | " + " | ".join(f"eff @ {r} kHz" for r in rates) + " | best score (AUC) |",
        "|---|---|---|" + "---|" * len(rates) + "---|",
    ]
    for sig, p in s["physics"].items():
        L.append(f"| {sig} | {p['lepton_filter']} | {p['auc']:.3f} | " + " | ".join(_pct(p["efficiency"][r]) for r in rates) + f" | {p['best_score']} |")
    L += ["", "## Baselines (AUC; efficiency at the lowest rate)", "", "| signal | baseline | AUC | eff @ " + rates[0] + " kHz |", "|---|---|---|---|"]
    for sig, p in s["physics"].items():
        for name, b in p["baselines"].items():
            L.append(f"| {sig} | {name} | {b['auc']:.3f} | {_pct(b['efficiency'][rates[0]])} |")
    L += _or_lines(s.get("or_parts"))
    L += _families_lines(s.get("families"), rates[0])
    L += ["", "## Thresholds", "", "Chosen on the background test split; their rates checked on the independent validation split "
          "(uncertainties: sqrt(sum of squared weights) of the passing events).", "",
          "| target [kHz] | threshold (float) | threshold (integer, score LSBs) | rate on the test split [kHz] | rate on the independent split [kHz] |",
          "|---|---|---|---|---|"]
    for t in s["thresholds"] or []:
        ind = (f"{t['independent_rate_khz']:.2f} ± {t['independent_rate_uncertainty_khz']:.2f}" if "independent_rate_khz" in t else "not measured")
        L.append(f"| {t['rate_khz']:g} | {t['threshold_float']:.6g} | {t['threshold_int']} | {t['achieved_rate_khz']:.2f} ± "
                 f"{t['rate_uncertainty_khz']:.2f} | {ind} |")
    L += ["", "## Bit accuracy", "", "| pair | events | exact |", "|---|---|---|"]
    for p in s["bit_accuracy"]["pairs"]:
        L.append(f"| {p['pair']} | {p['events']} | {100 * p['exact_fraction']:.4f} % |")
    if s["simulation"]:
        L += ["", "## RTL simulation (cocotb)", ""] + _sim_lines(s["simulation"])
    L += ["", "## Plots", ""]
    for sig in s["physics"]:
        L.append(f"![ROC {sig}](plots/roc_{sig}.png)")
    L += ["![scores](plots/score_distributions.png)", "![efficiency vs rate](plots/efficiency_vs_rate.png)", ""]
    for name in s["data"]:
        L.append(f"![data {name}](plots/data_{name}.png)")
    L += ["", "## Timing (seconds per stage, last run of each)", ""]
    L += [f"- {k}: {v:.1f}" for k, v in s["timing"].items()]
    mem = s.get("memory") or {}
    if mem:
        L += ["", "## Peak memory and CPU (the kernel's counts per process: peak resident MiB, CPU seconds)", ""]
        L += [f"- {k} (its own process): {v['peak_rss_mib']:,.0f} MiB" + (f", {v['cpu_seconds']:,.0f} CPU s" if "cpu_seconds" in v else "")
              for k, v in mem.get("stages", {}).items()]
        L += [f"- the flow's process: {mem['flow_process_peak_rss_mib']:,.0f}; largest child process: {mem['largest_child_peak_rss_mib']:,.0f}"
              + (f"; cgroup peak: {mem['cgroup_peak_mib']:,.0f}" if mem.get("cgroup_peak_mib") else "")
              + (f"; the whole flow's CPU: {mem['flow_cpu_seconds']:,.0f} s" if "flow_cpu_seconds" in mem else "")]
    L += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in s["versions"].items()]
    return "\n".join(L) + "\n"

"""`trigger compare`: the same events through QKeras, the emulator, the C simulation, da4ml's interpreter and
the emitted Verilog (Verilator), bit by bit."""

from __future__ import annotations

import time
from itertools import combinations
from pathlib import Path

import numpy as np

from trigger.config import Config
from trigger.verify.edge_words import edge_cases, threshold_edges
from trigger.io_utils import atomic_write_text, write_json
from trigger.progress import console

MAX_MISMATCHES_SHOWN = 5


class Outputs:
    def __init__(self, mu, score, bits):
        self.mu, self.score, self.bits = (np.asarray(a, dtype=np.int64) for a in (mu, score, bits))


def rtl_outputs(o: np.ndarray, emu) -> Outputs:
    """da4ml's predict() values (mu..., score, bits...) as integer counts of their LSBs."""
    L, mf = emu.latent, emu.mu_type.frac
    return Outputs(np.rint(o[:, :L] * 2.0**mf), np.rint(o[:, L] * 2.0**emu.score_type.frac), np.rint(o[:, L + 1 :]))


def _ir_width(comb) -> int:
    """The widest value (bits) in da4ml's combinational graph."""
    widest = 0
    for op in comb.ops:
        q = op.qint
        span = (float(q.max) - float(q.min)) / float(q.step) if float(q.step) > 0 else 0.0
        widest = max(widest, int(np.ceil(np.log2(span + 1))) + int(float(q.min) < 0))
    return widest


def _pair_stats(name_a: str, a: Outputs, name_b: str, b: Outputs, words: np.ndarray, names) -> dict:
    mu_eq = a.mu == b.mu
    score_eq = a.score == b.score
    bits_eq = a.bits == b.bits
    all_eq = mu_eq.all(1) & score_eq & bits_eq.all(1)
    bad = np.flatnonzero(~all_eq)[:MAX_MISMATCHES_SHOWN]
    return {
        "pair": f"{name_a} vs {name_b}",
        "events": int(len(words)),
        "exact_fraction_all": float(all_eq.mean()),
        "exact_fraction_mu": [float(x) for x in mu_eq.mean(0)],
        "exact_fraction_score": float(score_eq.mean()),
        "exact_fraction_bits": {n: float(x) for n, x in zip(names, bits_eq.mean(0))},
        "max_diff_lsb_mu": int(np.abs(a.mu - b.mu).max(initial=0)),
        "max_diff_lsb_score": int(np.abs(a.score - b.score).max(initial=0)),
        "mismatches": int((~all_eq).sum()),
        "first_mismatches": [
            {
                "index": int(i),
                "words": words[i].tolist(),
                name_a: {"mu": a.mu[i].tolist(), "score": int(a.score[i]), "bits": a.bits[i].tolist()},
                name_b: {"mu": b.mu[i].tolist(), "score": int(b.score[i]), "bits": b.bits[i].tolist()},
            }
            for i in bad
        ],
    }


def _compare(impls: dict[str, Outputs], words, names) -> list[dict]:
    return [_pair_stats(a, impls[a], b, impls[b], words, names) for a, b in combinations(impls, 2)]


def load_events(cfg: Config, input_file: str | None, root: Path | None, emu, trained: bool):
    """Words (streamed in, int16/int32), the ADC2021 file they came from (for the physics values before rounding,
    read later for the sample only) and a description: a file, the test events of a trained build, or, for an
    imported design with no file, random words over every input's full range."""
    from trigger.data.words import read_words, reads_particles

    if input_file:
        words, _ = read_words(input_file, cfg.units, emu.n_inputs)
        physics = Path(input_file) if reads_particles(input_file, emu.n_inputs) else None
        return words, physics, [Path(input_file).name]
    if not trained:
        rng = np.random.default_rng(7)
        return rng.integers(emu.word_min, emu.word_max + 1, size=(100_000, emu.n_inputs)), None, \
            ["100000 random words over each input's full range (imported design; pass --input for real events)"]
    return test_words(cfg, root), None, ["background test split"] + [f"{s} test split" for s in cfg.data.signals]


def test_words(cfg: Config, root: Path | None) -> np.ndarray:
    """The test split of every process, background first, as one array. Each file's words are dropped as soon as
    its split is taken (a 13.45M-event file's words are 1.5 GB; the split 0.6 GB)."""
    from trigger.data.dataset import load_background, load_sample
    from trigger.data.stream import clear_words

    parts = [load_background(cfg, "test", root).words]
    clear_words()
    for s in cfg.data.signals:
        parts.append(load_sample(cfg, s, "test", root).words)
        clear_words()
    out = np.empty((sum(len(p) for p in parts), parts[0].shape[1]), parts[0].dtype)
    start = 0
    while parts:  # filled part by part, each freed once copied
        p = parts.pop(0)
        out[start : start + len(p)] = p
        start += len(p)
    return out


CHUNK = 262_144  # events per call of a leg: bounded memory whatever the number of events
IR_PYTHON_EVENTS = 2000  # da4ml's Python interpreter (wide designs) runs row by row: this many sampled events


def run_chunked(fn, words: np.ndarray, label: str) -> Outputs:
    """A leg over many events, chunk by chunk (each widened to int64 on its own), with a progress bar."""
    from trigger.progress import bar

    parts = []
    with bar(f"  {label}", len(words), enabled=len(words) > CHUNK) as advance:
        for i in range(0, len(words), CHUNK):
            w = words[i : i + CHUNK].astype(np.int64)
            parts.append(fn(w))
            advance(len(w))
    if not parts:
        return fn(words.astype(np.int64))
    return Outputs(*(np.concatenate([getattr(o, k) for o in parts]) for k in ("mu", "score", "bits")))


def _compare_legs(legs: dict, w: np.ndarray, names, ir_py: bool, ir_rows: int = 200) -> list[dict]:
    """Every pair of legs on the words w; with ir_py, da4ml's Python interpreter only on the first ir_rows."""
    impl = {k: fn(w) for k, fn in legs.items() if not (ir_py and k == "da4ml_ir")}
    pairs = _compare(impl, w, names)
    if ir_py:
        pairs += _ir_pairs(legs["da4ml_ir"], impl, w[:ir_rows], names)
    return pairs


def _ir_pairs(ir_fn, impl: dict, sub: np.ndarray, names) -> list[dict]:
    """da4ml's (slow) interpreter on the first rows `sub` against every other leg's outputs on those rows."""
    ir = ir_fn(sub)
    return [_pair_stats("da4ml_ir", ir, k, _take(impl[k], np.arange(len(sub))), sub, names) for k in impl]


def _take(o: Outputs, idx) -> Outputs:
    return Outputs(o.mu[idx], o.score[idx], o.bits[idx])


def _join(a: Outputs, b: Outputs) -> Outputs:
    if not len(b.score):
        return a
    return Outputs(*(np.concatenate([getattr(a, k), getattr(b, k)]) for k in ("mu", "score", "bits")))


def _unrounded_inputs(particles, cfg: Config, scaling) -> np.ndarray:
    """The scaled inputs from the physics values before rounding to L1 words (QKeras 'raw')."""
    from trigger.data.layout import GROUPS, SLOTS

    p = np.asarray(particles, dtype=np.float64)
    raw = np.zeros((len(p), p.shape[1], 3))
    for name, _, _ in GROUPS:
        u = getattr(cfg.units, name)
        sl = SLOTS[name]
        raw[:, sl, 0] = p[:, sl, 0] / u.pt_lsb
        raw[:, sl, 1] = p[:, sl, 1] / u.eta_lsb
        raw[:, sl, 2] = np.mod(p[:, sl, 2] / (2 * np.pi / u.phi_bins), u.phi_bins)
    return ((raw.reshape(len(p), -1) - scaling.offset) / np.exp2(scaling.shift)).astype(np.float32)


def has_model(build: Path) -> bool:
    """Whether the build holds a model we trained (an imported design has only design.yaml)."""
    return (Path(build) / "model" / "scaling.json").is_file()


def reference_comparison(words, bits: np.ndarray, names: list[str], reference: np.ndarray, columns: list[int], score, mu) -> dict:
    """Our trigger bits against given reference bits (e.g. a menu emulator's algorithm bits), threshold by threshold."""
    if len(columns) != bits.shape[1]:
        raise ValueError(f"{len(columns)} reference bit columns given for {bits.shape[1]} thresholds ({', '.join(names)})")
    out = {"columns": columns, "per_threshold": [], "disagreements": []}
    for k, (name, col) in enumerate(zip(names, columns)):
        ref = reference[:, col].astype(np.int64)
        bad = np.flatnonzero(ref != bits[:, k])
        out["per_threshold"].append({"threshold": name, "reference_column": col, "events": int(len(ref)), "ours_fired": int(bits[:, k].sum()),
                                     "reference_fired": int(ref.sum()), "disagreements": int(len(bad))})
        for i in bad[:MAX_MISMATCHES_SHOWN * 4]:
            out["disagreements"].append({"index": int(i), "threshold": name, "ours": int(bits[i, k]), "reference": int(ref[i]),
                                         "score": int(score[i]), "mu": mu[i].tolist(), "words": words[i].tolist()})
    out["total_disagreements"] = sum(p["disagreements"] for p in out["per_threshold"])
    return out


# long: one pass over the legs in order (emulator, QKeras, C-sim, da4ml, Verilog) sharing the words and the reference; split, each helper would take most of its locals
def compare(cfg: Config, build: str | Path = "build", input_file: str | None = None, out: str | Path | None = None,
            rtl_events: int = 1_000_000, root: Path | None = None, reference_bits: list[int] | None = None) -> dict:
    from da4ml.cmvm.types import CombLogic

    from emulator import Emulator
    from trigger.firmware.hls import CSim, weight_files_disagree
    from trigger.verify.verilog_sim import VerilogSim

    build = Path(build)
    out = Path(out) if out else build / "reports"
    t0 = time.perf_counter()
    emu = Emulator.load(build)
    names = emu.threshold_names
    trained = has_model(build)
    words, adc_file, sources = load_events(cfg, input_file, root, emu, trained)
    for i in range(0, len(words), CHUNK):  # every word checked against its type, naming the first that does not fit
        emu.check_words(words[i : i + CHUNK], first_event=i)
    timings = {}

    def timed(name, fn, w):
        t = time.perf_counter()
        r = run_chunked(fn, w, name)
        timings[name] = {"seconds": time.perf_counter() - t, "events": len(w)}
        return r

    legs: dict[str, object] = {}
    qkeras_note = None
    if trained:
        from trigger.model.families import keras_score_type
        from trigger.physics.scoring import software_scores
        from trigger.model.train import load_model, load_scaling

        scaling, model = load_scaling(build), load_model(build)
        qkeras_note = ("its score (the sum of the squared integer mu) and bits are computed in numpy from that mu, not in "
                       "Keras (Keras computes the sum of squares in float32, exact only below 2^24 score LSBs)"
                       if keras_score_type(cfg, build) is None else
                       "its score is the model's own output (a float64 head, exact), its bits compare that score")

        def qkeras_words(w, x=None):
            mu, score = software_scores(model, scaling.apply(w).astype(np.float32) if x is None else x, cfg.model.mu.type,
                                        keras_score_type(cfg, build))
            return Outputs(mu, score, score[:, None] >= emu.thresholds[None, :])

        legs["qkeras_mu"] = qkeras_words
    legs["emulator"] = lambda w: Outputs(*emu.run(w))
    csim = CSim(build / "hls", emu.n_inputs, emu.latent, len(names))
    weight_files = weight_files_disagree(build / "hls")
    legs["csim"] = lambda w: Outputs(*csim.run(w))
    comb = CombLogic.load(build / "rtl" / "model" / "comb.json")
    in_lsb = np.array([i.type.lsb for i in emu.design.inputs])

    exact_predict = _ir_width(comb) <= 32  # da4ml 0.5.2's C++ interpreter (predict) gave wrong values on some values
    # past 32 bits (an input's sign, a wide slice); its Python interpreter is exact at any width

    def da4ml_ir(w):
        if not exact_predict:  # da4ml's Python interpreter, row by row: slow
            rows = [np.asarray(comb(list(r)), dtype=np.float64) for r in w * in_lsb]
            return rtl_outputs(np.array(rows).reshape(len(w), comb.shape[1]), emu)  # shape given: no rows is (0, n_out)
        return rtl_outputs(comb.predict(w * in_lsb, n_threads=1), emu)

    legs["da4ml_ir"] = da4ml_ir
    console.print("  compare: building the Verilator simulation of the emitted Verilog (cached per RTL)")
    vsim = VerilogSim(build)
    legs["verilog"] = lambda w: Outputs(*vsim.run(w, emu.mu_type.frac, emu.score_type.frac))
    fast = ("emulator", "verilog")  # every event; the others on a seeded uniform sample

    # the emulator and the Verilog on every event, and on random full-range words up to rtl_events in all
    n = len(words)
    console.print(f"  compare: {n} events through the emulator and the Verilog")
    every = {k: timed(k, legs[k], words) for k in fast}
    rng = np.random.default_rng(2024)
    extra = rng.integers(emu.word_min, emu.word_max + 1, size=(max(rtl_events - n, 0), emu.n_inputs))
    big_out = {k: _join(every[k], timed(f"{k}_random", legs[k], extra)) for k in fast}
    big = np.concatenate([words, extra]) if len(extra) else words
    big_pair = _pair_stats("emulator", big_out["emulator"], "verilog", big_out["verilog"], big, names)

    # every leg on the sample (all events when there are no more than slow_leg_events)
    k = cfg.evaluation.slow_leg_events
    sample = np.arange(n) if n <= k else np.sort(np.random.default_rng(99).choice(n, size=k, replace=False))
    sample_words = words[sample]
    console.print(f"  compare: {len(sample)} events through {', '.join(legs)}")
    ir_py = not exact_predict  # da4ml's Python interpreter: too slow for the whole sample, run on its first rows
    impl = {name: _take(every[name], sample) if name in fast else timed(name, fn, sample_words)
            for name, fn in legs.items() if not (ir_py and name == "da4ml_ir")}
    pairs = _compare(impl, sample_words, names)
    if ir_py:
        pairs += _ir_pairs(lambda w: timed("da4ml_ir", legs["da4ml_ir"], w), impl, sample_words[:IR_PYTHON_EVENTS], names)

    raw = None
    if adc_file is not None and trained:
        from trigger.data.stream import read_particles_at

        r = legs["qkeras_mu"](sample_words.astype(np.int64), _unrounded_inputs(read_particles_at(adc_file, sample), cfg, scaling))
        raw = _pair_stats("qkeras_unrounded", r, "emulator", impl["emulator"], sample_words, names)

    # the emulator's scores of every event find those at each threshold's edges (and which edge values none reaches)
    edge_words = edge_cases(emu)
    _, edge_score, _ = emu.run(np.concatenate(list(edge_words.values())))
    edge_words["threshold_edges"], reached = threshold_edges(
        emu, [words, extra, *edge_words.values()], np.concatenate([big_out["emulator"].score, edge_score]))
    # a set this design has no words for (single_object on a design without objects) is left out, not shown as 0 events
    edges = {name: _compare_legs(legs, w.astype(np.int64), names, ir_py) for name, w in edge_words.items() if len(w)}

    ref = None
    if reference_bits:
        from trigger.data.testvectors import read_algo_bits

        algo = read_algo_bits(input_file, len(words))
        e = every["emulator"]
        ref = reference_comparison(words, e.bits, names, algo, list(reference_bits), e.score, e.mu)

    result = {
        "design": emu.design.name,
        "design_sha256": emu.design.sha256(),
        "rtl_sha256": vsim.sha256,
        "sources": sources,
        "events": int(len(words)),
        "sample_events": int(len(sample)),
        "da4ml_ir_note": (f"da4ml's Python interpreter (its C++ one is not exact past 32 bits; this design's widest "
                          f"value has {_ir_width(comb)} bits) on the first {min(IR_PYTHON_EVENTS, len(sample))} sampled events "
                          "and the first 200 words of each edge-case set")
                         if ir_py else "da4ml's C++ interpreter on every sampled event",
        "qkeras_note": qkeras_note,
        "sample_note": ("every event" if len(sample) == n else
                        f"a seeded uniform sample of {len(sample)} of the {n} events (evaluation.slow_leg_events); the "
                        "emulator and the Verilog were compared on every event (emulator_vs_verilog_large)")
        + (f"; da4ml's interpreter on the first {min(IR_PYTHON_EVENTS, len(sample))} of them (its Python interpreter: "
           f"values of {_ir_width(comb)} bits)" if ir_py else ""),
        "implementations": list(legs),
        "pairs": pairs,
        "qkeras_unrounded_inputs": raw,
        "emulator_vs_verilog_large": big_pair,
        "edge_cases": edges,
        "threshold_edges_reached": reached,
        "reference_bits": ref,
        "hls_weight_files_disagree": weight_files,
        "all_exact": not weight_files and all(p["mismatches"] == 0 for p in pairs)
        and big_pair["mismatches"] == 0
        and all(p["mismatches"] == 0 for v in edges.values() for p in v),
        "events_per_second": {k: v["events"] / v["seconds"] for k, v in timings.items()},
        "seconds": time.perf_counter() - t0,
    }
    write_json(out / "bit_accuracy.json", result)
    atomic_write_text(out / "bit_accuracy.md", render_markdown(result))
    return result


def render_markdown(r: dict) -> str:
    lines = [
        "# Bit-accuracy report",
        "",
        f"Design `{r['design']}` (sha256 {r['design_sha256'][:16]}). Events compared: **{r['events']}** ({', '.join(r['sources'])}). "
        f"All implementations bit-exact everywhere: **{'yes' if r['all_exact'] else 'NO'}**.",
        "",
        "Implementations: " + ", ".join(r["implementations"]) + ". `verilog` simulates the emitted Verilog, reset/valid "
        f"wrapper included (`rtl/src`, sha256 {r['rtl_sha256'][:16]}), with Verilator, one event per clock; `da4ml_ir` is "
        "da4ml's interpreter of the combinational graph the Verilog is generated from (`rtl/model/comb.json`): "
        f"{r.get('da4ml_ir_note', '')}."
        + (f" `qkeras_mu` (trained builds): mu from the QKeras model's predict; {r['qkeras_note']}." if r.get("qkeras_note") else ""),
        "",
        "| pair | events | all outputs exact | score exact | mu exact (per element) | bits exact | max diff mu / score [LSB] |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = list(r["pairs"]) + [r["emulator_vs_verilog_large"]] + ([r["qkeras_unrounded_inputs"]] if r["qkeras_unrounded_inputs"] else [])
    for p in rows:
        mu = ", ".join(f"{x:.4%}" for x in p["exact_fraction_mu"])
        bits = ", ".join(f"{k}: {v:.4%}" for k, v in p["exact_fraction_bits"].items())
        lines.append(
            f"| {p['pair']} | {p['events']} | {p['exact_fraction_all']:.4%} | {p['exact_fraction_score']:.4%} | {mu} | {bits} | "
            f"{p['max_diff_lsb_mu']} / {p['max_diff_lsb_score']} |"
        )
    lines += ["", "`qkeras_unrounded` feeds QKeras the physics values before rounding to L1 words: differences there "
              "show the effect of the L1 input quantisation, not a firmware error.", "", "## Edge cases", "",
              "| case | events | pairs exact |", "|---|---|---|"]
    for name, pairs in r["edge_cases"].items():
        ok = sum(p["mismatches"] == 0 for p in pairs)
        lines.append(f"| {name} | {pairs[0]['events']} | {ok}/{len(pairs)} |")
    if r.get("threshold_edges_reached"):
        miss = [k for k, v in r["threshold_edges_reached"].items() if not v]
        lines += ["", "`threshold_edges`: events whose score is exactly T-1, T or T+1 of a threshold, and the highest score "
                  "reached. " + (f"No compared event reaches: {', '.join(miss)}." if miss else "Every one of these values is reached.")]
    bad = [p for p in rows + [q for v in r["edge_cases"].values() for q in v] if p["first_mismatches"]]
    if bad:
        lines += ["", "## First mismatches", ""]
        for p in bad:
            for m in p["first_mismatches"]:
                lines.append(f"- {p['pair']}, event {m['index']}: words {m['words']}")
                for k, v in m.items():
                    if isinstance(v, dict):
                        lines.append(f"  - {k}: mu {v['mu']}, score {v['score']}, bits {v['bits']}")
    if r.get("hls_weight_files_disagree"):
        lines += ["", "## HLS weight files", "", "hls4ml writes each weight twice, `.h` for synthesis and `.txt` for its own C "
                  "simulation; the C simulation here uses the `.h` values. These disagree: " + ", ".join(r["hls_weight_files_disagree"])]
    ref = r.get("reference_bits")
    if ref:
        lines += ["", "## Against the reference bits of the input file", "",
                  f"Total disagreements: **{ref['total_disagreements']}**.", "",
                  "| threshold | reference column | events | ours fired | reference fired | disagreements |", "|---|---|---|---|---|---|"]
        lines += [f"| {p['threshold']} | {p['reference_column']} | {p['events']} | {p['ours_fired']} | {p['reference_fired']} | {p['disagreements']} |"
                  for p in ref["per_threshold"]]
        for d in ref["disagreements"]:
            lines.append(f"- event {d['index']}, {d['threshold']}: ours {d['ours']}, reference {d['reference']}, score {d['score']}, "
                         f"mu {d['mu']}, words {d['words']}")
    lines += ["", "## Speed (events/s, this run)", ""]
    lines += [f"- {k}: {v:,.0f}" for k, v in r["events_per_second"].items()]
    return "\n".join(lines) + "\n"

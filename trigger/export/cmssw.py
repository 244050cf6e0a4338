"""`trigger export cmssw`: the design as a CMSSW emulator plug-in (hls4mlEmulator::Model), built with g++.

The package holds the design's HLS C++ (NN/: scaling, network, score in the design's types; weights compiled in)
and a generated emulator class that applies the data conventions of the CMSSW module that loads it, chosen by the
design's inputs: 57 object words -> the Global Trigger's AXOL1TL condition; 252 region words -> the calorimeter
Layer-1 summary (CICADA). The export refuses a design whose values CMSSW's types cannot carry exactly (it never
converts silently).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigger.data.layout import N_FEATURES
from trigger.data.regions import N_REGIONS
from trigger.design import Design
from trigger.firmware.templates import TEMPLATES, render
from trigger.design.fixed import FixedType, Overflow

CMSSW_INPUT = FixedType.parse("ap_fixed<18,13>")
LOSS = FixedType.parse("ap_ufixed<18,14>")  # CMSSW multiplies it by 16 and compares with the menu threshold
MU_FIRST = FixedType.parse("ap_fixed<10,7,AP_RND_CONV,AP_SAT>")
MU_FIRST_SIZE = 8
SCORE_FIRST = FixedType.parse("ap_fixed<18,14,AP_RND_CONV,AP_SAT>")
MU_MODELS = ("GTADModel_v3", "GTADModel_v4")  # CMSSW reads mu as the pair's first member for these names only
REGION_WORD = FixedType.parse("ap_uint<10>")  # the calorimeter summary hands CICADA 252 of these
MARKER = "trigger_export.json"


class ExportError(ValueError):
    """The design cannot be delivered in CMSSW's types without changing a value, or the package cannot be built."""


@dataclass(frozen=True)
class Plan:
    model: str
    first: str  # "mu" or "score": what the result pair's first member carries; "calo": no pair, the score itself
    loss_exact: bool  # the loss equals the score; else it is the score truncated and saturated into LOSS
    first_exact: bool  # the first member equals mu / the score; else the score rounded into SCORE_FIRST
    thresholds: list[tuple[str, int]]  # menu thresholds in CMSSW's units (loss x 16)


def _reachable(analysis, name: str) -> tuple[float, float]:
    lo, hi = analysis.ranges[name]
    return float(np.min(lo)), float(np.max(hi))


def _fits(t: FixedType, lo: float, hi: float, target: FixedType) -> bool:
    return t.frac <= target.frac and lo >= target.min_value and hi <= target.max_value


def _refuse_unfit(what: str, t: FixedType, lo: float, hi: float, target: FixedType, why: str) -> ExportError:
    return ExportError(f"{what} ({t.hls()}, reachable [{lo:g}, {hi:g}]) does not fit CMSSW's {target.hls()} "
                       f"(range [{target.min_value:g}, {target.max_value:g}], {target.frac} fractional bits){why}")


def _menu_thresholds(design: Design, lo: float, hi: float) -> list[tuple[str, int]]:
    """Each threshold in loss x 16 units, such that CMSSW's `loss x 16 >= T` decides as `raw(score) >= raw`
    for every reachable score, the loss being the score truncated and saturated into LOSS; else refuse."""
    t = design.score_type
    k = t.frac - LOSS.frac  # fraction bits the truncation drops (negative: none, the loss has more)
    top = LOSS.int_max
    out = []
    for th, raw in zip(design.thresholds, design.threshold_raw()):
        raw = int(raw)
        menu = raw >> k if k > 0 else raw << -k
        why = None
        if k > 0 and raw % (1 << k):
            g = raw >> k << k
            why = (f"is not on the loss grid of 2^-{LOSS.frac}: the truncated loss cannot separate raw scores {g}..{raw - 1} "
                   f"(below the threshold) from {raw} (at it); nearest grid thresholds {g} and {g + (1 << k)}")
        elif lo < 0 and menu <= 0:
            why = "is at or below 0 while the score can be negative: the loss saturates those scores to 0"
        elif hi * 16 > top and menu > top:
            why = f"lies above the loss's maximum ({LOSS.max_value:g}) while scores reach it: the loss saturates"
        if why:
            raise ExportError(f"threshold {th.name!r} (raw {raw} of {t.hls()}) {why}. CMSSW's loss is {LOSS.hls()}: "
                              "give the design a score type that it holds, or thresholds on its grid")
        out.append((th.name, menu))
    return out


def _check_words(design: Design) -> None:
    for i, w in enumerate(design.inputs):
        scale = 2 if i % 3 == 0 else 1  # pT words count 0.5 GeV steps: CMSSW's integer GeV x 2
        lo, hi = CMSSW_INPUT.min_value * scale, CMSSW_INPUT.max_value * scale
        if w.type.int_min < lo or w.type.int_max > hi:
            raise ExportError(f"inputs[{i}] ({w.name}): words of {w.type.hls()} reach [{w.type.int_min}, {w.type.int_max}], "
                              f"CMSSW's ap_fixed<18,13> delivers [{lo:g}, {hi:g}]{' after x2' if scale == 2 else ''}")


def default_model_name(design: Design) -> str:
    """GTADModel_<name> for a Global Trigger design, CICADA_<name> (a leading `cicada_` dropped) for a calorimeter one."""
    name = re.sub(r"\W", "_", design.name)
    if design.n_inputs == N_REGIONS:
        return "CICADA_" + re.sub(r"(?i)^cicada_?", "", name)
    return "GTADModel_" + name


def _calo_plan(design: Design, model: str) -> Plan:
    """CICADA's convention: ap_uint<10>* in (252 regions, 14 * iphi + ieta), a pointer to the score's type out."""
    for i, w in enumerate(design.inputs):
        if w.type.int_min < REGION_WORD.int_min or w.type.int_max > REGION_WORD.int_max:
            raise ExportError(f"inputs[{i}] ({w.name}): words of {w.type.hls()} reach [{w.type.int_min}, {w.type.int_max}], "
                              f"the calorimeter summary delivers {REGION_WORD.hls()} [0, {REGION_WORD.int_max}]")
    lsb = design.score_type.lsb
    return Plan(model, "calo", True, True, [(t.name, int(r) * lsb) for t, r in zip(design.thresholds, design.threshold_raw())])


def plan(design: Design, model: str) -> Plan:
    """Check that CMSSW's types carry the design's words, score (and mu) exactly; the menu thresholds."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", model):
        raise ExportError(f"--model-name {model!r}: must be a C++ identifier (it names the library and the namespace)")
    if design.n_inputs == N_REGIONS:
        return _calo_plan(design, model)
    if design.n_inputs != N_FEATURES:
        raise ExportError(f"design {design.name!r} has {design.n_inputs} inputs; CMSSW delivers {N_FEATURES} to the Global "
                          f"Trigger's AXOL1TL condition (MET, 4 e/gamma, 4 muons, 10 jets x pT, eta, phi) and "
                          f"{N_REGIONS} to the calorimeter summary's CICADA (18 x 14 region ET words)")
    from trigger.design.intervals import analyse

    _check_words(design)
    analysis = analyse(design)
    t = design.score_type
    lo, hi = _reachable(analysis, design.score_node.name)
    loss_exact = _fits(t, lo, hi, LOSS)
    thresholds = _menu_thresholds(design, lo, hi)  # refuses where the loss would change a decision
    if model in MU_MODELS:
        if design.latent != MU_FIRST_SIZE:
            raise ExportError(f"{model} hands CMSSW {MU_FIRST_SIZE} mu values; design {design.name!r} exposes "
                              f"{design.latent} ({design.exposed!r}); name the model otherwise (e.g. GTADModel_v5) to deliver the score")
        m_lo, m_hi = _reachable(analysis, design.exposed)
        if not _fits(design.mu_type, m_lo, m_hi, MU_FIRST):
            raise _refuse_unfit(f"mu (tensor {design.exposed!r})", design.mu_type, m_lo, m_hi, MU_FIRST, "")
        return Plan(model, "mu", loss_exact, True, thresholds)
    return Plan(model, "score", loss_exact, _fits(t, lo, hi, SCORE_FIRST), thresholds)


_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def preincludes(nn: Path, ap_types: Path) -> list[str]:
    """The system and ap_types headers that the model's sources reach: included before the model's namespace
    opens, so that their guards keep them out of it (hls4ml's own headers end up inside it)."""
    system, ap, seen = set(), set(), set()
    todo = [nn / "trigger_top.h", nn / "firmware" / "myproject.cpp", nn / "trigger_top.cpp"]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for kind, name in _INCLUDE.findall(f.read_text()):
            if kind == "<":
                system.add(name)
                continue
            local = [d / name for d in (f.parent, nn, nn / "firmware") if (d / name).is_file()]
            if local and ap_types not in local[0].resolve().parents:
                todo.append(local[0].resolve())
            elif (ap_types / name).is_file():
                ap.add(name)
    return [f"#include <{s}>" for s in sorted(system)] + [f'#include "{a}"' for a in sorted(ap, key=lambda a: (not a.startswith("ap_"), a))]


def _result_code(p: Plan) -> tuple[str, str, str]:
    """(first member's type, its description, the statements filling the result pair)."""
    loss = ("        r->second = score_[0];  // exact: the loss type holds every reachable score" if p.loss_exact else
            f"        // the score truncated and saturated into the loss: decisions unchanged at thresholds.txt (checked)\n"
            f"        r->second = {LOSS.with_modes(overflow=Overflow.SAT).hls()}(score_[0]);")
    if p.first == "mu":
        t = f"std::array<{MU_FIRST.hls()}, {MU_FIRST_SIZE}>"
        return t, t, f"        for (int j = 0; j < {MU_FIRST_SIZE}; j++) r->first[j] = mu_[j];  // exact (checked)\n{loss}"
    how = "exact (checked)" if p.first_exact else f"rounded and saturated into {SCORE_FIRST.hls()}: NOT exact, decisions use the loss"
    return SCORE_FIRST.hls(), f"{SCORE_FIRST.hls()} (the score)", f"        r->first = score_[0];  // {how}\n{loss}"


def write_package(cfg, design: Design, out: Path, p: Plan) -> None:
    """Every file of the package into out (the .so is built separately, by its Makefile)."""
    from trigger.firmware.hls import fix_stamp, write_hls

    nn = out / "NN"
    write_hls(cfg, design, nn, weights_txt=False)
    fix_stamp(nn, design)
    first_type, first_doc, first_code = _result_code(p) if p.first != "calo" else ("", "", "")
    values = {
        "MODEL": p.model, "NAME": design.name, "DESIGN_SHA": design.sha256(), "N_INPUTS": design.n_inputs,
        "PREINCLUDES": "\n".join(preincludes(nn, nn / "firmware" / "ap_types")),
        "FIRST_TYPE": first_type, "FIRST_DOC": first_doc, "FIRST_CODE": first_code,
        "INPUT_NAMES": ", ".join(f'"{w.name}"' for w in design.inputs),
        "IS_PT": ", ".join("true" if i % 3 == 0 else "false" for i in range(design.n_inputs)),
        "WORD_MIN": ", ".join(str(w.type.int_min) for w in design.inputs),
        "WORD_MAX": ", ".join(str(w.type.int_max) for w in design.inputs),
        "THRESHOLDS": "\n".join(f"| {n} | {v} |" for n, v in p.thresholds) or "| (none) | |",
        "CONVENTION": _convention_doc(p, design),
        "THRESHOLD_UNITS": "the score's value (CMSSW compares the score with them)" if p.first == "calo" else "loss x 16",
        "LOSS_KIND": _loss_kind(p),
    }
    src = TEMPLATES / "cmssw"
    for rel, dest in (("model_calo.cpp" if p.first == "calo" else "model.cpp", f"{p.model}.cpp"), ("Makefile", "Makefile"), ("README.md", "README.md"),
                      ("include/hls4ml/emulator.h", "include/hls4ml/emulator.h")):
        (out / dest).parent.mkdir(parents=True, exist_ok=True)
        (out / dest).write_text(render((src / rel).read_text(), values, str(src / rel)))
    (out / "thresholds.txt").write_text("".join(f"{n} {v}\n" for n, v in p.thresholds))
    (out / MARKER).write_text(json.dumps({"model": p.model, "design": design.name, "design_sha256": design.sha256(),
                                          "first": p.first, "loss_exact": p.loss_exact, "first_exact": p.first_exact,
                                          _threshold_key(p): dict(p.thresholds)}, indent=1) + "\n")


def _threshold_key(p: Plan) -> str:
    return "thresholds_score" if p.first == "calo" else "thresholds_loss_x16"


def _convention_doc(p: Plan, design: Design) -> str:
    if p.first == "calo":
        return (f"Data conventions (those of CMSSW's calorimeter Layer-1 summary, as for CICADA): `prepare_input` takes "
                f"`{REGION_WORD.hls()}*` pointing at the {N_REGIONS} region ET words (0.5 GeV steps, index 14 * iphi + "
                f"ieta), copied unchanged into the design's words (`std::out_of_range` for a value outside a word's type); "
                f"`read_result` takes a pointer to the score's type, `{design.score_type.hls()}`, and receives the score "
                f"exactly.")
    return ("Data conventions (those of CMSSW's AXOL1TL condition): `prepare_input` takes `ap_fixed<18,13>*` pointing "
            f"at the {N_FEATURES} unscaled inputs, pT = hardware pT / 2 as an integer (the 0.5 GeV bit is dropped before "
            "the model sees it), eta and phi hardware integers; the plug-in turns them into the design's words (pT x 2) "
            "and throws `std::out_of_range` for a value that is no word of the design. `read_result` fills a "
            f"`std::pair<FIRST, ap_ufixed<18,14>>*`: FIRST carries {_first_kind(p)}, the second member (the loss) "
            f"{_loss_kind(p)}.")


def _first_kind(p: Plan) -> str:
    return "mu (8 values)" if p.first == "mu" else "the score" + ("" if p.first_exact else f" rounded into {SCORE_FIRST.hls()}")


def _loss_kind(p: Plan) -> str:
    return "the score, exactly" if p.loss_exact else "the score truncated and saturated into it (decisions checked unchanged)"


def build_library(pkg: Path, model: str, cxxflags: str | None = None) -> Path:
    cmd = ["make", "-s", "-C", str(pkg)] + ([f"CXXFLAGS={cxxflags}"] if cxxflags else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ExportError(f"building {pkg / (model + '.so')} failed:\n{(res.stdout + res.stderr)[-3000:]}")
    return pkg / f"{model}.so"


def export_cmssw(build: Path, out: Path, model: str | None = None, cxxflags: str | None = None) -> dict:
    """Write and build the plug-in package of BUILD's design in OUT (written aside, then moved into place); the
    model name defaults to default_model_name(design)."""
    from trigger.config import load_config
    from trigger.design import load_design

    build, out = Path(build), Path(out)
    design = load_design(build / "design.yaml")
    model = model or default_model_name(design)
    cfg = load_config(build / "config.yaml" if (build / "config.yaml").is_file() else None)
    p = plan(design, model)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ExportError(f"{out} exists and is no package of `trigger export cmssw`: not overwriting it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_package(cfg, design, tmp, p)
        build_library(tmp, model, cxxflags)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"package": str(out), "library": str(out / f"{model}.so"), "model": model, "first": p.first,
            "loss_exact": p.loss_exact, "first_exact": p.first_exact, _threshold_key(p): dict(p.thresholds)}

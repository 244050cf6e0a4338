"""Two designs ORed into one graph design: score = max(unscaled score, c x scaled score), c = m / 2^k > 0.

An OR of two triggers with thresholds t_a, t_b is one threshold T on this score where T = t_a and c t_b = T (c =
t_a / t_b when b is scaled): choosing c fixes how the rate is shared between the two parts, and every threshold of
the design is then an OR of both. The two designs must read the same inputs through the same scaling; each keeps its
nodes (names prefixed with its label), every cast as it was, and the two new nodes are exact: the product by c in a
type that holds it, the maximum in the union of both types.
"""

from __future__ import annotations

from trigger.design import Design, DesignError, design_from_dict
from trigger.design.fixed import FixedType


def scale_type(m: int, k: int) -> FixedType:
    """The unsigned type of c = m / 2^k: m's bits, k of them fraction bits (k may exceed them, or be negative)."""
    w = max(int(m).bit_length(), 1)
    return FixedType(w, w - k, signed=False)


def scaled_type(t: FixedType, c: FixedType) -> FixedType:
    """Every product of a t value and a c value, exactly."""
    return FixedType(t.width + c.width, t.integer + c.integer, t.signed)


def union_type(*types: FixedType) -> FixedType:
    """The narrowest type holding every value of each of `types` (an unsigned one takes a sign bit in a signed union)."""
    signed = any(t.signed for t in types)
    integer = max(t.integer + (1 if signed and not t.signed else 0) for t in types)
    frac = max(t.frac for t in types)
    return FixedType(integer + frac, integer, signed)


def _renamed(node: dict, prefix: str) -> dict:
    d = dict(node, name=prefix + node["name"])
    ren = lambda t: t if t == "input" else prefix + t  # noqa: E731 - the scaling's output is shared
    if "inputs" in d:
        d["inputs"] = [ren(t) for t in d["inputs"]]
    else:
        d["input"] = ren(d["input"])
    return d


def or_score_type(types: list[FixedType], scaled: int, m: int, k: int) -> FixedType:
    """The combined score's type: the union of the unscaled part's and the scaled product's."""
    return union_type(types[1 - scaled], scaled_type(types[scaled], scale_type(m, k)))


def or_designs(parts: list[tuple[str, Design]], scaled: int, m: int, k: int, name: str, thresholds: list[dict]) -> Design:
    """parts: two (label, design); `scaled`: the index of the part whose score is multiplied by c = m / 2^k. The
    firmware's second output is the first part's exposed tensor. Thresholds: {name, raw[, rate_khz]} on the combined
    score's type (or_score_type)."""
    (la, a), (lb, b) = parts
    da, db = a.to_dict(), b.to_dict()
    for key in ("inputs", "scaling"):
        if da[key] != db[key]:
            raise DesignError(f"{key}: parts {la!r} and {lb!r} differ; an OR of two designs needs the same {key}")
    if m <= 0:
        raise DesignError(f"scale {m} / 2^{k}: it must be positive")
    pre = [f"{la}_", f"{lb}_"]
    nodes = [_renamed(n.to_dict(), p) for p, d in zip(pre, (a, b)) for n in d.nodes]
    scores = [p + d.score_node.name for p, d in zip(pre, (a, b))]
    types = [d.score_type for d in (a, b)]
    c = scale_type(m, k)
    st = scaled_type(types[scaled], c)
    nodes.append({"name": "or_scaled", "op": "dense", "input": scores[scaled], "weight": [[m * c.lsb]], "bias": [0.0],
                  "weight_type": c.hls(), "bias_type": c.hls(), "accum_type": st.hls(), "result_type": st.hls()})
    nodes.append({"name": "score", "op": "maximum", "inputs": [scores[1 - scaled], "or_scaled"],
                  "type": or_score_type(types, scaled, m, k).hls()})
    d = {"format": "trigger-design/2", "name": name, "inputs": da["inputs"], "scaling": da["scaling"], "nodes": nodes,
         "score": "score", "expose": pre[0] + a.exposed, "thresholds": thresholds}
    return design_from_dict(d, f"the OR of {la!r} and {lb!r}")

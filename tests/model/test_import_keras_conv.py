"""`trigger import --keras` with a convolution: QConv2D + Flatten become a `trigger-design/2` graph whose emulator
computes what the QKeras model computes (types wide enough that nothing rounds, so Keras's float arithmetic is the
exact reference), through the command line; what a conv2d node cannot state is refused by name."""

import subprocess
import sys

import numpy as np
import pytest
import yaml

from emulator import Emulator
from trigger.design import DesignError

IMAGE = (6, 8, 2)  # rows, columns, channels: two channels make the (kh, kw, c, f) order and the flatten visible


def _model(padding="valid"):
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    inp = tf.keras.Input(shape=(int(np.prod(IMAGE)),), name="regions")
    h = tf.keras.layers.Reshape(IMAGE, name="image")(inp)
    h = QConv2D(3, (2, 3), strides=(2, 1), padding=padding, kernel_quantizer=quantized_bits(4, 1, alpha=1),
                bias_quantizer=quantized_bits(4, 1, alpha=1), name="conv")(h)
    h = QActivation("relu", name="conv_act")(h)
    h = tf.keras.layers.Flatten(name="flat")(h)
    h = QDense(4, kernel_quantizer=quantized_bits(4, 1, alpha=1), bias_quantizer=quantized_bits(4, 1, alpha=1),
               activation="relu", name="fc")(h)
    out = QDense(1, kernel_quantizer=quantized_bits(4, 1, alpha=1), bias_quantizer=quantized_bits(4, 1, alpha=1), name="out")(h)
    model = tf.keras.Model(inp, out, name="tinycnn")
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.8, w.shape) for w in layer.get_weights()])
    return model


WIDE = "ap_fixed<32,18>"
HLS = {"Model": {"Precision": {"weight": "ap_fixed<4,2>", "bias": "ap_fixed<4,2>", "accum": WIDE, "result": WIDE}},
       "LayerName": {"conv_act": {"Precision": {"result": "ap_ufixed<32,18>"}},
                     "fc_relu": {"Precision": {"result": "ap_ufixed<32,18>"}}}}
N_IN = int(np.prod(IMAGE))
SPEC = {"name": "tinycnn", "inputs": [{"name": f"r{i}", "type": "ap_uint<3>"} for i in range(N_IN)],
        "scaling": {"offset": [0] * N_IN, "offset_type": "ap_int<4>", "shift": [0] * N_IN,
                    "intermediate": "ap_fixed<12,8>", "output": "ap_uint<3>"},
        "score": "output", "thresholds": [{"name": "t", "raw": 64}]}


def test_conv_model_imports_as_the_same_function(tmp_path):
    model = _model()
    path = tmp_path / "tinycnn.h5"
    model.save(path)
    (tmp_path / "hls.yaml").write_text(yaml.safe_dump(HLS))
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    res = subprocess.run([sys.executable, "-m", "trigger.cli", "import", "--keras", str(path), "--hls4ml-config",
                          str(tmp_path / "hls.yaml"), "--spec", str(tmp_path / "spec.yaml"), "--build", str(tmp_path / "b")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    emu = Emulator.load(tmp_path / "b")
    d = emu.design
    assert d.format == "trigger-design/2" and [n.op for n in d.nodes] == ["conv2d", "relu", "dense", "relu", "dense"]
    conv = d.node("conv")
    assert conv.in_shape == IMAGE and conv.kernel == (2, 3) and conv.strides == (2, 1)
    q = model.get_layer("conv").kernel_quantizer_internal(model.get_layer("conv").kernel).numpy()
    assert np.array_equal(conv.weight * conv.weight_type.lsb, q.reshape(-1, 3))  # rows in (kh, kw, c) order
    words = np.random.default_rng(1).integers(0, 8, size=(3000, N_IN))
    _, score, _ = emu.run(words)
    keras = model.predict(words.astype(np.float32), verbose=0)[:, 0].astype(np.float64)
    assert np.abs(keras).max() > 1 and np.unique(keras).size > 500
    assert np.array_equal(score * d.score_type.lsb, keras)
    flipped = words.reshape(-1, *IMAGE)[:, :, :, ::-1].reshape(len(words), -1)  # channels swapped: must differ
    assert not np.array_equal(emu.run(flipped)[1] * d.score_type.lsb, keras)


def test_what_a_conv2d_node_cannot_state_is_refused(tmp_path):
    import tensorflow as tf

    from trigger.model.importer import design_from_keras

    with pytest.raises(DesignError, match="layer 'conv': padding='same'; a conv2d node takes padding='valid'"):
        design_from_keras(_model(padding="same"), HLS, SPEC, "test")
    inp = tf.keras.Input(shape=(4,))
    a = tf.keras.layers.Dense(4, name="a")(inp)
    b = tf.keras.layers.Dense(1, name="b")(inp)  # reads the input, not `a`: a branch
    with pytest.raises(DesignError, match="layer 'b' does not read the layer before it"):
        design_from_keras(tf.keras.Model(inp, [a, b]), HLS, SPEC, "test")
    with pytest.raises(DesignError, match="spec score: 'last'"):
        design_from_keras(_model(), HLS, {**SPEC, "score": "last"}, "test")

"""Keras 3 models whose model.to_json() texts are the fixtures of convlab's Keras import.

Writes tests/golden/keras/<name>.json (the to_json text, indented) and
tests/golden/keras/counts.json (Keras's count_params, trainable count and layer names per model).
Models whose name starts with "error_" are ones the import must refuse.

Run from the repository root:
    scripts/setup-keras.sh
    KERAS_BACKEND=jax .cache/keras-venv/bin/python scripts/golden/keras_models.py
"""

import json
import math
import os
from functools import partial

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "keras")


def fashion_cnn():
    """The chapter's Fashion-MNIST CNN (Sequential, with the long pooling name)."""
    conv = partial(layers.Conv2D, kernel_size=3, activation="relu", padding="same")
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="images"),
            conv(filters=64, kernel_size=7, name="conv1"),
            layers.MaxPooling2D(name="pool1"),
            conv(filters=128, name="conv2"),
            conv(filters=128, name="conv3"),
            layers.MaxPooling2D(name="pool2"),
            conv(filters=256, name="conv4"),
            conv(filters=256, name="conv5"),
            layers.MaxPooling2D(name="pool3"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", name="fc1"),
            layers.Dropout(0.5, name="drop1"),
            layers.Dense(64, activation="relu", name="fc2"),
            layers.Dropout(0.5, name="drop2"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="fashion_mnist_cnn",
    )


def residual_inception():
    """Functional: a residual unit (Add) and an inception-like module (Concatenate)."""
    x = keras.Input(shape=(32, 32, 3), name="image")
    stem = layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(x)
    a = layers.Conv2D(16, 3, padding="same", activation="relu", name="res_conv1")(stem)
    a = layers.Conv2D(16, 3, padding="same", name="res_conv2")(a)
    a = layers.Add(name="res_add")([stem, a])
    a = layers.Activation("relu", name="res_relu")(a)
    b1 = layers.Conv2D(8, 1, activation="relu", name="inc_1x1")(a)
    b2 = layers.Conv2D(8, 1, activation="relu", name="inc_3x3_reduce")(a)
    b2 = layers.Conv2D(12, 3, padding="same", activation="relu", name="inc_3x3")(b2)
    b3 = layers.Conv2D(4, 1, activation="relu", name="inc_5x5_reduce")(a)
    b3 = layers.Conv2D(6, 5, padding="same", activation="relu", name="inc_5x5")(b3)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name="inc_pool")(a)
    b4 = layers.Conv2D(6, 1, activation="relu", name="inc_pool_proj")(b4)
    c = layers.Concatenate(name="inc_concat")([b1, b2, b3, b4])
    c = layers.AveragePooling2D(2, name="avg")(c)
    c = layers.GlobalMaxPooling2D(name="gmp")(c)
    y = layers.Dense(10, activation="softmax", name="logits")(c)
    return keras.Model(x, y, name="residual_inception")


def mobile_blocks():
    """Depthwise/separable convs, batch norm, zero padding, ReLU(6), squeeze-and-excitation."""
    x = keras.Input(shape=(32, 32, 3), name="input_image")
    h = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    h = layers.Conv2D(16, 3, strides=2, use_bias=False, name="conv")(h)
    h = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="conv_bn")(h)
    h = layers.ReLU(6.0, name="conv_relu6")(h)
    h = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False, name="dw")(h)
    h = layers.BatchNormalization(center=False, name="dw_bn")(h)
    h = layers.ReLU(name="dw_relu")(h)
    s = layers.GlobalAveragePooling2D(name="se_squeeze")(h)
    s = layers.Dense(8, activation="relu", name="se_reduce")(s)
    s = layers.Dense(32, activation="sigmoid", name="se_expand")(s)
    s = layers.Reshape((1, 1, 32), name="se_reshape")(s)
    h = layers.Multiply(name="se_scale")([h, s])
    h = layers.SeparableConv2D(24, 3, padding="same", depth_multiplier=1, name="sep")(h)
    h = layers.BatchNormalization(scale=False, name="sep_bn")(h)
    h = layers.LeakyReLU(name="sep_leaky")(h)
    h = layers.MaxPooling2D(2, name="max_pool")(h)
    h = layers.AveragePooling2D(2, strides=1, padding="same", name="avg_pool")(h)
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    h = layers.Dropout(0.2, name="dropout")(h)
    h = layers.Dense(10, name="dense")(h)
    y = layers.Softmax(name="softmax")(h)
    return keras.Model(x, y, name="mobile_blocks")


def dense_misc():
    """A chain in the Functional API with Identity, Reshape-to-flat, ELU, Activation layers."""
    x = keras.Input(shape=(8, 8, 2), name="x")
    h = layers.Conv2D(4, 3, activation="selu", name="conv")(x)
    h = layers.Identity(name="identity")(h)
    h = layers.Reshape((144,), name="to_flat")(h)
    h = layers.Dense(16, activation="tanh", name="fc")(h)
    h = layers.ELU(name="elu")(h)
    h = layers.Activation("sigmoid", name="act")(h)
    y = layers.Dense(3, use_bias=False, name="out")(h)
    return keras.Model(x, y, name="dense_misc")


def error_lambda():
    """A Lambda layer: convlab has no arbitrary Python."""
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, 3, name="conv2d"),
            layers.Lambda(lambda t: t * 2.0, name="lambda_3"),
            layers.Flatten(),
            layers.Dense(2),
        ],
        name="with_lambda",
    )


def error_nested():
    """A Functional model used as a layer of a Sequential."""
    i = keras.Input(shape=(8, 8, 1))
    inner = keras.Model(i, layers.Conv2D(2, 3)(i), name="inner_block")
    return keras.Sequential(
        [keras.Input(shape=(8, 8, 1)), inner, layers.Flatten(), layers.Dense(2)], name="nested"
    )


MODELS = [fashion_cnn, residual_inception, mobile_blocks, dense_misc, error_lambda, error_nested]


def main():
    os.makedirs(OUT, exist_ok=True)
    counts = {}
    for build in MODELS:
        name = build.__name__
        model = build()
        text = json.dumps(json.loads(model.to_json()), indent=1)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            f.write(text + "\n")
        trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
        counts[name] = {
            "params": model.count_params(),
            "trainable": int(trainable),
            "layers": [layer.name for layer in model.layers],
        }
        print(name, counts[name]["params"], counts[name]["trainable"])
    with open(os.path.join(OUT, "counts.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "models": counts}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

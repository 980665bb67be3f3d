"""Writes tests/golden/keras_zoo_counts.json: parameter counts (total and trainable) and
multiply-adds of every zoo architecture, built independently of convlab in Keras 3, so that
tests/zoo.rs checks the zoo's specs against numbers its own code did not compute.

    scripts/setup-keras.sh        # Keras 3 + jax in .cache/keras-venv
    KERAS_BACKEND=jax .cache/keras-venv/bin/python scripts/golden/keras_zoo_counts.py

Sources, per model:
- vgg16, xception, mobilenet_v2: keras.applications (VGG16, Xception, MobileNetV2 with
  weights=None). Keras's MobileNetV2 has the same parameters and feature-map sizes as
  torchvision's (its stride-2 ZeroPadding2D + "valid" gives the sizes of torchvision's symmetric
  padding 1); it differs only in BN epsilon, which changes no count.
- resnet152, se_resnet50: hand-built here as architectures.md describes them (convs without
  bias, each followed by BN; stride 2 on the first 1x1 conv of a stage's first unit, as in He
  et al.'s original model and keras.applications). Each is cross-checked against
  keras.applications.ResNet152 / ResNet50, whose convs do have biases: removing those biases
  must give exactly the hand-built count, and the multiply-adds must agree.
- everything else (fashion_mnist_cnn, lenet5, lenet5_modern, alexnet, googlenet, resnet34):
  hand-built here from architectures.md. LeNet-5's layers that Keras lacks (the trainable
  subsampling, C3's partial connection table, the RBF output) and LRN are small custom layers
  below whose weights hold exactly the free parameters.

Multiply-adds follow convlab's convention (and the one of published figures such as VGG-16's
15.47 G): those of convolutions (depthwise and pointwise steps included) and dense layers,
per image; for LeNet-5 also the RBF output's distance terms (84 x 10) and only C3's connected
kernels. Pooling, BN, activations and adds count 0.
"""
import json
import math
import pathlib

import keras
from keras import layers as L
from keras import ops

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "keras_zoo_counts.json"

# Published figures the script checks its own builds against (it stops if one disagrees).
PUBLISHED = {
    # Keras Applications' model.summary() totals (keras.io/api/applications rounds them to
    # 138.4M, 22.9M and 3.5M).
    "vgg16_keras_params": 138_357_544,
    "xception_keras_params": 22_910_480,
    "mobilenet_v2_keras_params": 3_538_984,
    # torchvision.models documentation ("Params" column; torch counts no BN statistics).
    "mobilenet_v2_torchvision_params": 3_504_872,
    "resnet34_torchvision_params": 21_797_672,
    "resnet50_torchvision_params": 25_557_032,
    "resnet152_torchvision_params": 60_192_808,
}


# ---------------------------------------------------------------------------------------------
# Layers Keras does not have
# ---------------------------------------------------------------------------------------------


class LRN(L.Layer):
    """tf.nn.local_response_normalization over depth (no weights)."""

    def __init__(self, depth_radius, bias, alpha, beta, **kw):
        super().__init__(**kw)
        self.r, self.k, self.a, self.b = depth_radius, bias, alpha, beta

    def call(self, x):
        c = x.shape[-1]
        sq = ops.pad(ops.square(x), [[0, 0], [0, 0], [0, 0], [self.r, self.r]])
        s = sum(sq[..., i : i + c] for i in range(2 * self.r + 1))
        return x / ops.power(self.k + self.a * s, self.b)


class Subsampling(L.Layer):
    """LeNet-5's S2/S4: each map's 2x2 mean times a trainable coefficient plus a trainable
    bias, then tanh."""

    def build(self, shape):
        self.coefficient = self.add_weight(shape=(shape[-1],), name="coefficient")
        self.bias = self.add_weight(shape=(shape[-1],), name="bias", initializer="zeros")

    def call(self, x):
        pooled = ops.average_pool(x, 2, 2, padding="valid")
        return ops.tanh(pooled * self.coefficient + self.bias)

    def compute_output_shape(self, shape):
        return (shape[0], shape[1] // 2, shape[2] // 2, shape[3])


class PartialConv2D(L.Layer):
    """LeNet-5's C3: filter k reads only the input maps table[k]; one kernel per filter holding
    exactly its free weights, plus one bias per filter."""

    def __init__(self, table, kernel_size, activation, **kw):
        super().__init__(**kw)
        self.table, self.ks, self.act = table, kernel_size, keras.activations.get(activation)

    def build(self, shape):
        self.kernels = [
            self.add_weight(shape=(self.ks, self.ks, len(row), 1), name=f"kernel_{k}")
            for k, row in enumerate(self.table)
        ]
        self.bias = self.add_weight(shape=(len(self.table),), name="bias", initializer="zeros")

    def call(self, x):
        outs = [
            ops.conv(ops.take(x, row, axis=-1), kernel, padding="valid")
            for row, kernel in zip(self.table, self.kernels)
        ]
        return self.act(ops.concatenate(outs, axis=-1) + self.bias)

    def compute_output_shape(self, shape):
        return (shape[0], shape[1] - self.ks + 1, shape[2] - self.ks + 1, len(self.table))


class RBF(L.Layer):
    """LeNet-5's output: squared Euclidean distance of the input to each unit's centre."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units

    def build(self, shape):
        self.centers = self.add_weight(shape=(shape[-1], self.units), name="centers")

    def call(self, x):
        return ops.sum(ops.square(ops.expand_dims(x, -1) - self.centers), axis=1)

    def compute_output_shape(self, shape):
        return (shape[0], self.units)


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------


def multiply_adds(model):
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += multiply_adds(layer)
            continue
        counted = (L.SeparableConv2D, L.DepthwiseConv2D, L.Conv2D, L.Dense, PartialConv2D, RBF)
        if not isinstance(layer, counted):
            continue
        inp = layer.input.shape
        out = layer.output.shape
        cells = math.prod(out[1:-1])
        cin = inp[-1]
        if isinstance(layer, L.SeparableConv2D):
            kh, kw = layer.kernel_size
            mid = cin * layer.depth_multiplier
            total += cells * (kh * kw * mid + mid * layer.filters)
        elif isinstance(layer, L.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            total += cells * kh * kw * cin * layer.depth_multiplier
        elif isinstance(layer, L.Conv2D):
            kh, kw = layer.kernel_size
            total += cells * kh * kw * (cin // layer.groups) * layer.filters
        elif isinstance(layer, L.Dense):
            total += cells * cin * layer.units
        elif isinstance(layer, PartialConv2D):
            total += cells * layer.ks * layer.ks * sum(len(r) for r in layer.table)
        elif isinstance(layer, RBF):
            total += cin * layer.units
    return total


def counts(model):
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return {
        "params": int(trainable + frozen),
        "trainable_params": int(trainable),
        "multiply_adds": int(multiply_adds(model)),
    }


def conv_biases(model):
    return sum(
        l.filters for l in model.layers if isinstance(l, L.Conv2D) and l.use_bias
    )


def bn_statistics(model):
    return sum(
        2 * l.input.shape[-1] for l in model.layers if isinstance(l, L.BatchNormalization)
    )


# ---------------------------------------------------------------------------------------------
# The architectures (architectures.md)
# ---------------------------------------------------------------------------------------------


def fashion_mnist_cnn():
    x = inp = keras.Input((28, 28, 1))
    x = L.Conv2D(64, 7, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    for filters in (128, 256):
        x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(128, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(64, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(inp, x)


C3_TABLE = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
    [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5],
]


def lenet5():
    x = inp = keras.Input((32, 32, 1))
    x = L.Conv2D(6, 5, activation="tanh")(x)
    x = Subsampling()(x)
    x = PartialConv2D(C3_TABLE, 5, "tanh")(x)
    x = Subsampling()(x)
    x = L.Conv2D(120, 5, activation="tanh")(x)
    x = L.Flatten()(x)
    x = L.Dense(84, activation="tanh")(x)
    x = RBF(10)(x)
    return keras.Model(inp, x)


def lenet5_modern():
    x = inp = keras.Input((28, 28, 1))
    x = L.ZeroPadding2D(2)(x)
    x = L.Conv2D(6, 5, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(16, 5, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(120, 5, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(84, activation="relu")(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(inp, x)


def lrn():
    # Equation 14-2 with AlexNet's r = 2, alpha = 0.00002, beta = 0.75, k = 1.
    return LRN(depth_radius=1, bias=1.0, alpha=0.00002, beta=0.75)


def alexnet():
    x = inp = keras.Input((227, 227, 3))
    x = L.Conv2D(96, 11, strides=4, activation="relu")(x)
    x = lrn()(x)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Conv2D(256, 5, padding="same", activation="relu")(x)
    x = lrn()(x)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(256, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Flatten()(x)
    x = L.Dense(4096, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(4096, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(1000, activation="softmax")(x)
    return keras.Model(inp, x)


INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def inception(x, n1, n3r, n3, n5r, n5, npool):
    conv = lambda f, k: L.Conv2D(f, k, padding="same", activation="relu")
    b1 = conv(n1, 1)(x)
    b3 = conv(n3, 3)(conv(n3r, 1)(x))
    b5 = conv(n5, 5)(conv(n5r, 1)(x))
    bp = conv(npool, 1)(L.MaxPooling2D(3, 1, padding="same")(x))
    return L.Concatenate()([b1, b3, b5, bp])


def googlenet():
    x = inp = keras.Input((224, 224, 3))
    x = L.Conv2D(64, 7, strides=2, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    x = lrn()(x)
    x = L.Conv2D(64, 1, padding="same", activation="relu")(x)
    x = L.Conv2D(192, 3, padding="same", activation="relu")(x)
    x = lrn()(x)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    for name, numbers in INCEPTION.items():
        if name in ("4a", "5a"):
            x = L.MaxPooling2D(3, 2, padding="same")(x)
        x = inception(x, *numbers)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.4)(x)
    x = L.Dense(1000, activation="softmax")(x)
    return keras.Model(inp, x)


def conv_bn(x, filters, kernel, strides=1):
    x = L.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    return L.BatchNormalization()(x)


def stem(inp):
    x = L.Activation("relu")(conv_bn(inp, 64, 7, 2))
    return L.MaxPooling2D(3, 2, padding="same")(x)


def residual_unit(x, filters, strides):
    y = L.Activation("relu")(conv_bn(x, filters, 3, strides))
    y = conv_bn(y, filters, 3)
    skip = x
    if strides != 1 or x.shape[-1] != filters:
        skip = conv_bn(x, filters, 1, strides)
    return L.Activation("relu")(L.Add()([y, skip]))


def resnet34():
    inp = keras.Input((224, 224, 3))
    x = stem(inp)
    previous = 64
    for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
        x = residual_unit(x, filters, 1 if filters == previous else 2)
        previous = filters
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(1000, activation="softmax")(x)
    return keras.Model(inp, x)


def bottleneck(x, out, strides, se):
    """A bottleneck unit (C/4, C/4, C); the stride on its first 1x1 conv; an SE block on the
    residual branch when se."""
    y = L.Activation("relu")(conv_bn(x, out // 4, 1, strides))
    y = L.Activation("relu")(conv_bn(y, out // 4, 3))
    y = conv_bn(y, out, 1)
    if se:
        s = L.GlobalAveragePooling2D()(y)
        s = L.Dense(out // 16, activation="relu")(s)
        s = L.Dense(out, activation="sigmoid")(s)
        y = L.Multiply()([y, L.Reshape((1, 1, out))(s)])
    skip = x
    if strides != 1 or x.shape[-1] != out:
        skip = conv_bn(x, out, 1, strides)
    return L.Activation("relu")(L.Add()([y, skip]))


def bottleneck_resnet(units, se=False):
    inp = keras.Input((224, 224, 3))
    x = stem(inp)
    for stage, (n, out) in enumerate(zip(units, (256, 512, 1024, 2048))):
        for i in range(n):
            x = bottleneck(x, out, 2 if stage > 0 and i == 0 else 1, se)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(1000, activation="softmax")(x)
    return keras.Model(inp, x)


def main():
    print("keras", keras.__version__, "backend", keras.backend.backend())
    models = {}
    notes = {}

    def record(name, model, source):
        models[name] = dict(counts(model), source=source)
        print(f"{name:18} {models[name]}")

    record("fashion_mnist_cnn", fashion_mnist_cnn(), "hand-built, architectures.md")
    record("lenet5", lenet5(), "hand-built, architectures.md (custom S2/S4, C3, RBF layers)")
    record("lenet5_modern", lenet5_modern(), "hand-built: LeNet-5 with 28x28 input zero-padded by 2, ReLU, max pooling, full C3, softmax")
    record("alexnet", alexnet(), "hand-built, architectures.md Table 14-2 (LRN has no weights)")
    record("googlenet", googlenet(), "hand-built, architectures.md Figure 14-14 (no auxiliary classifiers)")
    record("vgg16", keras.applications.VGG16(weights=None), "keras.applications.VGG16(weights=None)")
    record("resnet34", resnet34(), "hand-built, architectures.md (convs without bias + BN)")

    resnet152 = bottleneck_resnet((3, 8, 36, 3))
    record("resnet152", resnet152, "hand-built, architectures.md (convs without bias + BN, stride on the first 1x1)")
    se_resnet50 = bottleneck_resnet((3, 4, 6, 3), se=True)
    record("se_resnet50", se_resnet50, "hand-built, architectures.md (ResNet-50 + SE on every unit, Dense with biases)")
    record("xception", keras.applications.Xception(weights=None), "keras.applications.Xception(weights=None)")
    record("mobilenet_v2", keras.applications.MobileNetV2(weights=None), "keras.applications.MobileNetV2(weights=None) (same counts as torchvision's layout)")

    # Cross-checks against keras.applications (convs with biases) and published figures.
    for units, app, name in (
        ((3, 8, 36, 3), keras.applications.ResNet152, "resnet152"),
        ((3, 4, 6, 3), keras.applications.ResNet50, "resnet50"),
    ):
        ours = resnet152 if name == "resnet152" else bottleneck_resnet(units)
        ref = app(weights=None)
        mine, theirs = counts(ours), counts(ref)
        biases = conv_biases(ref)
        assert theirs["params"] - biases == mine["params"], (name, theirs, biases, mine)
        assert theirs["multiply_adds"] == mine["multiply_adds"], (name, theirs, mine)
        torch = PUBLISHED[f"{name}_torchvision_params"]
        assert mine["trainable_params"] == torch, (name, mine, torch)
        notes[name] = (
            f"keras.applications.{app.__name__} has {theirs['params']:,} params of which "
            f"{biases:,} are conv biases: without them {mine['params']:,}, the hand-built count; "
            f"multiply-adds equal ({mine['multiply_adds']:,}); trainable {mine['trainable_params']:,} "
            f"= torchvision's {torch:,}"
        )
        print(notes[name])
    assert models["vgg16"]["params"] == PUBLISHED["vgg16_keras_params"]
    assert models["xception"]["params"] == PUBLISHED["xception_keras_params"]
    assert models["mobilenet_v2"]["params"] == PUBLISHED["mobilenet_v2_keras_params"]
    assert models["mobilenet_v2"]["trainable_params"] == PUBLISHED["mobilenet_v2_torchvision_params"]
    assert models["resnet34"]["trainable_params"] == PUBLISHED["resnet34_torchvision_params"]
    # SENet (Hu et al. 2018), Table 7: SE-ResNet-50 has 28.09 M parameters (trainable).
    assert round(models["se_resnet50"]["trainable_params"] / 1e6, 2) == 28.09
    notes["se_resnet50"] = (
        f"trainable {models['se_resnet50']['trainable_params']:,}, the SENet paper's 28.09 M"
    )

    OUT.write_text(
        json.dumps(
            {
                "generator": "scripts/golden/keras_zoo_counts.py",
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "multiply_adds": "convolutions (depthwise + pointwise) and dense layers per image",
                "models": models,
                "cross_checks": notes,
            },
            indent=1,
        )
        + "\n"
    )
    print("wrote", OUT)


if __name__ == "__main__":
    main()

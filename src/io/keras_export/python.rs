//! The Python source of the custom Keras layers the export defines when a model uses them.

/// `LRN`: `tf.nn.local_response_normalization`.
pub(super) const LRN_PY: &str = r#"class LRN(layers.Layer):
    """Local response normalization as tf.nn.local_response_normalization computes it:
    y[c] = x[c] / (bias + alpha * sum(x[j]**2 for j in [c - r, c + r])) ** beta, r being
    depth_radius and the sum clipped to the channels that exist."""

    def __init__(self, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def call(self, x):
        c = ops.arange(x.shape[-1])
        window = ops.cast(ops.abs(c[:, None] - c[None, :]) <= self.depth_radius, x.dtype)
        total = ops.matmul(ops.square(x), window)
        return x / ops.power(self.bias + self.alpha * total, self.beta)

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}"#;

/// `DepthMaxPool2D`: max over runs of consecutive channels.
pub(super) const DEPTH_MAX_POOL_PY: &str = r#"class DepthMaxPool2D(layers.Layer):
    """Max pooling across depth: each run of pool_size consecutive channels becomes one
    (tf.nn.max_pool with ksize (1, 1, 1, pool_size) and the same strides)."""

    def __init__(self, pool_size, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size

    def call(self, x):
        k = self.pool_size
        grouped = ops.reshape(x, (-1,) + tuple(x.shape[1:-1]) + (x.shape[-1] // k, k))
        return ops.max(grouped, axis=-1)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}"#;

/// `LeNetSubsampling`: average pooling, a per-channel coefficient and bias, the activation.
pub(super) const LENET_SUBSAMPLING_PY: &str = r#"class LeNetSubsampling(layers.Layer):
    """LeNet-5's subsampling: the mean of each pool_size window (stride pool_size, no
    padding) times a trainable per-channel coefficient plus a per-channel bias, then the
    activation."""

    def __init__(self, pool_size=(2, 2), activation="linear", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = tuple(pool_size)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.coefficient = self.add_weight(shape=(channels,), initializer="ones",
                                           name="coefficient")
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")

    def call(self, x):
        y = ops.average_pool(x, self.pool_size, strides=self.pool_size, padding="valid")
        return self.activation(y * self.coefficient + self.bias)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "activation": keras.activations.serialize(self.activation)}"#;

/// `RBF`: squared distances to the centres.
pub(super) const RBF_PY: &str = r#"class RBF(layers.Layer):
    """LeNet-5's radial-basis output: y[j] = sum_i (x[i] - centers[i, j]) ** 2, the squared
    distance of the input to each unit's centre (centers of shape [in, units])."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.centers = self.add_weight(shape=(input_shape[-1], self.units), name="centers")

    def call(self, x):
        return ops.sum(ops.square(ops.expand_dims(x, -1) - self.centers), axis=-2)

    def get_config(self):
        return {**super().get_config(), "units": self.units}"#;

/// `ConvlabConv2D`: partial connections, or strides with dilation.
pub(super) const CONVLAB_CONV_PY: &str = r#"class ConvlabConv2D(layers.Layer):
    """A convolution layers.Conv2D cannot express: LeNet-5's partial connection table
    (connections[f] lists the input maps filter f reads; only those taps are weights, the
    others are fixed zeros), or strides and dilation_rate both above 1."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 dilation_rate=(1, 1), groups=1, use_bias=True, activation="linear",
                 connections=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = tuple(kernel_size)
        self.strides = tuple(strides)
        self.padding = padding
        self.dilation_rate = tuple(dilation_rate)
        self.groups = groups
        self.use_bias = use_bias
        self.activation = keras.activations.get(activation)
        self.connections = None if connections is None else [list(r) for r in connections]

    def build(self, input_shape):
        kh, kw = self.kernel_size
        channels = input_shape[-1]
        if self.connections is None:
            shape = (kh, kw, channels // self.groups, self.filters)
            self.kernel = self.add_weight(shape=shape, name="kernel")
        else:
            # Tap t of the stored kernel goes to (input map m, filter f) of the full one.
            self.taps = [m * self.filters + f
                         for f, row in enumerate(self.connections) for m in row]
            self.channels = channels
            self.kernel = self.add_weight(shape=(kh, kw, len(self.taps)), name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, x):
        kernel = self.kernel
        if self.connections is not None:
            scatter = ops.one_hot(ops.convert_to_tensor(self.taps), self.channels * self.filters)
            kernel = ops.matmul(kernel, ops.cast(scatter, kernel.dtype))
            kernel = ops.reshape(kernel, self.kernel_size + (self.channels, self.filters))
        y = ops.conv(x, kernel, strides=self.strides, padding=self.padding,
                     dilation_rate=self.dilation_rate)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "dilation_rate": self.dilation_rate,
                "groups": self.groups, "use_bias": self.use_bias,
                "activation": keras.activations.serialize(self.activation),
                "connections": self.connections}"#;

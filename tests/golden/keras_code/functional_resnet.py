"""A small ResNet in the Functional API: helper functions with parameters and defaults,
positional layer arguments, batch norm, projection shortcuts and layers.add."""
import keras
from keras import layers


def conv_bn(x, filters, kernel_size=3, strides=1, name=None):
    x = layers.Conv2D(filters, kernel_size, strides, "same", use_bias=False,
                      kernel_regularizer=keras.regularizers.l2(1e-4), name=name)(x)
    return layers.BatchNormalization(momentum=0.9)(x)


def identity_unit(x, filters):
    shortcut = x
    x = conv_bn(x, filters)
    x = layers.ReLU()(x)
    x = conv_bn(x, filters)
    x = layers.add([x, shortcut])
    return layers.Activation(keras.activations.relu)(x)


def projection_unit(x, filters, strides=2):
    shortcut = conv_bn(x, filters, kernel_size=1, strides=strides)
    x = conv_bn(x, filters, strides=strides)
    x = layers.ReLU()(x)
    x = conv_bn(x, filters)
    x = layers.Add()([x, shortcut])
    return layers.ReLU()(x)


def build_model(num_classes=10):
    inputs = keras.Input(shape=(32, 32, 3), name="image")
    x = conv_bn(inputs, 16, kernel_size=7, strides=2, name="stem")
    x = layers.ReLU(max_value=6.0)(x)
    x = layers.MaxPool2D(3, 2, padding="same")(x)
    x = identity_unit(x, 16)
    x = projection_unit(x, 32)
    x = identity_unit(x, 32)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="small_resnet")


if __name__ == "__main__":
    model = build_model()
    print("PARAMS", model.count_params())

# An inception module and a squeeze-and-excitation block, with `from ... import` names,
# separable and depthwise convolutions, zero padding and Keras's merge functions.
import keras
from keras.layers import (
    AveragePooling2D, Concatenate, Conv2D, Dense, DepthwiseConv2D, Dropout,
    GlobalAveragePooling2D, GlobalMaxPooling2D, Input, MaxPooling2D, Multiply, Reshape,
    SeparableConv2D, ZeroPadding2D,
)
from keras.layers import concatenate

image = Input((35, 35, 8))
x = ZeroPadding2D(((1, 2), (0, 1)))(image)
x = Conv2D(24, (3, 3), strides=(2, 2), activation="relu")(x)
b1 = Conv2D(8, 1, activation="relu")(x)
b2 = Conv2D(6, 1, activation="relu")(x)
b2 = Conv2D(8, 3, padding="same", activation="relu")(b2)
b3 = SeparableConv2D(8, 3, padding="same", depth_multiplier=2, activation="relu")(x)
b4 = MaxPooling2D(3, strides=1, padding="same")(x)
b4 = Conv2D(8, 1, activation="relu")(b4)
b5 = AveragePooling2D(pool_size=(3, 3), strides=1, padding="same")(x)
b5 = DepthwiseConv2D(3, padding="same", depth_multiplier=1)(b5)
x = Concatenate(axis=-1)([b1, b2, b3, b4])
x = concatenate([x, b5])
channels = 8 * 4 + 24
s = GlobalAveragePooling2D()(x)
s = Dense(channels // 4, activation="relu")(s)
s = Dense(channels, activation="sigmoid")(s)
x = Multiply()([x, Reshape((1, 1, channels))(s)])
x = GlobalMaxPooling2D()(x)
x = Dropout(rate=0.4)(x)
out = Dense(5, activation="softmax")(x)
model = keras.Model(image, out)

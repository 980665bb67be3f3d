# model.add style, a star import, Keras 2's names (Convolution2D, alpha=), an explicit
# InputLayer, and statements that build nothing.
import keras
from keras.layers import *

keras.backend.clear_session()
model = keras.Sequential(name="digits")
model.add(InputLayer(shape=(28, 28, 1)))
model.add(Convolution2D(6, 5, padding="same", activation="tanh"))
model.add(AveragePooling2D(2))
model.add(Conv2D(16, kernel_size=(5, 5), activation="tanh")); model.add(AvgPool2D(2))
model.add(BatchNormalization(epsilon=1e-5, center=True, scale=False))
model.add(LeakyReLU(negative_slope=0.3))
model.add(Flatten())
model.add(Dense(120, activation="elu"))
model.add(Dense(84, "selu", True))
model.add(Dense(10))
model.add(Softmax())
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
print(model.summary(), f"{model.count_params()} parameters")

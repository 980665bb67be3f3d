"""Keras training the chapter's Fashion-MNIST CNN with convlab's recipe, for the comparison the
issue asks for (examples/train_fashion.rs is convlab's side): the same layers (the zoo's
fashion_mnist_cnn, Keras's default initialisers), Nadam 1e-3 with cosine decay to 1% over the
run, batch 32, the last 5,000 training images held out for validation, random shifts of up to 2
pixels and horizontal flips per image, inputs (pixel / 255 - 0.2860) / 0.3530. Test accuracy on
the full 10,000 images after every epoch, with wall time and samples/s, one JSON line per epoch
in RUN/progress.jsonl. Resumable: Keras's BackupAndRestore keeps the run in RUN/backup, so a
killed run started again continues from its last finished epoch.

    scripts/setup-keras.sh
    nice .cache/keras-venv/bin/python scripts/keras_fashion.py --run target/keras-fashion \
        [--epochs 20] [--data www/assets/data/fashion-mnist] [--limit N] [--seed 42]
"""

import argparse
import gzip
import json
import os
import struct
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402

from golden.keras_models import fashion_cnn  # noqa: E402  (scripts/ is on sys.path)

MEAN, STD = 0.2860, 0.3530


def idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder):
    def pick(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        raise SystemExit(f"{stem}(.gz) is not in {folder}: run scripts/fetch-data.sh")

    images = idx(pick("train-images-idx3-ubyte"))
    labels = idx(pick("train-labels-idx1-ubyte"))
    test_images = idx(pick("t10k-images-idx3-ubyte"))
    test_labels = idx(pick("t10k-labels-idx1-ubyte"))
    return images, labels, test_images, test_labels


def normalise(images):
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD)[..., None]


class Batches(keras.utils.PyDataset):
    """Shuffled batches with seeded per-image shifts (zero fill) and horizontal flips."""

    def __init__(self, images, labels, batch, seed):
        super().__init__()
        self.images, self.labels, self.batch, self.seed = images, labels, batch, seed
        self.epoch = 0
        self.order = np.random.default_rng([seed, 0]).permutation(len(images))

    def __len__(self):
        return len(self.images) // self.batch

    def on_epoch_end(self):
        self.epoch += 1
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

    def __getitem__(self, i):
        pick = self.order[i * self.batch : (i + 1) * self.batch]
        x = self.images[pick].copy()
        rng = np.random.default_rng([self.seed, self.epoch, i])
        out = np.zeros_like(x)
        for k in range(len(x)):
            dy, dx = rng.integers(-2, 3, size=2)
            img = x[k][:, ::-1] if rng.random() < 0.5 else x[k]
            src = img[max(0, -dy) : 28 - max(0, dy), max(0, -dx) : 28 - max(0, dx)]
            out[k, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
        return normalise(out), self.labels[pick].astype(np.int32)


class Report(keras.callbacks.Callback):
    """Test accuracy, wall time and samples/s after every epoch, appended to progress.jsonl."""

    def __init__(self, run, test, samples):
        super().__init__()
        self.run, self.test, self.samples = run, test, samples

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.started
        loss, acc = self.model.evaluate(*self.test, batch_size=500, verbose=0)
        line = {
            "engine": f"keras {keras.__version__} ({keras.backend.backend()})",
            "epoch": epoch + 1,
            "test_accuracy": float(acc),
            "test_loss": float(loss),
            "val_accuracy": float(logs.get("val_accuracy", float("nan"))),
            "train_accuracy": float(logs.get("accuracy", float("nan"))),
            "epoch_seconds": seconds,
            "train_samples_per_second": self.samples / seconds,
            "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
        }
        with open(os.path.join(self.run, "progress.jsonl"), "a") as f:
            f.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--run", default="target/keras-fashion")
    a.add_argument("--epochs", type=int, default=20)
    a.add_argument("--data", default="www/assets/data/fashion-mnist")
    a.add_argument("--batch", type=int, default=32)
    a.add_argument("--seed", type=int, default=42)
    a.add_argument("--limit", type=int, default=0, help="only the first N training images (a smoke run)")
    args = a.parse_args()
    os.makedirs(args.run, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    images, labels, test_images, test_labels = load(args.data)
    train_x, train_y = images[:-5000], labels[:-5000]
    val = (normalise(images[-5000:]), labels[-5000:].astype(np.int32))
    if args.limit:
        train_x, train_y = train_x[: args.limit], train_y[: args.limit]
    batches = Batches(train_x, train_y, args.batch, args.seed)
    steps = args.epochs * len(batches)
    model = fashion_cnn()
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Nadam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    test = (normalise(test_images), test_labels.astype(np.int32))
    model.fit(
        batches,
        epochs=args.epochs,
        validation_data=val,
        verbose=2,
        callbacks=[
            keras.callbacks.BackupAndRestore(os.path.join(args.run, "backup")),
            Report(args.run, test, len(batches) * args.batch),
        ],
    )


if __name__ == "__main__":
    main()

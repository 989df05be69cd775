"""A small, real workload for `make demo`: train a logistic-regression classifier in pure
Python on synthetic data (no third-party packages) for a given time, then print the loss.

Run it under wattprint:  wattprint run --zone DE -- python examples/demo_workload.py
"""

from __future__ import annotations

import math
import random
import sys
import time


def make_data(n: int, dims: int, rng: random.Random) -> list[tuple[list[float], int]]:
    true_w = [rng.uniform(-1, 1) for _ in range(dims)]
    data = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(dims)]
        z = sum(wi * xi for wi, xi in zip(true_w, x, strict=True))
        data.append((x, 1 if z + rng.gauss(0, 0.3) > 0 else 0))
    return data


def train(seconds: float, dims: int = 32, lr: float = 0.05) -> None:
    rng = random.Random(0)
    data = make_data(4000, dims, rng)
    w = [0.0] * dims
    b = 0.0
    deadline = time.monotonic() + seconds
    epoch = 0
    loss = 0.0
    while time.monotonic() < deadline:
        epoch += 1
        rng.shuffle(data)
        loss = 0.0
        for x, y in data:
            z = b + sum(wi * xi for wi, xi in zip(w, x, strict=True))
            p = 1 / (1 + math.exp(-z)) if z > -30 else 0.0
            loss -= math.log(p if y else 1 - p) if 0 < p < 1 else 0.0
            g = p - y
            w = [wi - lr * g * xi for wi, xi in zip(w, x, strict=True)]
            b -= lr * g
    print(f"{epoch} epochs: loss {loss / len(data):.4f}", flush=True)


if __name__ == "__main__":
    train(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)

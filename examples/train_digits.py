"""`make demo`'s job: a real, small training run, measured per epoch.

A multi-layer perceptron learns scikit-learn's bundled digits (8x8 images, no download),
one epoch at a time; wattprint records each epoch's energy with its loss and accuracy,
predicts the whole training after the first epoch, measures inference per 1,000 images, and
writes the record. Run:  python examples/train_digits.py [--epochs 12] [--zone DE]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import wattprint


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--zone", default=os.environ.get("WATTPRINT_ZONE", "DE"))
    ap.add_argument("--json", default="out/demo-run.json", help="where to write the record")
    args = ap.parse_args()
    try:
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        print("this demo needs scikit-learn: pip install 'wattprint[demo]'", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)

    with wattprint.Tracker(
        project="demo-digits",
        experiment="MLP 512-256 on sklearn digits",
        zone=args.zone,
        json_path=args.json,
        progress="on",
    ) as tracker:
        with tracker.stage("preprocess"):
            x, y = load_digits(return_X_y=True)
            x = x / 16.0
            x_train, x_test, y_train, y_test = train_test_split(
                x, y, test_size=0.25, random_state=0
            )
        model = MLPClassifier(hidden_layer_sizes=(512, 256), random_state=0, batch_size=64)
        classes = sorted(set(y))
        tracker.start_training(epochs=args.epochs)
        for _ in range(args.epochs):
            for start in range(0, len(x_train), 512):  # a few partial fits per epoch
                model.partial_fit(
                    x_train[start : start + 512], y_train[start : start + 512], classes=classes
                )
            tracker.epoch(loss=model.loss_, acc=model.score(x_test, y_test))
        tracker.stop_training()
        with tracker.stage("inference"):
            for _ in range(20):
                model.predict(x_test)
                tracker.count(len(x_test))
    run = tracker.run
    assert run is not None
    print(
        f"\nrun {run.run_id[:12]}: {run.energy_kwh * 3.6e6:.1f} J "
        f"(±{run.uncertainty_pct:.0f} %), record in {args.json}"
    )
    print(f"see it: wattprint show {run.run_id[:12]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

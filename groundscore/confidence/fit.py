"""Fitting a confidence model (numpy and scikit-learn, the ``[eval]`` extra); prediction needs neither.

Two kinds, both exported to plain numbers (:class:`~groundscore.confidence.model.SubModel`):

- ``logistic``: L2-regularised logistic regression on standardised features;
- ``boosted``: scikit-learn's histogram gradient boosting (small trees),
  each tree's nodes copied into the file;
- ``stacked``: the logistic model, then small regression trees that correct
  its score by a bounded amount where the logs are dense (measured in
  ``benchmarks/eval_confidence.py``, not shipped: see
  ``docs/concepts/what-groundscore-can-know.md``).

Either is followed by a Platt map fitted on out-of-fold scores, the folds
split by ``groups`` (questions, or images), so that the probability is
calibrated on questions the score was not fitted on rather than on its own
training answers (boosted trees are over-confident there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from groundscore.confidence.model import SubModel, Tree


def matrix(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> Any:
    import numpy as np

    return np.array([[float(r.get(n, 0.0)) for n in names] for r in rows], dtype=float)


def _fit_score(X: Any, y: Any, kind: str, names: Sequence[str], seed: int = 0) -> SubModel:
    import numpy as np

    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 1e-9] = 1.0
        model = LogisticRegression(C=0.5, max_iter=2000, tol=1e-6)
        model.fit((X - mean) / scale, y)
        return SubModel(kind="logistic", features=list(names), mean=[float(v) for v in mean],
                        scale=[float(v) for v in scale], coef=[float(c) for c in model.coef_[0]],
                        intercept=float(model.intercept_[0]))
    if kind == "boosted":
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=8,
                                               min_samples_leaf=80, l2_regularization=1.0,
                                               early_stopping=False, random_state=seed)
        model.fit(X, y)
        trees = []
        for predictors in model._predictors:  # one per iteration (binary: one tree each)
            nodes = predictors[0].nodes
            leaf = nodes["is_leaf"].astype(bool)
            trees.append(Tree(
                feature=[-1 if leaf[i] else int(nodes["feature_idx"][i]) for i in range(len(nodes))],
                threshold=[0.0 if leaf[i] else float(nodes["num_threshold"][i]) for i in range(len(nodes))],
                left=[int(v) for v in nodes["left"]], right=[int(v) for v in nodes["right"]],
                value=[float(v) for v in nodes["value"]],
            ))
        init = float(np.ravel(model._baseline_prediction)[0])
        return SubModel(kind="boosted", features=list(names), intercept=init, learning_rate=1.0, trees=trees)
    if kind == "stacked":
        return _fit_stacked(X, y, names, seed)
    raise ValueError(f"unknown model kind {kind!r}: logistic, boosted or stacked")


STACKED_TREES = 60
STACKED_RATE = 0.1
STACKED_LEAF = 400
"""The stacked model's corrections: few small trees, a leaf needs this many answers, so that a correction is
made only where the logs hold many answers alike; elsewhere the linear score stands as it is."""


def _fit_stacked(X: Any, y: Any, names: Sequence[str], seed: int) -> SubModel:
    """Logistic regression, then Newton-boosted regression trees on what it gets wrong (log loss).

    Trees do not extrapolate: a tree model alone says whatever its nearest
    leaf says for an input unlike the logs (a box-only answer without
    thinking read 0.03). Here each tree only corrects the linear score, by
    a bounded amount, in leaves of at least :data:`STACKED_LEAF` answers.
    """
    import numpy as np
    from sklearn.tree import DecisionTreeRegressor

    base = _fit_score(X, y, "logistic", names)
    z = np.array(base.scores(X))
    trees = []
    for _ in range(STACKED_TREES):
        p = 1.0 / (1.0 + np.exp(-z))
        grad, hess = y - p, np.maximum(p * (1 - p), 1e-6)
        reg = DecisionTreeRegressor(max_leaf_nodes=8, min_samples_leaf=STACKED_LEAF, random_state=seed)
        reg.fit(X, grad / hess, sample_weight=hess)
        t = reg.tree_
        leaf_of = reg.apply(X)
        value = np.zeros(t.node_count)
        for leaf in np.unique(leaf_of):
            m = leaf_of == leaf
            # a Newton step (L2 1.0), at most 1 in logit a tree: a correction, never a new model
            value[leaf] = float(np.clip(grad[m].sum() / (hess[m].sum() + 1.0), -1.0, 1.0))
        tree = Tree(feature=[int(f) if t.children_left[i] >= 0 else -1 for i, f in enumerate(t.feature)],
                    threshold=[float(v) if t.children_left[i] >= 0 else 0.0 for i, v in enumerate(t.threshold)],
                    left=[int(v) for v in t.children_left], right=[int(v) for v in t.children_right],
                    value=[float(v) for v in value])
        trees.append(tree)
        z = z + STACKED_RATE * value[leaf_of]
    return base.model_copy(update={"kind": "stacked", "trees": trees, "learning_rate": STACKED_RATE})


def _platt(z: Any, y: Any) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(z.reshape(-1, 1), y)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def fold_of(keys: Sequence[str], k: int) -> list[int]:
    """A deterministic fold (0..k-1) per key (a question or image): the same key, the same fold."""
    import zlib

    return [zlib.crc32(key.encode("utf-8")) % k for key in keys]


def fit_submodel(rows: Sequence[Mapping[str, float]] | Any, labels: Sequence[bool], names: Sequence[str],
                 groups: Sequence[str], kind: str = "logistic", folds: int = 4) -> SubModel:
    """Fit a sub-model on ``rows`` (feature mappings, or a matrix whose columns are ``names``).

    With ``folds`` >= 2 the score is then calibrated by a Platt map fitted
    on out-of-fold scores; ``groups`` keys the folds (answers to one question
    share a key and so a fold). ``folds`` 0 keeps the fitted probability as it is.
    """
    import numpy as np

    X = rows if hasattr(rows, "shape") else matrix(rows, names)
    y = np.array([1 if v else 0 for v in labels])
    model = _fit_score(X, y, kind, names)
    if folds < 2:
        return model
    fold = np.array(fold_of(groups, folds))
    z = np.zeros(len(y))
    for f in range(folds):
        train, test = fold != f, fold == f
        if not test.any() or len(set(y[train])) < 2:
            continue
        part = _fit_score(X[train], y[train], kind, names)
        z[test] = part.scores(X[test])
    model.platt = _platt(z, y)
    return model


def predict_all(model: SubModel, rows: Sequence[Mapping[str, float]]) -> list[float]:
    return [model.predict(dict(r)) for r in rows]

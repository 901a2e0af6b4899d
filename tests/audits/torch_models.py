"""A small torch classifier with the scikit-learn interface, exposing its network as ``module_``
(the convention the robustness audit reads for gradient attacks)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin


class TinyTorchClassifier(ClassifierMixin, BaseEstimator):
    def __init__(
        self, hidden: int = 32, epochs: int = 150, learning_rate: float = 0.01, random_state: int | None = None
    ):
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X, y):
        features = torch.as_tensor(np.asarray(X, dtype=np.float32))
        self.classes_, labels = np.unique(np.asarray(y), return_inverse=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state or 0)
            self.module_ = torch.nn.Sequential(
                torch.nn.Linear(features.shape[1], self.hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(self.hidden, len(self.classes_)),
            )
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.learning_rate)
        target = torch.as_tensor(labels)
        for _ in range(self.epochs):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(self.module_(features), target).backward()
            optimiser.step()
        self.module_.eval()
        return self

    def predict_proba(self, X):
        with torch.no_grad():
            logits = self.module_(torch.as_tensor(np.asarray(X, dtype=np.float32)))
        return torch.softmax(logits, dim=1).numpy().astype(float)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

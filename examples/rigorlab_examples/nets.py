"""torch modules for the example studies. rigorlab passes in_features, input_shape and out_features
to a constructor that names them; everything else comes from the model's params:."""

from __future__ import annotations

from torch import Tensor, nn


class MLP(nn.Module):
    """A multilayer perceptron for tabular rows: in_features -> hidden x layers -> out_features."""

    def __init__(self, in_features: int, out_features: int, hidden: int = 64, layers: int = 2, dropout: float = 0.0):
        super().__init__()
        blocks: list[nn.Module] = []
        width = in_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*blocks)

    def forward(self, rows: Tensor) -> Tensor:
        return self.net(rows)


class DigitsCNN(nn.Module):
    """A small CNN for 8x8 one-channel images (scikit-learn's digits with input_shape: [1, 8, 8])."""

    def __init__(self, out_features: int, channels: int = 16, dropout: float = 0.1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout2d(dropout),
        )
        self.head = nn.Linear(2 * channels * 2 * 2, out_features)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images).flatten(1))


class BatchNormMLP(nn.Module):
    """An MLP with batch norm: vmap cannot batch its training, so rigorlab trains it one replicate at a time."""

    def __init__(self, in_features: int, out_features: int, hidden: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out_features)
        )

    def forward(self, rows: Tensor) -> Tensor:
        return self.net(rows)

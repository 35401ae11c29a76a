"""Small CNNs for 32x32 images: the paper's CNN #3 (reproducible baseline) and our improved one.

CNN #3 (Purba & Suparwito, seeds/000): four 3x3 conv layers of 16/32/64/128 filters with ReLU,
each followed by 2x2 max-pooling, then dense 64 (ReLU), dropout 0.5 and dense 1 (sigmoid). The
paper reports 360,609 parameters without stating the padding; no padding/pooling layout of those
layers on 32x32 inputs gives that count (all 256 were tried: Keras' default "valid" padding cannot
even fit four poolings). We reproduce "same" padding with a pool after every conv: 2x2x128 = 512
features into dense 64, 130,337 parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

from ml.models.registry import register_detector


class PaperCNN3(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), input_size: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        side = input_size // 2 ** len(widths)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * side * side, 64),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(64, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)

    def target_layer(self) -> nn.Module:
        return self.features[-3]  # the last conv's ReLU, before its pooling


def _conv_bn(channels_in: int, channels_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    ]


class SmallCNN(nn.Module):
    """CNN #3 improved: two conv + batch-norm layers per block, twice the width, global pooling
    (so any input size works), dropout before the single output."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for index, width in enumerate(widths):
            if index:
                layers.append(nn.MaxPool2d(2))
            layers += _conv_bn(channels, width) + _conv_bn(width, width)
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)

    def target_layer(self) -> nn.Module:
        return self.features


@register_detector("cnn_paper")
def cnn_paper(input_size: int = 32) -> nn.Module:
    return PaperCNN3(input_size=input_size)


@register_detector("cnn")
def cnn(widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.3) -> nn.Module:
    return SmallCNN(tuple(widths), dropout)

"""Text classification with Hugging Face transformers, trained by rigorlab's torch trainer.

:class:`TextClassifier` wraps ``AutoModelForSequenceClassification`` as a module the trainer can
stack: its ``encode_rows`` hook tokenizes a text column once per dataset (tokenizing learns nothing
from the rows), each row becomes ``(2, max_length)`` int64 (token ids and attention mask), and
``forward`` returns one logit per class. The model comes from a local folder (``pretrained:``) or is
built from a configuration (``config:``, randomly initialised from the replicate's init seed);
nothing is downloaded. The tokenizer is the pretrained folder's, another local folder, or
``bytes``: ByT5's byte-level tokenizer, which needs no vocabulary file.

The attention mask is passed as a 4-D additive mask with eager attention: transformers' own mask
construction checks the mask's values in Python, which ``torch.func.vmap`` cannot batch.

A study declares it with ``trainer: transformers`` (the module defaults to this class)::

    - name: tiny-bert
      trainer: transformers
      params:
        text_column: text
        config: {model_type: bert, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
                 intermediate_size: 64}
        max_length: 64
      training: {optimizer: adamw, lr: 0.0005, epochs: 3, batch_size: 16}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

__all__ = ["MSG_TEXT_COLUMN", "MSG_TEXT_MODEL", "TextClassifier", "load_tokenizer"]

MSG_TEXT_MODEL = (
    "TextClassifier needs exactly one of pretrained: (a local folder saved with save_pretrained) and config: (a "
    "transformers configuration as a mapping with model_type, e.g. {{model_type: bert, hidden_size: 32}}); got {got}."
)
MSG_TEXT_COLUMN = (
    "TextClassifier: the text_column '{column}' is not a column of the dataset (columns: {columns}). Set params: "
    "text_column: to the column that holds the text."
)
MSG_TOKENIZER = (
    "TextClassifier: cannot load the tokenizer '{tokenizer}': {error}. Give a local folder saved with "
    "save_pretrained, or bytes (a byte-level tokenizer that needs no files)."
)


def load_tokenizer(tokenizer: str | None, pretrained: str | None) -> Any:
    """A tokenizer from a local folder, or ByT5's byte-level one for ``"bytes"`` (no files needed)."""
    from transformers import AutoTokenizer, ByT5Tokenizer

    name = tokenizer or pretrained or "bytes"
    if name == "bytes":
        return ByT5Tokenizer()
    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ValueError(MSG_TOKENIZER.format(tokenizer=name, error=error)) from error


class TextClassifier(nn.Module):
    """A transformers sequence classifier over one text column.

    Parameters
    ----------
    out_features : int
        Number of classes (rigorlab passes it).
    text_column : str
        The dataset column holding the text.
    pretrained : str, optional
        A local folder with a saved model (and tokenizer).
    config : mapping, optional
        A transformers configuration (``model_type`` and its fields) for a randomly initialised model.
    tokenizer : str, optional
        A local tokenizer folder, or ``bytes``; default: the pretrained folder's, else ``bytes``.
    max_length : int
        Tokens per row (padded or truncated).

    Examples
    --------
    >>> model = TextClassifier(3, config={"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1,
    ...                                   "num_attention_heads": 2, "intermediate_size": 32}, max_length=16)
    >>> rows = TextClassifier.encode_rows(pd.DataFrame({"text": ["a b", "c"]}), {"max_length": 16})  # doctest: +SKIP
    >>> model(torch.as_tensor(rows)).shape  # doctest: +SKIP
    torch.Size([2, 3])
    """

    def __init__(
        self,
        out_features: int = 2,
        text_column: str = "text",
        pretrained: str | None = None,
        config: Mapping[str, Any] | None = None,
        tokenizer: str | None = None,
        max_length: int = 128,
    ) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModelForSequenceClassification

        if (pretrained is None) == (config is None):
            got = "both" if pretrained is not None else "neither"
            raise ValueError(MSG_TEXT_MODEL.format(got=got))
        self.text_column = text_column
        self.max_length = max_length
        if pretrained is not None:
            self.model = AutoModelForSequenceClassification.from_pretrained(
                pretrained, num_labels=out_features, local_files_only=True, attn_implementation="eager"
            )
        else:
            assert config is not None
            settings = dict(config)
            model_type = settings.pop("model_type", "bert")
            if "vocab_size" not in settings:
                settings["vocab_size"] = len(load_tokenizer(tokenizer, None))
            settings.setdefault("max_position_embeddings", max(max_length, 16))
            configuration = AutoConfig.for_model(model_type, num_labels=out_features, **settings)
            self.model = AutoModelForSequenceClassification.from_config(  # type: ignore[no-untyped-call]
                configuration, attn_implementation="eager"
            )

    def forward(self, rows: Tensor) -> Tensor:
        """Logits (batch, out_features) of rows (batch, 2, max_length): token ids and attention mask."""
        ids, mask = rows[:, 0], rows[:, 1]
        dtype = next(self.model.parameters()).dtype
        additive = (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        logits: Tensor = self.model(input_ids=ids, attention_mask=additive).logits
        return logits

    @classmethod
    def encode_rows(cls, frame: Any, params: Mapping[str, Any]) -> NDArray[np.int64]:
        """Tokenize the text column of every row: shape (n_rows, 2, max_length)."""
        from rigorlab.models._torch import TorchSetupError

        column = params.get("text_column", "text")
        if column not in frame.columns:
            raise TorchSetupError(
                MSG_TEXT_COLUMN.format(column=column, columns=", ".join(map(str, frame.columns))), "params.text_column"
            )
        tokenizer = load_tokenizer(params.get("tokenizer"), params.get("pretrained"))
        texts = frame[column].fillna("").astype(str).tolist()
        encoded = tokenizer(
            texts,
            padding="max_length",
            truncation=True,
            max_length=int(params.get("max_length", 128)),
            return_attention_mask=True,
        )
        ids = np.asarray(encoded["input_ids"], dtype=np.int64)
        mask = np.asarray(encoded["attention_mask"], dtype=np.int64)
        return np.stack([ids, mask], axis=1)

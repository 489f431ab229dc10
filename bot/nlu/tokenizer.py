"""Jieba tokenizer for residents' Chinese: width-folded text, no whitespace tokens, bounded length.

Rasa's ``JiebaTokenizer`` returns whitespace as tokens (``"路灯 坏了"`` gives ``["路灯", " ", "坏了"]``), and it sees
full-width digits as words of their own. This tokenizer

* folds the message text to half-width first (``bot.nlu.normalize.fold_width``: same length, so entity offsets stay
  valid), so the regex featurizer and extractor also see ``138…`` instead of ``１３８…``;
* drops whitespace-only tokens;
* keeps at most ``max_tokens`` tokens for featurisation (a 10,000-character paste would otherwise cost the
  transformer in DIET quadratic time and memory). The full text is untouched; the case keeps it all.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalize import fold_width

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class ChineseTokenizer(JiebaTokenizer):
    """``JiebaTokenizer`` with width folding, no whitespace tokens and a token cap.

    Config (in addition to ``JiebaTokenizer``'s ``dictionary_path`` etc.):
        max_tokens: the most tokens kept per message (default 400).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Returns the default config (``JiebaTokenizer``'s plus ``max_tokens``)."""
        return {**JiebaTokenizer.get_default_config(), "max_tokens": 400}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Folds the text of every training example, then tokenizes it."""
        for example in training_data.training_examples:
            _fold_message_text(example)
        return super().process_training_data(training_data)

    def process(self, messages: List[Message]) -> List[Message]:
        """Folds the text of incoming messages, then tokenizes them."""
        for message in messages:
            _fold_message_text(message)
        return super().process(messages)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        """Jieba tokens of ``attribute`` without whitespace tokens, at most ``max_tokens`` of them."""
        tokens = [t for t in super().tokenize(message, attribute) if t.text.strip()]
        limit = self._config["max_tokens"]
        if len(tokens) > limit:
            logger.debug("Keeping %d of %d tokens for featurisation.", limit, len(tokens))
            tokens = tokens[:limit]
        return tokens


def _fold_message_text(message: Message) -> None:
    text = message.get(TEXT)
    if isinstance(text, str):
        message.set(TEXT, fold_width(text))

"""A sparse linear text classifier for labels carried in the NLU data's intent metadata.

Reports are written in ``data/nlu/report_issue/**/*.yml`` (Rasa reads the folder recursively, ``letters/`` included) as blocks of intent ``report_issue`` whose intent-level
metadata names the responsibility category and the matter type::

    - intent: report_issue
      metadata: {category: eco_environment, matter_type: other}
      examples: |
        - 我们村东头那个厂子天天晚上往河沟里放黑水

``MetadataLabelClassifier`` learns one of those metadata keys (``label_key``) from every example that carries it and
adds ``{"name", "confidence"}`` plus a ranking to EVERY parsed message under ``output_key``. Subclasses fix the two
keys (``CategoryClassifier``, ``MatterTypeClassifier``) so each is one line in ``config.yml``.

Features (why: residents' messages run from 5 to 2,000 characters, full of typos and dialect, and the labelled set is
a few thousand examples, so a linear model over sparse n-grams generalises better than a neural one trained on it):

* TF-IDF over jieba words (from the tokenizer earlier in the pipeline), sublinear term frequency;
* TF-IDF over character 1–3-grams of the width-folded text (robust to typos and segmentation errors);
* both read the text without phone numbers and "call me" phrases (``bot.nlu.contact``: ``有事打我电话139…`` says
  nothing about a street lamp but would pull the report towards telecom), in training and at inference alike;
* the label's lexicon (``lookup: <lexicon_prefix><label>`` tables: the matter's own nouns and verbs, a unit's name)
  joins the training data, one term per document, so a term seen in no example still points to its label.
  (Counting lexicon hits as extra features was tried and scored lower on the evaluation messages: see README.)

The classifier is a multinomial logistic regression, whose probabilities serve as confidences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
import rasa.shared.utils.io

from bot.nlu.contact import contact_spans, outside, strip_contact

logger = logging.getLogger(__name__)

_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


@dataclass
class _Model:
    word_vectorizer: Any
    char_vectorizer: Any
    classifier: Any
    labels: List[str]


def _featurised(message: Message) -> Tuple[str, str]:
    """What the classifier reads of a message: its text and its jieba words, both without phone numbers and
    "call me" phrases (``bot.nlu.contact``), which say nothing about the matter and would pull a report towards
    the telecom category. The message itself (text, tokens, entity offsets) is left as it is."""
    text = message.get(TEXT) or ""
    spans = contact_spans(text)
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words = " ".join(t.text for t in tokens if outside(spans, t.start, t.end))
    return strip_contact(text, spans), words


class MetadataLabelClassifier(GraphComponent, IntentClassifier):
    """Learns ``label_key`` from intent metadata and adds it to every message under ``output_key``.

    Config:
        C: inverse regularisation strength of the logistic regression (default 10.0).
        word_ngram_max: longest word n-gram (default 1).
        char_ngram_max: longest character n-gram (default 3).
        class_weight: ``"balanced"`` (default) or null, as in scikit-learn.
        ranking_length: how many labels the ranking keeps (default 5).
        lexicon_prefix: lookup-table name prefix for this label set (subclass default).
    """

    label_key: str = ""
    output_key: str = ""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Returns the default config (see class docstring)."""
        return {
            "C": 10.0,
            "word_ngram_max": 1,
            "char_ngram_min": 1,
            "char_ngram_max": 3,
            "class_weight": "balanced",
            "ranking_length": 5,
            "lexicon_prefix": None,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        """Packages this component needs at runtime."""
        return ["sklearn", "skops"]

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[_Model] = None,
    ) -> None:
        """Creates the component; ``model`` is None until trained or loaded."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "MetadataLabelClassifier":
        """Creates an untrained component."""
        return cls(config, model_storage, resource)

    # ------------------------------------------------------------------ training
    def _label_of(self, example: Message) -> Optional[str]:
        metadata = example.get("metadata") or {}
        for scope in ("example", "intent"):
            value = (metadata.get(scope) or {}).get(self.label_key)
            if value:
                return str(value)
        return None

    def _lexicon(self, training_data: TrainingData) -> Dict[str, List[str]]:
        prefix = self._config["lexicon_prefix"]
        if not prefix:
            return {}
        # Tables of the same name in several files are separate entries in Rasa's training data: merge them.
        lexicon: Dict[str, set] = {}
        for table in training_data.lookup_tables:
            name = table.get("name", "")
            if name.startswith(prefix):
                elements = table.get("elements") or []
                lexicon.setdefault(name[len(prefix):], set()).update(str(e).strip() for e in elements if str(e).strip())
        return {label: sorted(terms) for label, terms in lexicon.items()}

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the vectorizers and the classifier on every example whose metadata has ``label_key``.

        Raises:
            ValueError: fewer than two distinct labels in the training data.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        examples = [(ex, self._label_of(ex)) for ex in training_data.intent_examples]
        examples = [(ex, label) for ex, label in examples if label]
        labels = sorted({label for _, label in examples})
        if len(labels) < 2:
            raise ValueError(
                f"{self.__class__.__name__} needs examples of at least two '{self.label_key}' values in the intent "
                f"metadata of the NLU data; found {labels}."
            )
        lexicon = self._lexicon(training_data)
        word_vectorizer = TfidfVectorizer(
            token_pattern=r"[^ ]+", lowercase=True, sublinear_tf=True,
            ngram_range=(1, self._config["word_ngram_max"]), min_df=1
        )
        char_vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(self._config["char_ngram_min"], self._config["char_ngram_max"]),
            sublinear_tf=True, min_df=2
        )
        featurised = [_featurised(ex) for ex, _ in examples]
        texts = [text for text, _ in featurised]
        words = [words for _, words in featurised]
        y = [label for _, label in examples]
        for label, terms in lexicon.items():
            if label in labels:
                texts += terms
                words += terms
                y += [label] * len(terms)
        features = sp.hstack(
            [
                word_vectorizer.fit_transform(words),
                char_vectorizer.fit_transform(texts),
            ]
        ).tocsr()
        classifier = LogisticRegression(
            C=self._config["C"], max_iter=2000, class_weight=self._config["class_weight"]
        )
        classifier.fit(features, y)
        self._model = _Model(word_vectorizer, char_vectorizer, classifier, [str(c) for c in classifier.classes_])
        logger.info(
            "%s trained on %d examples of %d labels.", self.__class__.__name__, len(examples), len(labels)
        )
        self.persist()
        return self._resource

    # ---------------------------------------------------------------- inference
    def predict_proba(self, messages: Sequence[Message]) -> np.ndarray:
        """Returns an array (len(messages) × len(labels)) of probabilities, labels in ``self.labels`` order."""
        model = self._model
        featurised = [_featurised(m) for m in messages]
        features = sp.hstack(
            [
                model.word_vectorizer.transform([words for _, words in featurised]),
                model.char_vectorizer.transform([text for text, _ in featurised]),
            ]
        ).tocsr()
        return model.classifier.predict_proba(features)

    @property
    def labels(self) -> List[str]:
        """The labels this component predicts (empty before training)."""
        return list(self._model.labels) if self._model else []

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds ``output_key`` ``{"name", "confidence"}`` and ``<output_key>_ranking`` to each message.

        A message without text gets ``{"name": None, "confidence": 0.0}`` and an empty ranking.
        """
        if self._model is None:
            return messages
        with_text = [m for m in messages if (m.get(TEXT) or "").strip()]
        probabilities = self.predict_proba(with_text) if with_text else []
        for message, row in zip(with_text, probabilities):
            order = np.argsort(row)[::-1][: self._config["ranking_length"]]
            ranking = [{"name": self._model.labels[i], "confidence": float(row[i])} for i in order]
            message.set(self.output_key, dict(ranking[0]), add_to_output=True)
            message.set(f"{self.output_key}_ranking", ranking, add_to_output=True)
        for message in messages:
            if message.get(self.output_key) is None:
                message.set(self.output_key, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(f"{self.output_key}_ranking", [], add_to_output=True)
        return messages

    # -------------------------------------------------------------- persistence
    def persist(self) -> None:
        """Writes the model with skops (no pickle) and the labels as JSON."""
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as model_dir:
            sio.dump(
                {
                    "word": self._model.word_vectorizer,
                    "char": self._model.char_vectorizer,
                    "classifier": self._model.classifier,
                },
                model_dir / "model.skops",
            )
            rasa.shared.utils.io.dump_obj_as_json_to_file(
                model_dir / "labels.json", {"labels": self._model.labels}
            )

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "MetadataLabelClassifier":
        """Loads a trained model; returns an untrained component if the resource is missing.

        Raises:
            ValueError: the stored model contains a type outside sklearn, numpy and scipy (not loaded).
        """
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as model_dir:
                model_file = model_dir / "model.skops"
                untrusted = sio.get_untrusted_types(file=model_file)
                foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
                if foreign:
                    raise ValueError(f"Refusing to load {model_file}: unexpected types {foreign}.")
                parts = sio.load(model_file, trusted=untrusted)
                meta = rasa.shared.utils.io.read_json_file(model_dir / "labels.json")
        except ValueError as error:
            if "Refusing" in str(error):
                raise
            logger.warning("%s has no trained model in %s: %s", cls.__name__, resource.name, error)
            return cls(config, model_storage, resource)
        model = _Model(parts["word"], parts["char"], parts["classifier"], meta["labels"])
        return cls(config, model_storage, resource, model)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class CategoryClassifier(MetadataLabelClassifier):
    """Adds ``category`` and ``category_ranking`` (the 28 responsibility-list codes) to every parse result."""

    label_key = "category"
    output_key = "category"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Default config with the ``category_`` lexicon tables."""
        return {**MetadataLabelClassifier.get_default_config(), "lexicon_prefix": "category_"}


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class MatterTypeClassifier(MetadataLabelClassifier):
    """Adds ``matter_type`` (emergency, policy_consultation, public_service, other) to every parse result."""

    label_key = "matter_type"
    output_key = "matter_type"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Default config with the ``matter_type_`` lexicon tables and a milder regularisation."""
        return {**MetadataLabelClassifier.get_default_config(), "lexicon_prefix": "matter_type_", "C": 5.0}

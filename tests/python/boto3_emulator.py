"""boto3 against a running `llmcap emulate` with its default keys (test/test): the right keys are
served; a wrong secret gets InvalidSignatureException, an unknown access key
UnrecognizedClientException; bad output limits and oversized bodies are refused in the services'
shapes. Prints one line per check and a closing `boto3: N passed, N failed`; exits 1 on failure.

    python tests/python/boto3_emulator.py http://127.0.0.1:PORT
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MODEL = "test.fast-model-v1:0"
ENDPOINT = "llmcap-emulator"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)


def client(service, url, key="test", secret="test"):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
    )


def refusal(call):
    """The (code, message, HTTP status) of a call that must fail."""
    try:
        call()
    except ClientError as error:
        meta = error.response["ResponseMetadata"]
        detail = error.response["Error"]
        return detail.get("Code"), detail.get("Message"), meta.get("HTTPStatusCode")
    raise AssertionError("the call succeeded")


def converse(bedrock, text="hi", max_tokens=2):
    return bedrock.converse(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": text}]}],
        inferenceConfig={"maxTokens": max_tokens},
    )


def right_keys_are_served(url):
    out = converse(client("bedrock-runtime", url))
    assert out["usage"]["outputTokens"] == 2, out["usage"]
    stream = client("bedrock-runtime", url).converse_stream(
        modelId=MODEL,
        messages=[{"role": "user", "content": [{"text": "hi"}]}],
        inferenceConfig={"maxTokens": 3},
    )
    deltas = [e for e in stream["stream"] if "contentBlockDelta" in e]
    assert len(deltas) == 3, deltas
    answer = client("sagemaker-runtime", url).invoke_endpoint(
        EndpointName=ENDPOINT,
        Body=json.dumps({"inputs": "hi", "parameters": {"max_new_tokens": 2}}),
        ContentType="application/json",
    )
    body = json.loads(answer["Body"].read())
    assert body[0]["details"]["generated_tokens"] == 2, body


def a_wrong_secret_gets_invalid_signature(url):
    bedrock = client("bedrock-runtime", url, secret="wrong")
    assert refusal(lambda: converse(bedrock)) == ("InvalidSignatureException", MISMATCH, 403)
    sagemaker = client("sagemaker-runtime", url, secret="wrong")
    code, _, status = refusal(
        lambda: sagemaker.invoke_endpoint(EndpointName=ENDPOINT, Body=b'{"inputs": "hi"}')
    )
    assert (code, status) == ("InvalidSignatureException", 403), code


def an_unknown_key_gets_unrecognized_client(url):
    bedrock = client("bedrock-runtime", url, key="AKIDUNKNOWN")
    code, message, status = refusal(lambda: converse(bedrock))
    assert (code, status) == ("UnrecognizedClientException", 403), code
    assert message == "The security token included in the request is invalid.", message


def bad_output_limits_are_validation_exceptions(url):
    bedrock = client("bedrock-runtime", url)
    for value, expected in [
        ("abc", "#/max_gen_len: expected type: Integer, found: String"),
        (-1, "#/max_gen_len: -1 is not greater or equal to 1"),
        (10**9, "#/max_gen_len: 1000000000 is not less or equal to"),
    ]:
        body = json.dumps({"prompt": "hi", "max_gen_len": value})
        code, message, status = refusal(lambda: bedrock.invoke_model(modelId=MODEL, body=body))
        assert (code, status) == ("ValidationException", 400), (code, status)
        assert expected in message, message


def an_oversized_body_is_a_validation_exception(url):
    bedrock = client("bedrock-runtime", url)
    body = b" " * 26_000_000
    code, message, status = refusal(lambda: bedrock.invoke_model(modelId=MODEL, body=body))
    assert (code, status) == ("ValidationException", 400), (code, status)
    assert "25000000" in message, message


CHECKS = [
    right_keys_are_served,
    a_wrong_secret_gets_invalid_signature,
    an_unknown_key_gets_unrecognized_client,
    bad_output_limits_are_validation_exceptions,
    an_oversized_body_is_a_validation_exception,
]


def main():
    url = sys.argv[1]
    passed = failed = 0
    for check in CHECKS:
        try:
            check(url)
        except Exception as error:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {check.__name__}: {error!r}")
        else:
            passed += 1
            print(f"ok   {check.__name__}")
    print(f"boto3: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Write pydantic genai-prices' AWS Bedrock prices, as shipped in its PyPI wheel, in the
prices/providers/aws.yml shape that `llmcap pricing import --genai-prices` reads.

The wheel ships its data as a Python module (genai_prices/data.py), not as YAML. This script
loads that module straight from the wheel (a wheel is a zip Python can import from) without
running the package's __init__ (which needs the HTTP client used for live updates), and
writes the `aws` provider's models: id, name, match clauses, prices (numbers, tiered prices as
{base, tiers}, dated price sets as a list with constraint.start_date), deprecated.

Needs pydantic (genai_prices.types imports it). Usage:

    pip download --no-deps genai-prices==0.2.3 -d /tmp/wheels
    python3 scripts/genai_prices_aws_yaml.py /tmp/wheels/genai_prices-0.2.3-py3-none-any.whl > aws.yml
    llmcap pricing import --genai-prices aws.yml --source "genai-prices 0.2.3 (PyPI wheel), genai_prices/data.py"

The output is JSON, which is also YAML.
"""

import datetime
import decimal
import json
import sys
import types


def load_data(wheel):
    package = types.ModuleType("genai_prices")
    package.__path__ = [wheel + "/genai_prices"]
    sys.modules["genai_prices"] = package
    import genai_prices.data  # noqa: E402  (needs the stub above)

    return genai_prices.data


def number(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "base") and hasattr(value, "tiers"):
        return {
            "base": number(value.base),
            "tiers": [{"start": t.start, "price": number(t.price)} for t in value.tiers],
        }
    return value


def clause(logic):
    for attribute, key in [
        ("equals", "equals"),
        ("contains", "contains"),
        ("starts_with", "starts_with"),
        ("ends_with", "ends_with"),
        ("regex", "regex"),
    ]:
        if hasattr(logic, attribute):
            return {key: getattr(logic, attribute)}
    if hasattr(logic, "or_"):
        return {"or": [clause(c) for c in logic.or_]}
    if hasattr(logic, "and_"):
        return {"and": [clause(c) for c in logic.and_]}
    raise ValueError(f"unknown match clause {logic!r}")


def price_set(prices):
    return {
        key: number(value)
        for key, value in vars(prices).items()
        if not key.startswith("_") and value is not None
    }


def prices(value):
    if isinstance(value, list):
        out = []
        for conditional in value:
            entry = {"prices": price_set(conditional.prices)}
            start = getattr(conditional.constraint, "start_date", None)
            if isinstance(start, (datetime.date, datetime.datetime)):
                entry["constraint"] = {"start_date": start.isoformat()[:10]}
            elif conditional.constraint is not None:
                # Time-of-day constraints have no place in a monthly plan: skipped.
                continue
            out.append(entry)
        return out
    return price_set(value)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = load_data(sys.argv[1])
    aws = [p for p in data.providers if p.id == "aws"]
    if not aws:
        sys.exit("no `aws` provider in genai_prices.data")
    provider = aws[0]
    models = []
    for model in provider.models:
        row = {"id": model.id, "match": clause(model.match), "prices": prices(model.prices)}
        if model.name:
            row["name"] = model.name
        if model.deprecated:
            row["deprecated"] = True
        models.append(row)
    json.dump(
        {"name": provider.name, "id": provider.id, "models": models}, sys.stdout, indent=1
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

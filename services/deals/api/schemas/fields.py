"""Scalar types of the deals API: money and other decimals as strings, ISO 4217 codes,
pipeline and stage codes, and text PostgreSQL can store.

Every decimal travels as a JSON string (``"1250000.00"``): a JSON number, integer or
float, is refused with a 422, so no amount ever passes through a binary float.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
)

CENT = Decimal("0.01")

# ISO 4217 currencies in use (funds, metals, test and "no currency" codes excluded).
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF
    XPF YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 - a table is easier to check than 170 quoted codes
)


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"unknown ISO 4217 currency code {value!r}")
    return value


def _decimal(pattern: str, example: str, *, cents: bool = False) -> Any:
    """A Decimal that arrives only as a JSON string matching ``pattern``."""
    regex = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise ValueError(f"expected a decimal string like {example!r} (not a JSON number)")
        return value

    steps: list[Any] = [BeforeValidator(check)]
    if cents:
        steps.append(AfterValidator(lambda d: d.quantize(CENT)))
    schema = WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]})
    return Annotated[Decimal, *steps, schema]


_INT = "[0-9]{1,15}"
Money = _decimal(rf"^{_INT}(\.[0-9]{{1,2}})?$", "1250000.00", cents=True)
SignedMoney = _decimal(rf"^-?{_INT}(\.[0-9]{{1,2}})?$", "-20000.00", cents=True)
Quantity = _decimal(r"^[0-9]{1,12}(\.[0-9]{1,4})?$", "12")
Percent = _decimal(r"^-?[0-9]{1,3}(\.[0-9]{1,4})?$", "12.5")
Currency = Annotated[
    str, Field(min_length=3, max_length=3, examples=["CNY"]), AfterValidator(_currency)
]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$", examples=["key-account"])]
Name = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(max_length=4000)]

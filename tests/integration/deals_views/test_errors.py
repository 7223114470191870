"""Bad input to the views is a problem+json 4xx, never a 500."""

from __future__ import annotations

from .desk import day

PROBLEMS = [
    ("/views/pipeline", {"as_of": "yesterday"}, 422, "validation-error"),
    ("/views/pipeline", {"as_of": "2026-03-31"}, 422, "invalid-parameter"),  # no time, no offset
    ("/views/forecast", {"as_of": "2026-03-31T00:00:00"}, 422, "invalid-parameter"),
    ("/views/pipeline", {"grade": "E"}, 422, "validation-error"),
    ("/views/win-loss", {"by": "colour"}, 422, "validation-error"),
    (
        "/views/win-loss",
        {"from": day(10).isoformat(), "to": day(1).isoformat()},
        422,
        "invalid-period",
    ),
    (
        "/views/funnel",
        {"from": day(10).isoformat(), "to": day(1).isoformat()},
        422,
        "invalid-period",
    ),
    ("/views/waterfall", {}, 422, "validation-error"),  # from is required
    (
        "/views/waterfall",
        {"from": day(10).isoformat(), "to": day(1).isoformat()},
        422,
        "invalid-period",
    ),
    (
        "/views/waterfall",
        {"from": day(1).isoformat(), "close_from": "2026-04-01", "close_to": "2026-03-01"},
        422,
        "invalid-period",
    ),
    ("/views/stalled", {"cursor": "not-a-cursor"}, 400, "invalid-cursor"),
    ("/views/stalled", {"limit": "0"}, 422, "validation-error"),
    ("/views/time-in-stage", {"deal_id": "42"}, 422, "validation-error"),
    ("/views/time-in-stage", {}, 422, "validation-error"),
]


async def test_bad_input_is_a_problem(views) -> None:
    for path, params, status, slug in PROBLEMS:
        response = await views.fetch(path, **params)

        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "https://dealtrail.dev/problems/" + slug, (path, params)


async def test_views_need_a_token(views) -> None:
    response = await views.client.get("/views/pipeline")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")

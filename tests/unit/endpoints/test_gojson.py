from datetime import UTC, datetime, timedelta, timezone

from simulator.endpoints import gojson


def test_dumps_is_compact_and_escapes_like_go():
    assert (
        gojson.dumps({"a": "<b>&", "c": [1, True, None]})
        == b'{"a":"\\u003cb\\u003e\\u0026","c":[1,true,null]}'
    )


def test_dumps_keeps_non_ascii_as_utf8_but_escapes_line_separators():
    assert gojson.dumps("é\u2028\u2029\n") == '"é\\u2028\\u2029\\n"'.encode()


def test_whole_floats_lose_their_fraction():
    assert (
        gojson.dumps([gojson.go_float(2.0), gojson.go_float(0.25), gojson.go_float(1024)]) == b"[2,0.25,1024]"
    )


def test_go_map_sorts_keys():
    assert list(gojson.go_map({"b": 1, "a": 2})) == ["a", "b"]


def test_rfc3339nano_trims_trailing_zeros_and_converts_to_utc():
    plus_two = timezone(timedelta(hours=2))
    assert (
        gojson.rfc3339nano(datetime(2020, 10, 2, 2, 15, 7, 620900, tzinfo=plus_two))
        == "2020-10-02T00:15:07.6209Z"
    )
    assert gojson.rfc3339nano(datetime(2020, 10, 2, 0, 15, 7, tzinfo=UTC)) == "2020-10-02T00:15:07Z"
    assert gojson.rfc3339nano(datetime(2020, 10, 2, 0, 15, 7, 1)) == "2020-10-02T00:15:07.000001Z"


def test_rfc3339_is_to_the_second():
    assert gojson.rfc3339(datetime(2026, 6, 30, 18, 0, 0, 999999, tzinfo=UTC)) == "2026-06-30T18:00:00Z"

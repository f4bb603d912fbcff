from app.timing import elapsed, joined


def test_elapsed():
    assert elapsed(0) > 0


def test_joined():
    assert joined('a', 'b') == 'a/b'

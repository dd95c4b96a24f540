from deepref.models import User


def test_user_round_trip(db, backend):
    user = User.create(email="Ann@Example.com")
    assert User.get_by_id(user.id).email == "ann@example.com"

import pytest

from tests.conftest import diabetes_rows, iris_rows


@pytest.fixture
def iris(upload) -> int:
    """The id of ada's iris dataset (classification, target `species`)."""
    response = upload(iris_rows(), name="iris.csv")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def diabetes(upload) -> int:
    """The id of ada's diabetes dataset (regression, target `progression`)."""
    response = upload(diabetes_rows(), name="diabetes.csv")
    assert response.status_code == 201, response.content
    return response.json()["id"]

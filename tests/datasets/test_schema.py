"""The task rule and the streaming reader, below the API."""

from __future__ import annotations

import io

import pytest

from downhill.datasets.schema import (
    CLASSIFICATION_MAX_INTEGER_CLASSES,
    DatasetFileError,
    infer_task,
    read_csv_schema,
)


def schema_of(text: str):
    return read_csv_schema(io.BytesIO(text.encode()))


def integer_target(n_classes: int, n_rows: int) -> str:
    return "x,y\n" + "".join(f"{i},{i % n_classes}\n" for i in range(n_rows))


def test_integer_target_with_the_maximum_number_of_classes_is_classification():
    schema = schema_of(integer_target(CLASSIFICATION_MAX_INTEGER_CLASSES, 200))
    assert infer_task(schema.column("y"), schema.n_rows) == "classification"


def test_integer_target_with_one_class_more_than_the_maximum_is_regression():
    schema = schema_of(integer_target(CLASSIFICATION_MAX_INTEGER_CLASSES + 1, 200))
    assert infer_task(schema.column("y"), schema.n_rows) == "regression"


def test_integer_target_with_more_distinct_values_than_half_the_rows_is_regression():
    schema = schema_of(integer_target(6, 10))
    assert infer_task(schema.column("y"), schema.n_rows) == "regression"


def test_text_target_is_classification_even_with_many_distinct_values():
    schema = schema_of("x,y\n" + "".join(f"{i},name{i}\n" for i in range(100)))
    assert infer_task(schema.column("y"), schema.n_rows) == "classification"


def test_integers_written_as_floats_count_as_integers():
    schema = schema_of("x,y\n" + "".join(f"{i},{i % 2}.0\n" for i in range(20)))
    assert schema.column("y")["integer"] is True
    assert infer_task(schema.column("y"), schema.n_rows) == "classification"


def test_a_column_with_one_word_among_numbers_is_categorical():
    schema = schema_of("x,y\n1,a\n2,b\nthree,a\n4,b\n")
    assert schema.column("x")["dtype"] == "categorical"


def test_a_column_of_only_missing_values_is_categorical_not_numeric():
    schema = schema_of("x,y\nNA,1\n,2\n?,1\n")
    x = schema.column("x")
    assert x["missing"] == 3
    assert x["dtype"] == "categorical"


def test_quoted_fields_may_hold_the_delimiter_and_newlines():
    schema = schema_of('name,y\n"Smith, John",1\n"two\nlines",0\nplain,1\n')
    assert schema.n_rows == 3
    assert schema.column("name")["distinct"] == 3


def test_the_reader_raises_a_dataset_file_error_naming_the_line():
    with pytest.raises(DatasetFileError, match="Line 3"):
        schema_of("x,y\n1,2\n3\n")

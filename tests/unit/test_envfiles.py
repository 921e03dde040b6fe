"""Env files: layering, the process environment winning, errors, and masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.env.files import Masker, load_env_files
from stacktasks.errors import StackError


def test_a_later_file_overrides_an_earlier_one(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("A=1\nB=from-a\n")
    (tmp_path / "b.env").write_text("B=from-b\n")
    env = load_env_files([(tmp_path / "a.env", False), (tmp_path / "b.env", False)], process_env={})
    assert env.values == {"A": "1", "B": "from-b"}
    assert env.sources["B"] == str(tmp_path / "b.env")


def test_the_process_environment_wins_over_files(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("STAGE_NAME=file\n")
    env = load_env_files([(tmp_path / ".env", False)], process_env={"STAGE_NAME": "shell"})
    assert env.values["STAGE_NAME"] == "shell"
    assert env.sources["STAGE_NAME"] == "process environment"


def test_file_values_reach_the_child_environment_without_overriding_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ONLY_IN_FILE=x\nPATH=/nowhere\n")
    env = load_env_files([(tmp_path / ".env", False)], process_env={"PATH": "/usr/bin"})
    child = env.child_environment({"PATH": "/usr/bin"})
    assert child == {"PATH": "/usr/bin", "ONLY_IN_FILE": "x"}


def test_a_missing_optional_file_is_fine_and_recorded(tmp_path: Path) -> None:
    env = load_env_files([(tmp_path / "absent.env", False)], process_env={})
    assert env.values == {}
    assert [f.found for f in env.files] == [False]


def test_a_missing_required_file_is_an_error_with_the_copy_hint(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("A=1\n")
    with pytest.raises(StackError) as raised:
        load_env_files([(tmp_path / ".env", True)], process_env={})
    assert raised.value.hint == f"cp {tmp_path / '.env.example'} {tmp_path / '.env'}"


def test_a_malformed_line_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GOOD=1\n# comment\nthis line is not an assignment\n")
    with pytest.raises(StackError, match=rf"{tmp_path / '.env'}:3: cannot parse"):
        load_env_files([(tmp_path / ".env", False)], process_env={})


def test_interpolation_uses_earlier_values_of_the_same_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("USER_NAME=demo\nURL=postgres://${USER_NAME}@db/x\n")
    env = load_env_files([(tmp_path / ".env", False)], process_env={})
    assert env.values["URL"] == "postgres://demo@db/x"


def test_secret_values_from_files_are_masked_anywhere_they_appear(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("JWT_SECRET_KEY=s3cr3t-value\nDEBUG=true\n")
    env = load_env_files([(tmp_path / ".env", False)], process_env={})
    assert env.masker("curl -H 'token: s3cr3t-value' && echo true") == "curl -H 'token: ***' && echo true"


def test_url_passwords_are_masked_even_when_unknown() -> None:
    mask = Masker()
    assert mask("psql postgresql://app:hunter2@db:5432/x") == "psql postgresql://app:***@db:5432/x"


def test_secret_assignments_are_masked_but_others_kept() -> None:
    mask = Masker()
    assert mask("-e POSTGRES_PASSWORD=pw -e POSTGRES_DB=demo") == "-e POSTGRES_PASSWORD=*** -e POSTGRES_DB=demo"


def test_a_password_inside_a_database_url_is_learned_as_a_secret(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://u:long-Pass-123@db/x\n")
    env = load_env_files([(tmp_path / ".env", False)], process_env={})
    assert env.masker("password is long-Pass-123") == "password is ***"


def test_a_dev_default_password_that_is_also_a_name_is_masked_only_in_secret_positions() -> None:
    masker = Masker()
    masker.add("postgres")
    assert masker("psql -U postgres -d postgres") == "psql -U postgres -d postgres"
    assert masker("postgres://postgres:postgres@db/app") == "postgres://postgres:***@db/app"
    assert masker("POSTGRES_PASSWORD=postgres") == "POSTGRES_PASSWORD=***"


def test_a_secret_looking_value_is_masked_wherever_it_appears() -> None:
    masker = Masker()
    masker.add("s3cret-Value")
    assert masker("connecting with s3cret-Value now") == "connecting with *** now"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:pa/ss#wo?rd-Zq9@db.example:5432/app",
        "postgresql://app:Pw@Secret-Part@db.example/app",
        "redis://:Se/cr#et-Zq9@cache:6379/0",
    ],
)
def test_everything_between_the_scheme_and_the_last_at_sign_is_masked(url: str) -> None:
    from stacktasks.env.files import Masker

    shown = Masker()(f"DATABASE_URL is {url} here")
    assert "Secret" not in shown and "ss#" not in shown and "Se/" not in shown and "rd-Zq9" not in shown
    assert ":***@" in shown


def test_a_password_given_as_a_query_parameter_is_masked() -> None:
    from stacktasks.env.files import Masker

    assert Masker()("postgresql://app@db/app?sslmode=require&password=Hunter2-Zq") == (
        "postgresql://app@db/app?sslmode=require&password=***"
    )


@pytest.mark.parametrize("key", ["DB_PW", "REDIS_PW", "PW", "SMTP_PWD"])
def test_short_password_key_names_count_as_secrets(key: str) -> None:
    from stacktasks.env.files import is_secret_key

    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["PWD", "OLDPWD"])
def test_the_shells_working_directory_is_no_secret(key: str) -> None:
    from stacktasks.env.files import is_secret_key

    assert not is_secret_key(key)


def test_what_a_file_convention_holds_is_masked_as_a_word_even_when_short() -> None:
    from stacktasks.env.files import Masker

    masker = Masker()
    masker.add("admin", always=True)
    assert masker("pg_dump -U admin -d shop") == "pg_dump -U *** -d shop"


@pytest.mark.parametrize(
    ("url", "encoded"),
    [
        ("postgresql://app:pa/Qz7@db/app", "/ as %2F"),
        ("postgresql://app:p#Qz7@db/app", "# as %23"),
        ("postgresql://app:p?Qz7@db/app", "? as %3F"),
        ("postgresql://app:Pw@Secret-Part@db/app", "@ as %40"),
    ],
)
def test_a_url_whose_password_holds_unencoded_reserved_characters_is_refused_with_the_fix(
    url: str, encoded: str
) -> None:
    from stacktasks.db.target import parse_database_url
    from stacktasks.errors import StackError

    with pytest.raises(StackError) as raised:
        parse_database_url(url, "DATABASE_URL")
    assert encoded in (raised.value.hint or "")
    assert "Qz7" not in str(raised.value) and "Secret" not in str(raised.value)


def test_a_percent_encoded_password_is_read_as_the_client_reads_it() -> None:
    from stacktasks.db.target import parse_database_url

    target = parse_database_url("postgresql://app:Pw%40Secret%2FPart@db/app", "DATABASE_URL")
    assert (target.host, target.password) == ("db", "Pw@Secret/Part")

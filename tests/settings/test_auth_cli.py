from __future__ import annotations

import io
import os
import stat
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui import auth_cli, locations
from rentnumber_tui.api import RentNumberClient, RequestScheduler
from rentnumber_tui.auth_cli import check_key, login_main, logout_main
from rentnumber_tui.credentials import SERVICE, CredentialStore, KeySource
from tests.settings.conftest import BAD_KEY, GOOD_KEY
from tests.settings.fakes import MemoryKeyring


class TTYIn(io.StringIO):
    """Standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def out():
    return io.StringIO(), io.StringIO()


@pytest.fixture
def hidden_prompt(monkeypatch):
    """Replace getpass.getpass; records its prompts and returns the queued answers."""

    class Prompt:
        answers: list[str] = []
        prompts: list[str] = []

        def __call__(self, prompt="Password: ", stream=None):
            self.prompts.append(prompt)
            return self.answers.pop(0)

    prompt = Prompt()
    monkeypatch.setattr("getpass.getpass", prompt)
    return prompt


def run_login(server, out, stdin, **kwargs):
    stdout, stderr = out
    return login_main(
        kwargs.pop("profile", "default"),
        kwargs.pop("base_url", "https://api.test/api/v1"),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        client_factory=server.client_factory,
        **kwargs,
    )


# ------------------------------------------------------------------ valid / invalid keys


def test_login_with_a_valid_piped_key_saves_it_in_the_keyring(server, out, memory_keyring):
    code = run_login(server, out, io.StringIO(GOOD_KEY + "\n"))
    stdout, stderr = out
    assert code == 0, stderr.getvalue()
    assert memory_keyring.passwords == {(SERVICE, "default"): GOOD_KEY}
    assert len(server.requests) == 1
    assert server.requests[0].url == "https://api.test/api/v1/balance"
    assert stdout.getvalue() == (
        "The key works (balance ₦5,000.00). Saved rn_…c4f2 for profile 'default' in "
        "the system keyring (fakes MemoryKeyring).\n"
    )
    assert "Checking the key rn_…c4f2 with https://api.test/api/v1" in stderr.getvalue()


def test_login_with_an_invalid_key_saves_nothing(server, out, memory_keyring):
    code = run_login(server, out, io.StringIO(BAD_KEY + "\n"), allow_file=True)
    stdout, stderr = out
    assert code == 1
    assert "refused this key (401 Unauthorized)" in stderr.getvalue()
    assert "Nothing was saved." in stderr.getvalue()
    assert stdout.getvalue() == ""
    assert memory_keyring.passwords == {}
    assert not locations.key_file().exists()


def test_login_when_the_server_fails_saves_nothing(server, out, memory_keyring):
    server.status_for_good = 502
    code = run_login(server, out, io.StringIO(GOOD_KEY))
    assert code == 1
    assert "Could not check the key" in out[1].getvalue()
    assert memory_keyring.passwords == {}


def test_login_with_the_sandbox(sandbox, out, memory_keyring):
    from rentnumber_tui.sandbox import DEMO_API_KEY

    def factory(*, api_key, base_url):
        return RentNumberClient(
            api_key=api_key,
            base_url=base_url,
            transport=httpx.ASGITransport(app=sandbox),
            scheduler=RequestScheduler(),
        )

    stdout, stderr = out
    code = login_main(
        "demo",
        "http://localhost/api/v1",
        stdin=io.StringIO(DEMO_API_KEY),
        stdout=stdout,
        stderr=stderr,
        client_factory=factory,
    )
    assert code == 0, stderr.getvalue()
    assert memory_keyring.passwords == {(SERVICE, "demo"): DEMO_API_KEY}
    assert "₦25,000.00" in stdout.getvalue()


@pytest.mark.parametrize(("text", "why"), [("", "No key was given"), ("rn_a b", "not an API key")])
def test_login_rejects_empty_or_malformed_input_before_any_request(
    server, out, memory_keyring, text, why
):
    assert run_login(server, out, io.StringIO(text)) == 2
    assert why in out[1].getvalue()
    assert server.requests == []


# ------------------------------------------------------------------ headless / consent


def test_headless_piped_login_checks_the_key_then_asks_for_store_in_file(server, out):
    code = run_login(server, out, io.StringIO(GOOD_KEY))
    assert code == 2
    message = out[1].getvalue()
    # The key was checked first: the person learns it works before being told what to add.
    assert [r.url.path for r in server.requests] == ["/api/v1/balance"]
    assert message.index("Checking the key rn_…c4f2") < message.index("--store-in-file")
    assert "The key works (balance ₦5,000.00). But there is no usable keyring: no system " in (
        message
    )
    assert "Run again with --store-in-file" in message and str(locations.key_file()) in message
    assert "Nothing was saved." in message
    assert out[0].getvalue() == ""
    assert not locations.key_dir().exists()


def test_headless_piped_login_with_a_refused_key_says_so_not_store_in_file(server, out):
    code = run_login(server, out, io.StringIO(BAD_KEY))
    assert code == 1
    message = out[1].getvalue()
    assert "refused this key (401 Unauthorized)" in message
    assert "--store-in-file" not in message
    assert not locations.key_dir().exists()


def test_headless_piped_login_with_store_in_file(server, out):
    code = run_login(server, out, io.StringIO(GOOD_KEY), allow_file=True)
    assert code == 0, out[1].getvalue()
    path = locations.key_file()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"in {path} (readable only by you)" in out[0].getvalue()
    assert CredentialStore().load().source is KeySource.FILE


def test_interactive_login_reads_the_key_without_echo(server, out, memory_keyring, hidden_prompt):
    hidden_prompt.answers = [GOOD_KEY]
    code = run_login(server, out, TTYIn(""))
    assert code == 0, out[1].getvalue()
    assert hidden_prompt.prompts == ["API key for profile 'default' (input hidden): "]
    assert memory_keyring.passwords[(SERVICE, "default")] == GOOD_KEY


def test_interactive_headless_login_asks_before_writing_a_file(server, out, hidden_prompt):
    hidden_prompt.answers = [GOOD_KEY]
    code = run_login(server, out, TTYIn("y\n"))
    assert code == 0, out[1].getvalue()
    assert f"Store the key in {locations.key_file()} (readable only by you)? [y/N]" in (
        out[1].getvalue()
    )
    assert locations.key_file().read_text() == GOOD_KEY + "\n"


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", ""])
def test_interactive_headless_login_saves_nothing_without_a_yes(server, out, hidden_prompt, answer):
    hidden_prompt.answers = [GOOD_KEY]
    code = run_login(server, out, TTYIn(answer))
    assert code == 1
    assert "Nothing was saved" in out[1].getvalue()
    assert not locations.key_file().exists()
    assert not locations.key_dir().exists()


def test_cancelling_the_prompt(server, out, monkeypatch):
    def interrupted(prompt="", stream=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", interrupted)
    assert run_login(server, out, TTYIn(""), allow_file=True) == 130
    assert "Cancelled" in out[1].getvalue()
    assert server.requests == []


# ------------------------------------------------------------------ transport, profiles


def test_login_refuses_plain_http_to_another_host(server, out, memory_keyring):
    code = run_login(server, out, io.StringIO(GOOD_KEY), base_url="http://example.com/api/v1")
    assert code == 2
    assert "Refusing to send the API key to http://example.com/api/v1" in out[1].getvalue()
    assert server.requests == []
    assert memory_keyring.passwords == {}


def test_login_over_plain_http_with_the_override_warns(server, out, memory_keyring):
    code = run_login(
        server,
        out,
        io.StringIO(GOOD_KEY),
        base_url="http://example.com/api/v1",
        allow_insecure=True,
    )
    assert code == 0, out[1].getvalue()
    assert "warning: INSECURE" in out[1].getvalue()


def test_login_uses_the_profiles_base_url_from_the_settings(server, out, memory_keyring):
    path = locations.config_file()
    path.parent.mkdir(parents=True)
    path.write_text('[profiles.work]\nbase_url = "https://work.test/api/v1"\nbel = 1\n')
    code = run_login(server, out, io.StringIO(GOOD_KEY), profile="work", base_url=None)
    assert code == 0, out[1].getvalue()
    assert server.requests[0].url == "https://work.test/api/v1/balance"
    assert "warning:" in out[1].getvalue() and "'profiles.work.bel'" in out[1].getvalue()
    assert memory_keyring.passwords == {(SERVICE, "work"): GOOD_KEY}


def test_login_rejects_a_bad_profile_name(server, out):
    assert run_login(server, out, io.StringIO(GOOD_KEY), profile="../x") == 2
    assert "invalid profile name" in out[1].getvalue()


def test_env_key_is_mentioned_after_login_and_logout(server, out, memory_keyring, monkeypatch):
    monkeypatch.setenv("RENTNUMBER_API_KEY", BAD_KEY)
    assert run_login(server, out, io.StringIO(GOOD_KEY)) == 0
    assert "RENTNUMBER_API_KEY is set" in out[1].getvalue()
    stdout, stderr = io.StringIO(), io.StringIO()
    assert logout_main(stdout=stdout, stderr=stderr) == 0
    assert "RENTNUMBER_API_KEY is still set" in stderr.getvalue()


# ------------------------------------------------------------------ logout


def test_logout_removes_the_key(memory_keyring):
    memory_keyring.passwords[(SERVICE, "default")] = GOOD_KEY
    stdout, stderr = io.StringIO(), io.StringIO()
    assert logout_main("default", stdout=stdout, stderr=stderr) == 0
    assert memory_keyring.passwords == {}
    assert stdout.getvalue() == (
        "Removed the key of profile 'default' from the system keyring (fakes MemoryKeyring).\n"
    )


def test_logout_with_nothing_saved():
    stdout = io.StringIO()
    assert logout_main("work", stdout=stdout, stderr=io.StringIO()) == 0
    assert stdout.getvalue() == "No saved key for profile 'work'.\n"


def test_logout_reports_what_it_could_not_remove(use_keyring):
    from tests.settings.fakes import RaisingKeyring

    use_keyring(RaisingKeyring())
    stdout, stderr = io.StringIO(), io.StringIO()
    assert logout_main(stdout=stdout, stderr=stderr) == 1
    assert "could not remove it: RuntimeError: dbus went away" in stderr.getvalue()


# ------------------------------------------------------------------ check_key, auth_main


async def test_check_key_for_the_login_screen(server):
    good = await check_key(
        GOOD_KEY, "https://api.test/api/v1", client_factory=server.client_factory
    )
    assert good.ok and good.balance.amount == Decimal("5000.00")
    bad = await check_key(BAD_KEY, "https://api.test/api/v1", client_factory=server.client_factory)
    assert not bad.ok and bad.unauthorized
    refused = await check_key(
        GOOD_KEY, "http://example.com/api/v1", client_factory=server.client_factory
    )
    assert not refused.ok and not refused.unauthorized
    assert "Refusing" in refused.message
    assert len(server.requests) == 2


def test_auth_main_parses_the_login_and_logout_options(server, monkeypatch, capsys):
    monkeypatch.setattr(auth_cli, "_default_client_factory", server.client_factory)
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD_KEY + "\n"))
    assert (
        auth_cli.auth_main(
            "login", ["--profile", "work", "--base-url", "https://api.test/v1", "--store-in-file"]
        )
        == 0
    )
    assert CredentialStore("work").load().key == GOOD_KEY
    assert server.requests[0].url == "https://api.test/v1/balance"
    assert auth_cli.auth_main("logout", ["--profile", "work"]) == 0
    assert CredentialStore("work").load() is None
    assert "Removed the key of profile 'work'" in capsys.readouterr().out


def test_login_uses_an_injected_store(server, out, use_keyring):
    ring = MemoryKeyring()
    use_keyring(ring)
    store = CredentialStore()
    assert run_login(server, out, io.StringIO(GOOD_KEY), store=store) == 0
    assert ring.passwords[(SERVICE, "default")] == GOOD_KEY

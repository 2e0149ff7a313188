"""`python -m stack rotate-keys`: a new signing key, the previous one kept for verification."""

import stat

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from services.kit.keys import public_pems, thumbprint
from stack.__main__ import main
from stack.config import StackConfig


def _kids(cfg: StackConfig) -> list[str]:
    bundle = cfg.public_key_path.read_text()
    return [thumbprint(load_pem_public_key(pem.encode())) for pem in public_pems(bundle)]


def _current(cfg: StackConfig) -> str:
    key = load_pem_private_key(cfg.private_key_path.read_bytes(), password=None)
    return thumbprint(key.public_key())


def test_rotate_keys_keeps_the_previous_public_key_and_drops_the_older_one_next_time(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("FEIRA_RUN_DIR", str(tmp_path / "run"))
    cfg = StackConfig.load()
    main(["rotate-keys"])  # no pair yet: it makes the first
    first = _current(cfg)
    assert _kids(cfg) == [first]

    main(["rotate-keys"])
    second = _current(cfg)
    assert second != first and _kids(cfg) == [second, first]

    main(["rotate-keys"])
    third = _current(cfg)
    assert _kids(cfg) == [third, second]

    said = capsys.readouterr()
    assert "PRIVATE KEY" not in said.out + said.err
    assert "make restart" in said.out or "make up" in said.out
    assert stat.S_IMODE(cfg.private_key_path.stat().st_mode) == 0o600
    assert [
        path.name for path in cfg.private_key_path.parent.iterdir() if path.name.startswith(".")
    ] == []
